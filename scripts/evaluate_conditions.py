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
once on 8c97fa4; a development set since). Per condition:
accuracy (a refusal or no digit found counts as wrong), the share refused as "not a digit" and the
expected calibration error. Prints Markdown tables for docs/accuracy.md.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from evaluation.conditions import Case, build_conditions
from evaluation.eighth_conditions import build_eighth
from evaluation.eleventh_conditions import build_eleventh
from evaluation.fifteenth_conditions import build_fifteenth
from evaluation.fifth_conditions import build_fifth
from evaluation.fourteenth_conditions import build_fourteenth
from evaluation.fourth_conditions import build_fourth
from evaluation.frozen_conditions import build_frozen
from evaluation.heldout_conditions import build_heldout
from evaluation.ninth_conditions import build_ninth
from evaluation.seventeenth_conditions import build_seventeenth
from evaluation.seventh_conditions import build_seventh
from evaluation.sixteenth_conditions import build_sixteenth
from evaluation.sixth_conditions import build_sixth
from evaluation.tenth_conditions import build_tenth
from evaluation.thirteenth_conditions import build_thirteenth
from evaluation.twelfth_conditions import build_twelfth
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
    parser.add_argument("--frozen", action="store_true", help="also read the third held-out set")
    parser.add_argument("--fourth", action="store_true", help="also read the fourth set (held out until 877aee3)")
    parser.add_argument("--fifth", action="store_true", help="also read the fifth set (held out until 06c79e6)")
    parser.add_argument("--sixth", action="store_true", help="also read the sixth set (read once, developed on since)")
    parser.add_argument("--seventh", action="store_true", help="also read the seventh set (read once in 62aa7f5)")
    parser.add_argument("--eighth", action="store_true", help="also read the eighth set (read once in 1a81cf6)")
    parser.add_argument("--ninth", action="store_true", help="also read the ninth set (read once on f160ce2)")
    parser.add_argument("--tenth", action="store_true", help="also read the tenth set (read once on 1d75307)")
    parser.add_argument("--eleventh", action="store_true", help="also read the eleventh set (read once on 1da10aa)")
    parser.add_argument("--twelfth", action="store_true", help="also read the twelfth set (read once on 0b29f54)")
    parser.add_argument("--fifteenth", action="store_true", help="also read the fifteenth set (read once on 401c631)")
    parser.add_argument("--sixteenth", action="store_true", help="also read the sixteenth set (read once on bce2984)")
    parser.add_argument("--seventeenth", action="store_true", help="also read the seventeenth set (read on 8c97fa4)")
    parser.add_argument("--fourteenth", action="store_true", help="also read the fourteenth set (read once on c758856)")
    parser.add_argument("--thirteenth", action="store_true", help="also read the thirteenth set (read once on ec24fc4)")
    args = parser.parse_args(argv)
    data_dir = ROOT / "data"
    prepare_mnist(data_dir)
    train = load_split(data_dir, train=True)
    pixels, labels = train.pixels(), train.labels.numpy()
    table("development condition", build_conditions(pixels, labels))
    table("held-out condition", build_heldout(pixels, labels))
    table("unseen condition", build_unseen(pixels, labels))
    if args.frozen:
        table("frozen condition", build_frozen(pixels, labels))
    if args.fourth:
        table("fourth condition", build_fourth(pixels, labels))
    if args.fifth:
        table("fifth condition", build_fifth(pixels, labels))
    if args.sixth:
        table("sixth condition", build_sixth(pixels, labels))
    if args.seventh:
        table("seventh condition", build_seventh(pixels, labels))
    if args.eighth:
        table("eighth condition", build_eighth(pixels, labels))
    if args.ninth:
        table("ninth condition", build_ninth(pixels, labels))
    if args.tenth:
        table("tenth condition", build_tenth(pixels, labels))
    if args.eleventh:
        table("eleventh condition", build_eleventh(pixels, labels))
    if args.twelfth:
        table("twelfth condition", build_twelfth(pixels, labels))
    if args.thirteenth:
        table("thirteenth condition", build_thirteenth(pixels, labels))
    if args.fourteenth:
        table("fourteenth condition", build_fourteenth(pixels, labels))
    if args.fifteenth:
        table("fifteenth condition", build_fifteenth(pixels, labels))
    if args.sixteenth:
        table("sixteenth condition", build_sixteenth(pixels, labels))
    if args.seventeenth:
        table("seventeenth condition", build_seventeenth(pixels, labels))


if __name__ == "__main__":
    main()
