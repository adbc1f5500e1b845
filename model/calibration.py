"""What the model's ten outputs mean: a softmax temperature, and the top probability under which an
image is refused as "not a digit". Both are chosen by training on its validation split and shipped
beside the weights (``calibration.json``), so the handler, the evaluation and the tests read the
same two numbers.

The model was trained with outlier exposure (train/outliers.py): on images that are not digits its
softmax is close to uniform, so a low top probability is its way of saying "none of the ten".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from model.errors import InvalidImageError

CALIBRATION_NAME = "calibration.json"
NOT_A_DIGIT = "not a digit"


class NotADigitError(InvalidImageError):
    """The image holds something, but the model does not read it as any digit: 422, carrying the
    model's scores (``prediction``: the handler's answer had it been a digit) and the threshold.
    Here, not in the handler: TorchServe requires the handler's module to define one class only."""

    def __init__(self, prediction: dict[str, Any], refuse_below: float) -> None:
        super().__init__(NOT_A_DIGIT, status=422)
        self.prediction = prediction | {"refuse_below": refuse_below}


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0  # logits are divided by it before the softmax
    refuse_below: float = 0.0  # a top probability (after the temperature) under this: not a digit

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, 10)`` logits to calibrated probabilities."""
        return (logits / self.temperature).softmax(dim=1)

    def refused(self, probabilities: torch.Tensor) -> torch.Tensor:
        """``(N,)`` booleans: which rows of calibrated probabilities are not a digit."""
        return probabilities.max(dim=1).values < self.refuse_below

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def beside(cls, weights: Path) -> Calibration:
        """The calibration shipped beside ``weights`` (training writes them together)."""
        return cls.load(weights.parent / CALIBRATION_NAME)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        values = json.loads(path.read_text())
        calibration = cls(temperature=float(values["temperature"]), refuse_below=float(values["refuse_below"]))
        if not (calibration.temperature > 0 and 0 <= calibration.refuse_below < 1):
            raise ValueError(f"{path}: temperature must be > 0 and refuse_below in [0, 1), not {values}")
        return calibration
