"""The one error type for a request the client must change, wherever it is found (the proxy, the
packed-batch reader, the preprocessing): its message is for the client, its status the HTTP answer."""

from __future__ import annotations


class ClientError(ValueError):
    """A 4xx: ``status`` is the HTTP status to answer with, the message says why, for the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class InvalidImageError(ClientError):
    """The upload cannot be used as a digit image; the message says why, for the client."""


class NoDigitError(InvalidImageError):
    """The image decodes, but holds no ink: a blank page, a uniform colour. Answered 422, not guessed."""

    def __init__(self) -> None:
        super().__init__("no digit found in the image", status=422)
