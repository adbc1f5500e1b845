"""The second held-out "not a digit" set, written and frozen before the model was tuned against it.

The first set (evaluation/outliers.py) has been read more than once, so it is now the development set
that training's outliers are tuned on. This one is new code, new sources and new seeds, and it is read
once per shipped model and only reported:

- **pen-letters**: one letter or symbol in OpenCV's Hershey stroke fonts (the script, italic and
  plain faces of a plotter's pen), in a random pen width and slant, photographed on paper;
- **words**: two to five such letters written as a word;
- **sketches**: hand-drawn pictures not in the first set (a fish, a crescent moon, an umbrella, a key,
  a cup, a boat, a bell, a leaf, a musical note, an eye, a car, a kite, a balloon, a mushroom, a pair
  of glasses, a pencil, a speech bubble, a shaded square, an infinity sign, a triangle in a circle),
  each by a writer of random slant, size, pen and ink;
- **faces**: the 100 real face photographs of scikit-image's Labeled Faces in the Wild subset;
- **pictures**: real photographs and pictures that no other set reads (matplotlib's Grace Hopper and
  sample pictures; scikit-image's clock, chessboard, motorcycle, phantom and retina vessels), cropped.

Training never reads Hershey fonts, these drawings or these files. Characters that are a digit's shape
in some hand (train/outliers.py's LOOKS_LIKE_A_DIGIT) are left out, as everywhere.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image

from evaluation.handdrawn import _ellipse
from evaluation.imaging import encode
from evaluation.outliers import Outlier, Point, _crop, _doodle
from train.outliers import LOOKS_LIKE_A_DIGIT

SEED = 9090
KINDS = ("pen-letters", "words", "sketches", "faces", "pictures")
LETTERS = "".join(c for c in "ACEFHKLMNPRTUVWXYacdefhkmnprtuvwxy#%&*+<>?@" if c not in LOOKS_LIKE_A_DIGIT)
HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC, cv2.FONT_HERSHEY_COMPLEX | cv2.FONT_ITALIC,
)  # fmt: skip
SKIMAGE_FILES = (
    "chessboard_GRAY.png", "clock_motion.png", "microaneurysms.png", "motorcycle_right.png", "phantom.png",
)  # fmt: skip
MATPLOTLIB_FILES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
FACES = 100  # the subset's first 100 images are faces, the other 100 patches without one


def _arc(cx: float, cy: float, r: float, start: float, sweep: float) -> list[Point]:
    return _ellipse(cx, cy, r, r, start, sweep)


SKETCHES: dict[str, list[list[Point]]] = {
    "fish": [_ellipse(45, 50, 32, 18, 30, 300), [(72, 41), (94, 28), (94, 72), (72, 59)], _arc(30, 45, 3, 0, 360)],
    "crescent-moon": [[*_arc(50, 50, 40, 40, 280), *reversed(_arc(64, 44, 32, 60, 240))]],
    "umbrella": [[*_ellipse(50, 45, 42, 30, 180, 180), (8, 45)], [(50, 45), (50, 88), *_arc(44, 88, 6, 90, 180)]],
    "key": [_arc(25, 50, 16, 0, 360), [(41, 50), (92, 50), (92, 62)], [(78, 50), (78, 60)]],
    "cup": [[(20, 25), (26, 88), (70, 88), (76, 25)], [(20, 25), (76, 25)], _ellipse(76, 52, 12, 16, -90, 180)],
    "boat": [[(8, 60), (92, 60), (76, 82), (24, 82), (8, 60)], [(50, 60), (50, 8)], [(50, 12), (82, 52), (50, 52)]],
    "bell": [[(18, 78), *_ellipse(50, 48, 32, 34, 180, 180), (82, 78), (18, 78)], _arc(50, 86, 6, 0, 360)],
    "leaf": [[*_ellipse(50, 50, 20, 40, 0, 180), *_ellipse(50, 50, 20, 40, 180, 180)], [(50, 12), (50, 98)]],
    "musical-note": [_ellipse(34, 80, 14, 10, 0, 360), [(48, 80), (48, 12), (78, 24), (78, 36), (48, 26)]],
    "eye": [_ellipse(50, 50, 44, 22, 0, 360), _arc(50, 50, 16, 0, 360), _arc(50, 50, 5, 0, 360)],
    "car": [
        [(6, 70), (6, 50), (26, 48), (36, 30), (68, 30), (78, 48), (94, 52), (94, 70), (6, 70)],
        _arc(28, 72, 10, 0, 360),
        _arc(72, 72, 10, 0, 360),
    ],
    "kite": [
        [(50, 5), (80, 40), (50, 75), (20, 40), (50, 5)],
        [(50, 5), (50, 75)],
        [(20, 40), (80, 40)],
        [(50, 75), (42, 85), (58, 90), (48, 98)],
    ],
    "balloon": [_ellipse(50, 34, 26, 30, 0, 360), [(50, 64), (44, 76), (56, 86), (50, 98)]],
    "mushroom": [[*_ellipse(50, 50, 40, 38, 180, 180), (10, 50)], [(38, 50), (36, 90), (64, 90), (62, 50)]],
    "glasses": [
        _arc(26, 50, 18, 0, 360),
        _arc(74, 50, 18, 0, 360),
        [(44, 50), (56, 50)],
        [(8, 48), (0, 40)],
        [(92, 48), (100, 40)],
    ],
    "pencil": [
        [(10, 40), (76, 40), (96, 50), (76, 60), (10, 60), (10, 40)],
        [(76, 40), (76, 60)],
        [(20, 40), (20, 60)],
    ],
    "speech-bubble": [[*_ellipse(52, 42, 42, 28, 120, 330)], [(30, 66), (18, 92), (44, 68)]],
    "shaded-square": [
        [(15, 15), (85, 15), (85, 85), (15, 85), (15, 15)],
        *[[(15 + k, 15), (15, 15 + k)] for k in range(12, 70, 12)],
    ],
    "infinity": [[(50 + 38 * math.sin(t), 50 + 18 * math.sin(2 * t)) for t in np.linspace(0, 2 * math.pi, 60)]],
    "triangle-in-circle": [_arc(50, 50, 44, 0, 360), [(50, 14), (82, 70), (18, 70), (50, 14)]],
}


def _written(text: str, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage in [0, 1] of ``text`` in a random Hershey font, pen width and slant."""
    font = HERSHEY[int(rng.integers(len(HERSHEY)))]
    scale = float(rng.uniform(2.5, 6.0))
    pen = max(1, round(scale * rng.uniform(1.0, 3.5)))
    (width, height), base = cv2.getTextSize(text, font, scale, pen)
    margin = 4 * pen + 10
    ink = np.zeros((height + base + 2 * margin, width + 2 * margin), np.float32)
    cv2.putText(ink, text, (margin, margin + height), font, scale, 1.0, pen, cv2.LINE_AA)
    slant = float(rng.uniform(-0.3, 0.3))
    shear = np.array([[1, -slant, slant * ink.shape[0] / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(ink, shear, (ink.shape[1], ink.shape[0]))


def _photographed(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Ink on a page, photographed: paper tint, light falling across, ink colour, blur, noise, JPEG."""
    margin = int(rng.integers(ink.shape[0] // 4, ink.shape[0] + 1))
    ink = cv2.copyMakeBorder(ink, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0.0)
    width = ink.shape[1]
    paper = rng.uniform(0.7, 0.97, size=3).astype(np.float32)
    paper = paper * 0.4 + paper.mean() * 0.6
    colour = rng.uniform(0.0, 0.35, size=3).astype(np.float32)
    page = paper + ink[..., None] * (colour - paper)
    ramp = np.linspace(1.0, rng.uniform(0.6, 1.0), width, dtype=np.float32)
    page = page * (ramp[None, :, None] if rng.random() < 0.5 else np.ones((1, 1, 1), np.float32))
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.3, 1.5))
    page += rng.normal(0, rng.uniform(0.005, 0.03), size=page.shape).astype(np.float32)
    rgb = cv2.convertScaleAbs(page, alpha=255.0)
    return encode(Image.fromarray(rgb, mode="RGB"), "JPEG", quality=int(rng.integers(70, 95)))


def _face(faces: np.ndarray, index: int, rng: np.random.Generator) -> bytes:
    """One LFW face (25x25 grey), as a phone's crop of it: enlarged to 100-400 px, a JPEG."""
    side = int(rng.integers(100, 401))
    face = cv2.resize(faces[index].astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    face += rng.normal(0, 0.01, size=face.shape).astype(np.float32)
    return encode(Image.fromarray(cv2.convertScaleAbs(face, alpha=255.0)), "JPEG", quality=int(rng.integers(75, 95)))


def _pictures() -> list[tuple[str, Image.Image]]:
    skimage = resources.files("skimage") / "data"
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    files = [(name, skimage / name) for name in SKIMAGE_FILES] + [(name, sample / name) for name in MATPLOTLIB_FILES]
    return [(name, Image.open(path).convert("RGB")) for name, path in files]


def build_heldout_outliers(per_kind: int = 100, seed: int = SEED) -> list[Outlier]:
    """``per_kind`` uploads of each kind, deterministic for a seed."""
    outliers: list[Outlier] = []
    rng = np.random.default_rng([seed, 0])
    for _ in range(per_kind):
        char = LETTERS[int(rng.integers(len(LETTERS)))]
        outliers.append(Outlier("pen-letters", char, _photographed(_written(char, rng), rng)))
    rng = np.random.default_rng([seed, 1])
    for _ in range(per_kind):
        word = "".join(LETTERS[int(i)] for i in rng.integers(len(LETTERS), size=int(rng.integers(2, 6))))
        outliers.append(Outlier("words", word, _photographed(_written(word, rng), rng)))
    rng = np.random.default_rng([seed, 2])
    names = list(SKETCHES)
    for i in range(per_kind):
        name = names[i % len(names)]
        outliers.append(Outlier("sketches", name, _doodle(SKETCHES[name], rng)))
    rng = np.random.default_rng([seed, 3])
    faces = np.load(str(resources.files("skimage") / "data" / "lfw_subset.npy"))[:FACES]
    for index in rng.permutation(len(faces))[:per_kind]:  # at most the 100 faces
        outliers.append(Outlier("faces", f"lfw {index}", _face(faces, int(index), rng)))
    rng = np.random.default_rng([seed, 4])
    pictures = _pictures()
    for i in range(per_kind):
        name, picture = pictures[i % len(pictures)]
        outliers.append(Outlier("pictures", name, _crop(picture, rng)))
    return outliers
