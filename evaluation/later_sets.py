"""The later sets of everyday conditions, each written as a held-out set and read as
docs/accuracy.md says: one place that scripts/evaluate_conditions.py (a flag each) and the
determinism test (tests/test_find_digit.py) both read, so a new set is added once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evaluation.conditions import Case, Render
from evaluation.eighteenth_conditions import EIGHTEENTH, build_eighteenth
from evaluation.eighth_conditions import EIGHTH, build_eighth
from evaluation.eleventh_conditions import ELEVENTH, build_eleventh
from evaluation.fifteenth_conditions import FIFTEENTH, build_fifteenth
from evaluation.fifth_conditions import FIFTH, build_fifth
from evaluation.fourteenth_conditions import FOURTEENTH, build_fourteenth
from evaluation.fourth_conditions import FOURTH, build_fourth
from evaluation.frozen_conditions import FROZEN, build_frozen
from evaluation.nineteenth_conditions import NINETEENTH, build_nineteenth
from evaluation.ninth_conditions import NINTH, build_ninth
from evaluation.seventeenth_conditions import SEVENTEENTH, build_seventeenth
from evaluation.seventh_conditions import SEVENTH, build_seventh
from evaluation.sixteenth_conditions import SIXTEENTH, build_sixteenth
from evaluation.sixth_conditions import SIXTH, build_sixth
from evaluation.tenth_conditions import TENTH, build_tenth
from evaluation.thirteenth_conditions import THIRTEENTH, build_thirteenth
from evaluation.twelfth_conditions import TWELFTH, build_twelfth


@dataclass(frozen=True)
class LaterSet:
    name: str  # its flag and its table's title
    build: Callable[..., list[Case]]  # (pixels, labels, per_condition=100, seed=its own)
    conditions: dict[str, Render]
    reading: str  # when it was read, for the flag's help


LATER_SETS = (
    LaterSet("frozen", build_frozen, FROZEN, "the third held-out set"),
    LaterSet("fourth", build_fourth, FOURTH, "held out until 877aee3"),
    LaterSet("fifth", build_fifth, FIFTH, "held out until 06c79e6"),
    LaterSet("sixth", build_sixth, SIXTH, "read once, developed on since"),
    LaterSet("seventh", build_seventh, SEVENTH, "read once in 62aa7f5"),
    LaterSet("eighth", build_eighth, EIGHTH, "read once in 1a81cf6"),
    LaterSet("ninth", build_ninth, NINTH, "read once on f160ce2"),
    LaterSet("tenth", build_tenth, TENTH, "read once on 1d75307"),
    LaterSet("eleventh", build_eleventh, ELEVENTH, "read once on 1da10aa"),
    LaterSet("twelfth", build_twelfth, TWELFTH, "read once on 0b29f54"),
    LaterSet("thirteenth", build_thirteenth, THIRTEENTH, "read once on ec24fc4"),
    LaterSet("fourteenth", build_fourteenth, FOURTEENTH, "read once on c758856"),
    LaterSet("fifteenth", build_fifteenth, FIFTEENTH, "read once on 401c631"),
    LaterSet("sixteenth", build_sixteenth, SIXTEENTH, "read once on bce2984"),
    LaterSet("seventeenth", build_seventeenth, SEVENTEENTH, "read once on 8c97fa4"),
    LaterSet("eighteenth", build_eighteenth, EIGHTEENTH, "read once on 4660fe7"),
    LaterSet("nineteenth", build_nineteenth, NINETEENTH, "read once on 6cdc046"),
)
