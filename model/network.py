"""The digit classifier: one definition, imported by training and by the TorchServe handler."""

from __future__ import annotations

import torch
from torch import nn

from model.preprocess import IMAGE_SIZE

NUM_CLASSES = 10


class MnistClassifier(nn.Module):
    """Fully connected FC-512-256-10 with ReLU on the hidden layers.

    ``forward`` returns logits: cross-entropy wants them in training, and the handler applies
    softmax where probabilities are reported. Dropout regularises training and is a no-op in
    ``eval()`` mode, so serving is deterministic.
    """

    def __init__(self, hidden: tuple[int, int] = (512, 256), dropout: float = 0.2) -> None:
        super().__init__()
        first, second = hidden
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(IMAGE_SIZE * IMAGE_SIZE, first),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(first, second),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(second, NUM_CLASSES),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` of normalized images to ``(N, 10)`` logits."""
        return self.layers(images)


def load_model(weights_path: str, device: torch.device | str = "cpu") -> MnistClassifier:
    """Build the network, load a ``state_dict`` safely (``weights_only``) and switch to eval mode."""
    model = MnistClassifier()
    state = torch.load(weights_path, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval()
