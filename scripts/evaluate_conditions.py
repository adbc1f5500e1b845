"""Digit finding in everyday conditions, offline with the shipped weights: ``make eval-conditions``.

The development set (evaluation/conditions.py: the candidates were tuned on it), the first held-out
set (evaluation/heldout_conditions.py: read once after tuning, only reported; it has since been read
more often) and the second (evaluation/unseen_conditions.py: read once, then its failures were looked
at), each per condition. With ``--frozen``, also the third (evaluation/frozen_conditions.py: read
once, then looked at). With ``--fourth``, also the fourth (evaluation/fourth_conditions.py: frozen
before the darker ink's candidate, read after it, twice: docs/accuracy.md says why; a development set
since). With ``--fifth``, also the fifth (evaluation/fifth_conditions.py: frozen before the marks'
candidates, read once after them; a development set since). With ``--sixth``, also the sixth
(evaluation/sixth_conditions.py: frozen before the marks between and within, read once after them;
a development set since). With ``--seventh``, also the seventh (evaluation/seventh_conditions.py:
frozen in f6f804d, read once on 6380d03's digit finding; a development set since). With
``--eighth``, also the eighth (evaluation/eighth_conditions.py: frozen in 65b9508, before the digit
above a line; read once after it, in 1a81cf6; a development set since). With ``--ninth``, also the
ninth (evaluation/ninth_conditions.py: frozen in f160ce2, read once on its digit finding; a
development set since). With ``--tenth``, also the tenth (evaluation/tenth_conditions.py: frozen
in 38bfa7a, read once on 1d75307's digit finding; a development set since). With ``--eleventh``,
also the eleventh (evaluation/eleventh_conditions.py: frozen in 1da10aa, read once on it, before any
change of digit finding; a development set since). With ``--twelfth``, also the twelfth
(evaluation/twelfth_conditions.py: written after the sheet stage, frozen in 0b29f54, read once on
it; a development set since). With ``--thirteenth``, also the thirteenth
(evaluation/thirteenth_conditions.py: frozen unread at the end of the sheet stage's session, read
once on ec24fc4; a development set since). With ``--fourteenth``, also the fourteenth
(evaluation/fourteenth_conditions.py: frozen unread once the thirteenth was read, in 8ed10ec; read
once on c758856; a development set since). With ``--fifteenth``, also the fifteenth
(evaluation/fifteenth_conditions.py: frozen unread once the fourteenth was read, in f8bb78e; read
once on 401c631; a development set since). With ``--sixteenth``, also the sixteenth
(evaluation/sixteenth_conditions.py: frozen unread once the fifteenth was read, in ab3564e; read once
on bce2984; a development set since). With ``--seventeenth``, also the seventeenth
(evaluation/seventeenth_conditions.py: frozen unread once the sixteenth was read, in 42cf08c; read
once on 8c97fa4; a development set since). With ``--eighteenth``, also the eighteenth
(evaluation/eighteenth_conditions.py: frozen unread once the seventeenth was read, in c514ae4; read
once on 4660fe7; a development set since). With ``--nineteenth``, also the nineteenth
(evaluation/nineteenth_conditions.py: frozen unread once the eighteenth was read, in f83bfdb; read
once on 6cdc046; a development set since). Per condition:
accuracy (a refusal or no digit found counts as wrong), the share refused as "not a digit" and the
expected calibration error. Prints Markdown tables for docs/accuracy.md.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from evaluation.conditions import Case, build_conditions
from evaluation.heldout_conditions import build_heldout
from evaluation.later_sets import LATER_SETS
from evaluation.unseen_conditions import build_unseen
from scripts.build_mar import ROOT
from scripts.evaluate_uploads import offline_readings
from train.data import load_split, prepare_mnist
from train.upload_eval import figures


def table(title: str, cases: list[Case]) -> None:
    readings = offline_readings([c.data for c in cases])
    truth, names = torch.tensor([c.label for c in cases]), np.array([c.condition for c in cases])
    print(f"\n| {title} | images | right | refused | ECE |\n|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(names.tolist()):
        members = torch.from_numpy(names == name)
        got = figures(readings.subset(members), truth[members])
        print(
            f"| {name} | {int(members.sum())} | {100 * got['accuracy']:.1f} % | {100 * got['refused']:.1f} % "
            f"| {100 * got['ece']:.1f} % |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for later in LATER_SETS:
        parser.add_argument(
            f"--{later.name}", action="store_true", help=f"also read the {later.name} set ({later.reading})"
        )
    args = parser.parse_args(argv)
    data_dir = ROOT / "data"
    prepare_mnist(data_dir)
    train = load_split(data_dir, train=True)
    pixels, labels = train.pixels(), train.labels.numpy()
    table("development condition", build_conditions(pixels, labels))
    table("held-out condition", build_heldout(pixels, labels))
    table("unseen condition", build_unseen(pixels, labels))
    for later in LATER_SETS:
        if getattr(args, later.name):
            table(f"{later.name} condition", later.build(pixels, labels))


if __name__ == "__main__":
    main()
