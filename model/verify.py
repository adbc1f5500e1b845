"""The last stage: the model's scores choose among an upload's candidates (model/candidates.py).

Each candidate is scored by its calibrated top probability, the model's confidence that it is one of
the ten digits; a box, a frame or two digits side by side score low, because the model was trained to
call them "not a digit". :func:`choose` says which wins; every score is kept so that ``?explain=1``
can show the winner against the runner-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from model.calibration import Calibration
from model.candidates import (
    AROUND,
    BETWEEN,
    FAR_SIDE,
    LEFT_OUT,
    LESSER,
    MARK,
    NUMBER_SIZES,
    OTHER,
    PALE,
    SIDE,
    SMALLER,
    STABLE,
)
from model.preprocess import Preprocessed, preprocess_upload

# A calibrated top probability: how sure the model must be of an alternative to the default reading.
# Chosen by comparing the development set of everyday conditions (evaluation/conditions.py) with the
# share of the held-out non-digits (evaluation/outliers.py) refused, so that set was read again for it
# (docs/accuracy.md says so).
ALTERNATIVE_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Reading:
    """What the model read in one upload."""

    chosen: int  # which candidate
    scores: tuple[float, ...]  # each candidate's top probability
    batch: torch.Tensor  # (N, 10): the chosen candidates' calibrated probabilities, the whole batch's
    index: int  # this upload's row in it
    item: Preprocessed  # the candidates read: the upload's, and its second look's where it had one

    @property
    def probabilities(self) -> torch.Tensor:
        """(10,) calibrated, of the chosen candidate."""
        return self.batch[self.index]


def probabilities_of(readings: list[Reading]) -> torch.Tensor:
    """(N, 10): the readings of one :func:`read`, in order, as the one tensor they share."""
    return readings[0].batch


def stack(items: list[Preprocessed]) -> torch.Tensor:
    """Every candidate of every upload, for one forward pass."""
    return torch.cat([item.tensors for item in items])


def choose(
    scores: list[float],
    tiers: tuple[int, ...],
    refuse_below: float,
    defaults: int = 1,
    digits: Sequence[int] = (),
    sides: Sequence[int] = (),
) -> int:
    """Which candidate the service reads (``digits``: each candidate's likeliest digit, read for the
    marks' candidates; ``sides``: each one's longer side in the upload, for the digit beside more ink).

    The first ``defaults`` candidates are the image's default readings: the page's likelier polarity,
    the digit with its neighbours, without the page's straight lines and with them (a form's box is
    structure, but a 1 is a straight stroke too). When one of them is a digit, the most digit-like
    candidate of that polarity wins (the digit inside a ring drawn around it), unless the model is
    nearly certain (ALTERNATIVE_CONFIDENCE) of a candidate of the other polarity and not of it, or
    of both where the default is a 1 and that candidate another digit: the likelier polarity is the
    page's brightness, which cannot tell a lamp's pool of light or a shadow over most of the page
    from a dark board, and the shadow's edge is then a near-certain 1. The darker ink
    (model/candidates.py, its own tier) may replace it on the first of those terms: printed matter
    in a lighter ink (a stamp, a receipt's print) is gathered with the digit and read as some digit,
    not near-certain, and the pen's ink alone is near-certain. The digit between two marks, within
    one or beside a gap (their own tiers) never replaces a default reading that is a digit: a digit's
    second stroke is a mark too. The digit without a mark replaces it on the same terms as the
    darker ink only where the mark left out is no digit at all: an underline touching nothing but
    read with the digit as an 8 is no digit, while the top of a 9's loop that came apart (a 4 without
    it) is some digit. The digit above a line that touches it (its own reading, of the same tier) is
    weighed the same way, the part below as the mark (an underline is no digit). The side of a gap
    is blocked where the model reads what lies across it as a digit at all (it is framed at the
    reading's scale, as a number's other digits would be written). The far side of the gap (its own
    tier: the answer beside a struck-out attempt that holds the main component) is blocked where
    the model reads the near side, or either of its halves, as a digit at all (but as a 1 twice its
    size or more: a column of print): a number's other digits are digits, and of a number cut in two
    one half at least is; and where it reads as a 1: a word's last letter or an edge in a photo is a
    1 to the model. The next object on the page (its own tier) is an alternative with no evidence to
    weigh, and so is the digit in pale ink (its own tier: seen in the darkest channel, where luma
    shows no ink; a highlighter's stripe over a pen's digit is pale ink too). None of these replaces
    a default reading that is a digit. The digit beside more ink (its own tier: a pen lying on the
    page, a struck-out attempt) is blocked where the more ink or either of its halves is a digit at
    all, as the far side of a gap is, with one exception, and where it reads as a 1: the more ink
    read as a 1 and at least twice the reading's size (``sides``: each candidate's longer side) is no
    digit of its number (a pen is a 1 to the model; one number's digits are written at one size).
    Its halves are weighed still: three digits that touch are also more than twice one digit's size.
    The digit among smaller ink (its own tier: a receipt's print around the digit) is blocked where
    that ink or either of its halves is a digit at all (the larger 1 excepted, as for the far side),
    and where it reads as a 1; it may replace a default reading that is a digit, on the terms of the
    other polarity: print gathered with the digit makes some digit of it, not a near-certain one.
    When no default reading is a digit, an alternative wins only if the model is nearly certain of
    it: the best of several looks at a letter or a photo is more often digit-like than one look, and
    that must not turn a refusal into a confident digit. There too a near-certain 1 gives way to the
    other polarity's near-certain other digit, as the default reading does: the edge of a hand or a
    sheet against a dark room is a 1 to the model. A candidate of tier MARK is never the answer.
    """
    if len(scores) == 1:
        return 0
    allowed = [
        k
        for k, tier in enumerate(tiers)
        if tier != MARK
        and not (tier == LEFT_OUT and _a_digit_left_out(k, scores, digits, refuse_below))
        and not (tier == BETWEEN and _a_digit_between(k, scores, digits, refuse_below))
        and not (tier == SIDE and _a_digit_beside(k, scores, digits, refuse_below))
        and not (tier == FAR_SIDE and _a_digit_near(k, scores, digits, sides, refuse_below))
        and not (tier == LESSER and _a_digit_or_more(k, scores, digits, sides, refuse_below))
        and not (tier == SMALLER and _a_digit_near(k, scores, digits, sides, refuse_below))
    ]
    if max(scores[:defaults]) >= refuse_below:  # the defaults' polarity (a page may hold ink of one only)
        own = max((k for k in allowed if tiers[k] == tiers[0]), key=scores.__getitem__)
        # Where the masks found no ink, the first candidate is an alternative's, which may replace none.
        replacing = [k for k in allowed if _may_replace(k, tiers, scores, refuse_below)]
        best = max(replacing, key=scores.__getitem__, default=own)
        if scores[best] >= ALTERNATIVE_CONFIDENCE > scores[own]:
            return best
        return _past_an_edge(own, allowed, scores, tiers, digits)
    best = max(allowed, key=scores.__getitem__)
    if scores[best] < ALTERNATIVE_CONFIDENCE:
        return 0
    return _past_an_edge(best, allowed, scores, tiers, digits)


def _past_an_edge(
    own: int, allowed: list[int], scores: list[float], tiers: tuple[int, ...], digits: Sequence[int]
) -> int:
    """The reading ``own`` (a default, or the near-certain alternative where no default is a digit),
    unless it is a 1 and the other polarity's likeliest candidate is near-certain another digit: the
    edge of a shadow or of a page in the likelier polarity is a near-certain 1 to the model."""
    other = [k for k in allowed if tiers[k] == 1]
    if not digits or not other or digits[own] != 1:
        return own
    alternative = max(other, key=scores.__getitem__)
    return alternative if scores[alternative] >= ALTERNATIVE_CONFIDENCE and digits[alternative] != 1 else own


def _may_replace(k: int, tiers: tuple[int, ...], scores: list[float], refuse_below: float) -> bool:
    """Whether candidate ``k`` may replace a default reading that is a digit: the other polarity and
    the darker ink may; the digit without a mark may where the mark is no digit at all, and the digit
    among smaller ink may (it is blocked wherever that ink is a digit at all); the other tiers never
    do."""
    if tiers[k] == LEFT_OUT:
        return scores[k + 1] < refuse_below
    return tiers[k] not in (BETWEEN, AROUND, SIDE, FAR_SIDE, OTHER, LESSER, PALE, STABLE)


def _a_digit_left_out(k: int, scores: list[float], digits: Sequence[int], refuse_below: float) -> bool:
    """Whether the mark left out of candidate ``k`` (the three candidates after it: the mark, its two
    halves) may be the other digits of a number, so that ``k`` alone would be a confident wrong
    answer: the model is nearly certain the mark is a digit, as it is of a digit beside the answer;
    or both its halves are digits, as where a number's digits touch, and not both 1s: any stroke cut
    from a mark (an underline, an arrow's shaft, a tick's arm) is a 1 to the model. One half alone
    says nothing either: half a star or an asterisk is often some digit to the model."""
    return _a_digit(k + 1, scores, digits, refuse_below, a_one_counts=True)


def _a_digit_beside(k: int, scores: list[float], digits: Sequence[int], refuse_below: float) -> bool:
    """Whether the other side of candidate ``k``'s gap (the candidate after it, then its two halves)
    may be the other digits of a number: the model reads it as a digit at all, or both its halves
    as digits and not both 1s."""
    return scores[k + 1] >= refuse_below or _a_digit(k + 1, scores, digits, refuse_below, a_one_counts=True)


def _a_digit_near(
    k: int, scores: Sequence[float], digits: Sequence[int], sides: Sequence[int], refuse_below: float
) -> bool:
    """Whether candidate ``k``, the far side of a gap or the digit among smaller ink, may be no answer:
    what it leaves out (the candidate after it, then its two halves) is a digit at all to the model,
    whole or either half (a number's other digits are, and of a number cut in two one half at least
    is; a digit's own parts may be), unless it is a 1 twice ``k``'s size or more (a newspaper's
    column of print beside the margin's digit is a tall 1 to the model, as a pen is; one number's
    digits are written at one size); or ``k`` itself is a 1, which any lone stroke beside a word, in
    a photo or among its specks is to the model."""
    if digits[k] == 1:
        return True
    return any(scores[j] >= refuse_below and not _a_larger_one(j, k, digits, sides) for j in range(k + 1, k + 4))


def _a_digit_or_more(
    k: int, scores: Sequence[float], digits: Sequence[int], sides: Sequence[int], refuse_below: float
) -> bool:
    """Whether candidate ``k``, the digit beside more ink, may be no answer: it is a 1 (a stroke of a
    picture beside its larger part is one to the model); the more ink is a digit at all, unless a 1
    at least twice ``k``'s size (a pen lying beside it); or either half of it is a digit other than
    a 1 (two or three digits touching, however wide, show in their halves; a pen's halves are 1s)."""
    if digits[k] == 1:
        return True
    more, halves = k + 1, (k + 2, k + 3)
    if scores[more] >= refuse_below and not _a_larger_one(more, k, digits, sides):
        return True
    return any(scores[half] >= refuse_below and digits[half] != 1 for half in halves)


def _a_larger_one(j: int, k: int, digits: Sequence[int], sides: Sequence[int]) -> bool:
    """Whether candidate ``j`` reads as a 1 at least NUMBER_SIZES times the size (the longer side)
    of candidate ``k``: a pen, a column of print or an edge, no digit of ``k``'s number. Only a 1:
    several digits side by side are also larger than one, and read as some other digit or none."""
    return digits[j] == 1 and len(sides) > j and sides[j] >= NUMBER_SIZES * sides[k]


def _a_digit_between(k: int, scores: list[float], digits: Sequence[int], refuse_below: float) -> bool:
    """Whether either of the two marks on either side of candidate ``k`` (the marks of the two readings
    without one, just before it) may be a digit. Here a mark read as a 1 says nothing: a bracket or a
    bar is a 1 to the model, and a number with a 1 at each end of it is the rare one."""
    return any(_a_digit(mark, scores, digits, refuse_below, a_one_counts=False) for mark in (k - 7, k - 3))


def _a_digit(mark: int, scores: list[float], digits: Sequence[int], refuse_below: float, a_one_counts: bool) -> bool:
    """Whether the mark at ``mark`` (its two halves follow it) is near-certain a digit (a 1 too, if
    ``a_one_counts``), or its two halves are digits and not both 1s."""
    if scores[mark] >= ALTERNATIVE_CONFIDENCE and (a_one_counts or digits[mark] != 1):
        return True
    halves = (mark + 1, mark + 2)
    return all(scores[half] >= refuse_below for half in halves) and any(digits[half] != 1 for half in halves)


def read(items: list[Preprocessed], probabilities: torch.Tensor, refuse_below: float) -> list[Reading]:
    """Each upload's reading, from the calibrated probabilities of :func:`stack`'s rows. Plain Python
    per upload and one tensor operation per batch: a request carries up to 64 coalesced uploads."""
    top = probabilities.max(dim=1)
    every_score, every_digit = top.values.tolist(), top.indices.tolist()
    rows: list[int] = []
    choices: list[tuple[int, tuple[float, ...]]] = []
    row = 0
    for item in items:
        scores = every_score[row : row + len(item.tensors)]
        digits = every_digit[row : row + len(item.tensors)]
        sides = [max(right - left, bottom - top) for left, top, right, bottom in item.found_boxes or ()]
        chosen = choose(scores, item.tiers, refuse_below, item.defaults, digits, sides)
        rows.append(row + chosen)
        choices.append((chosen, tuple(scores)))
        row += len(item.tensors)
    winners = probabilities if row == len(items) else probabilities[rows]
    pairs = enumerate(zip(choices, items, strict=True))
    return [Reading(chosen, scores, winners, i, item) for i, ((chosen, scores), item) in pairs]


def read_uploads(
    items: list[Preprocessed], logits_of: Callable[[torch.Tensor], torch.Tensor], calibration: Calibration
) -> list[Reading]:
    """Score every candidate in one forward pass (``logits_of``), calibrate, and choose. Where no
    default reading of an upload is a digit, look again: its page's stable regions (model/candidates.py)
    are scored in one more pass for all such uploads, and each of those is chosen again among all its
    candidates. A stable region never replaces a default reading that is a digit, so the answer is
    the one a first look with them would give, and an upload read at the first look pays nothing."""
    if not items:
        return []
    probabilities = calibration.probabilities(logits_of(stack(items)))
    readings = read(items, probabilities, calibration.refuse_below)
    again = [_with_second_look(reading, calibration.refuse_below) for reading in readings]
    if all(looked is None for looked in again):
        return readings
    more = [looked.tensors[len(item.tensors) :] for item, looked in zip(items, again, strict=True) if looked]
    extra = calibration.probabilities(logits_of(torch.cat(more))).split([len(rows) for rows in more])
    parts, added = [], iter(extra)
    for looked, rows in zip(again, probabilities.split([len(item.tensors) for item in items]), strict=True):
        parts += [rows, next(added)] if looked else [rows]
    final = [looked or item for item, looked in zip(items, again, strict=True)]
    return read(final, torch.cat(parts), calibration.refuse_below)


def _with_second_look(reading: Reading, refuse_below: float) -> Preprocessed | None:
    """The upload with its page's stable regions, where it has some and no default reading is a digit."""
    item = reading.item
    if item.second_look is None or max(reading.scores[: item.defaults]) >= refuse_below:
        return None
    return item.second_look()


def model_input(
    data: bytes | bytearray, logits_of: Callable[[torch.Tensor], torch.Tensor], calibration: Calibration
) -> torch.Tensor:
    """The ``(1, 28, 28)`` input the service reads for one file: its chosen candidate."""
    item = preprocess_upload(data)
    with torch.inference_mode():
        reading = read_uploads([item], logits_of, calibration)[0]
    return reading.item.tensors[reading.chosen]
