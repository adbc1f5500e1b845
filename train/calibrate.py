"""Choosing what the outputs mean, on the validation split only: the softmax temperature (the one that
minimises the validation digits' negative log-likelihood, as written; Guo et al. 2017) and the refusal threshold
(the top probability under which an image is "not a digit"), plus the measures used to report both:
expected calibration error and the refusal trade-off.

The threshold follows one rule, with no constant fitted to any generator: refuse as many validation
outliers as possible while refusing at most ``digits_refused`` of the validation digits, drawn as
training draws them (augmented: other pens, hands and cameras).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from model.calibration import Calibration

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature minimising the mean negative log-likelihood of ``labels`` (a convex problem in
    1/T: a golden-section search on log T finds it)."""
    low, high = (torch.tensor(v).log().item() for v in TEMPERATURE_RANGE)

    def nll(log_t: float) -> float:
        return F.cross_entropy(logits / torch.tensor(log_t).exp(), labels).item()

    ratio = (5**0.5 - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if nll(a) < nll(b):
            high = b
        else:
            low = a
    return float(torch.tensor((low + high) / 2).exp())


def refusal_threshold(digit_top: torch.Tensor, digits_refused: float) -> float:
    """The highest threshold on the top probability that refuses at most ``digits_refused`` of the
    digits whose top probabilities are ``digit_top``."""
    ordered = digit_top.sort().values
    allowed = int(digits_refused * len(ordered))  # this many digits may fall under the threshold
    return float(ordered[allowed]) if allowed < len(ordered) else 1.0


@dataclass(frozen=True)
class TradeOff:
    """Refusal as the threshold moves: the share of digits and of outliers under each threshold."""

    thresholds: list[float]
    digits_refused: list[float]
    outliers_refused: list[float]


def trade_off(digit_top: torch.Tensor, outlier_top: torch.Tensor, points: int = 200) -> TradeOff:
    thresholds = torch.linspace(0.1, 1.0, points)
    return TradeOff(
        thresholds=thresholds.tolist(),
        digits_refused=[(digit_top < t).float().mean().item() for t in thresholds],
        outliers_refused=[(outlier_top < t).float().mean().item() for t in thresholds],
    )


def choose(
    logits: torch.Tensor,
    labels: torch.Tensor,
    drawn_logits: torch.Tensor,
    outlier_logits: torch.Tensor,
    digits_refused: float,
) -> tuple[Calibration, TradeOff]:
    """The calibration from validation logits, and the trade-off curve it was chosen on. The
    temperature fits the digits as written (``logits``, with ``labels``); the threshold counts them
    and the same digits as training draws them (``drawn_logits``: augmented), against the outliers."""
    temperature = fit_temperature(logits, labels)
    unrefusing = Calibration(temperature=temperature)
    digit_top = unrefusing.probabilities(torch.cat([logits, drawn_logits])).max(dim=1).values
    outlier_top = unrefusing.probabilities(outlier_logits).max(dim=1).values
    threshold = refusal_threshold(digit_top, digits_refused)
    return Calibration(temperature=temperature, refuse_below=threshold), trade_off(digit_top, outlier_top)


@dataclass(frozen=True)
class Reliability:
    """Per confidence bin: mean top probability, accuracy and count; and the expected calibration error."""

    confidence: list[float]
    accuracy: list[float]
    counts: list[int]
    ece: float


def reliability(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = ECE_BINS) -> Reliability:
    """Expected calibration error (equal-width bins of the top probability, Naeini et al. 2015)."""
    top, predicted = probabilities.max(dim=1)
    right = (predicted == labels).float()
    index = (top * bins).long().clamp(max=bins - 1)
    confidence, accuracy, counts, ece = [], [], [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        counts.append(count)
        confidence.append(top[members].mean().item() if count else float("nan"))
        accuracy.append(right[members].mean().item() if count else float("nan"))
        if count:
            ece += count / len(top) * abs(confidence[-1] - accuracy[-1])
    return Reliability(confidence, accuracy, counts, ece)
