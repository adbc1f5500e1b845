"""The sheet a digit is written on (model/sheet.py): a card on a darker desk is the page.

Each scene is one MNIST test digit written dark on a light card, turned a little, lying on a desk that
fills most of the photo; the digit must be read right and its box must be where it was written.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from model.sheet import on_the_sheet
from scripts.build_mar import ROOT
from tests.test_find_digit import digit_box, jpeg, read

WIDTH, HEIGHT = 960, 720
SIDE = 150  # the digit's 28x28 frame on the card, in photo pixels


def desk(rng: np.random.Generator, level: float = 0.22, spread: float = 0.04) -> np.ndarray:
    """A grainy desk filling the photo: dark by default."""
    grain = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 3)
    return np.clip(level + spread * grain, 0, 1)


def card_on_desk(
    pixels: np.ndarray, index: int, ruled: bool = True, surface: tuple[float, float] = (0.22, 0.04)
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo (float gray in [0, 1]) and the digit's box: a ruled card a third of the photo's area
    at most, turned by up to 8 degrees, the digit written across its rules, on a desk of ``surface``'s
    level and grain."""
    rng = np.random.default_rng(index)
    photo = desk(rng, *surface)
    card = np.zeros((HEIGHT, WIDTH), np.float32)
    centre = (WIDTH / 2 + rng.uniform(-60, 60), HEIGHT / 2 + rng.uniform(-40, 40))
    corners = cv2.boxPoints((centre, (520, 320), rng.uniform(-8, 8))).astype(np.int32)
    cv2.fillPoly(card, [corners], 1.0)
    photo = photo * (1 - card) + 0.9 * card
    if ruled:  # a card's rules run across it, not across the photo
        for y in range(int(centre[1]) - 120, int(centre[1]) + 140, 36):
            rule = np.zeros_like(card)
            cv2.line(rule, (0, y), (WIDTH, y), 1.0, 2)
            photo -= 0.25 * rule * card
    ink = np.asarray(Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.BICUBIC), np.float32) / 255
    left, top = int(centre[0]) - SIDE // 2, int(centre[1]) - SIDE // 2
    area = photo[top : top + SIDE, left : left + SIDE]
    area += ink * (0.1 - area)
    return np.clip(photo, 0, 1), digit_box(pixels, (left, top), SIDE / 28)


@pytest.mark.parametrize("index", range(12))
def test_a_digit_on_a_ruled_card_on_a_dark_desk(index, mnist_pixels, mnist_test, shipped_model):
    photo, expected = card_on_desk(mnist_pixels[index], index)
    assert float(np.median(photo)) < 0.5  # the desk is most of the photo
    digit, box = read(jpeg(photo), shipped_model)
    assert digit == int(mnist_test.labels[index])
    assert all(abs(a - b) <= 20 for a, b in zip(box, expected, strict=True)), (box, expected)


@pytest.mark.parametrize("index", range(6))
def test_a_card_on_a_mid_grey_coarse_board_is_the_sheet(index, mnist_pixels, mnist_test, shipped_model):
    """A card pinned to a board that is mid-grey in luma: the photo's median no longer says the desk
    is darker than paper, but the card is still the largest bright region, a rectangle with the
    board all round it: the sheet. (evaluation/examples/corkboard.jpg is a real cork board's.)"""
    photo, expected = card_on_desk(mnist_pixels[index], index, ruled=False, surface=(0.55, 0.15))
    assert float(np.median(photo)) >= 0.5  # the board is most of the photo, and mid-grey
    cut, (x, y) = on_the_sheet(photo)
    assert cut.shape[0] * cut.shape[1] < photo.size / 2 and (x, y) != (0, 0)
    digit, box = read(jpeg(photo), shipped_model)
    assert digit == int(mnist_test.labels[index])
    assert all(abs(a - b) <= 20 for a, b in zip(box, expected, strict=True)), (box, expected)


def test_a_card_on_a_cork_board_is_read(shipped_model):
    """A 3 on a note pinned to a cork board (evaluation/examples/corkboard.jpg, a nineteenth-set
    image, development since that set was read): the board is mid-grey and coarse, and read as a
    page it held "no digit found"; on the note cut from it, the 3 is read."""
    digit, _ = read((ROOT / "evaluation" / "examples" / "corkboard.jpg").read_bytes(), shipped_model)
    assert digit == 3


def test_the_sheet_is_the_card_and_the_desk_around_it_becomes_its_paper(mnist_pixels):
    photo, (left, top, right, bottom) = card_on_desk(mnist_pixels[0], 0, ruled=False)
    cut, (x, y) = on_the_sheet(photo)
    assert 0 < x < left and 0 < y < top  # the card's box, around the digit
    assert x + cut.shape[1] > right and y + cut.shape[0] > bottom
    assert cut.shape[0] * cut.shape[1] < photo.size / 2
    assert float(np.median(cut)) > 0.8  # the card's paper, no desk left in the cut
    assert float(cut.min()) < 0.2  # the digit's ink is kept


def test_a_page_that_is_mostly_paper_is_its_own_sheet(mnist_pixels):
    photo = np.full((HEIGHT, WIDTH), 0.9, np.float32)
    photo[:, :100] = 0.2  # the desk at one edge
    cut, offset = on_the_sheet(photo)
    assert cut is photo and offset == (0, 0)


@pytest.mark.parametrize("index", range(12))
def test_a_light_pen_digit_on_black_paper_is_no_sheet(index, mnist_pixels):
    """The largest bright region of a white digit on black paper is the digit itself, its loops the
    holes: no more a rectangle than an ellipse is, so it is no sheet, and the page is read as it is."""
    ink = np.asarray(Image.fromarray(mnist_pixels[index]).resize((480, 480), Image.Resampling.BICUBIC), np.float32)
    photo = np.full((HEIGHT, WIDTH), 0.08, np.float32)
    photo[120:600, 240:720] += ink / 255 * 0.82
    cut, offset = on_the_sheet(photo)
    assert cut is photo and offset == (0, 0)


def test_a_pool_of_lamplight_cut_by_the_frame_is_no_sheet(mnist_pixels):
    """A bright region that the frame cuts may be lamplight as well as a sheet: the page is read as
    it is, as model/candidates.py reads a lamp's pool of light."""
    photo, _ = card_on_desk(mnist_pixels[0], 0, ruled=False)
    shifted = np.roll(photo, (-HEIGHT // 3, -WIDTH // 3), axis=(0, 1))
    shifted[-HEIGHT // 3 :, :] = shifted[:, -WIDTH // 3 :] = 0.22
    assert float(shifted[0, 0]) > 0.8  # the card reaches the frame's corner
    cut, offset = on_the_sheet(shifted)
    assert cut is shifted and offset == (0, 0)


def test_a_blank_card_holds_nothing_written_and_is_no_sheet():
    photo = np.full((HEIGHT, WIDTH), 0.2, np.float32)
    photo[200:500, 250:700] = 0.9
    cut, offset = on_the_sheet(photo)
    assert cut is photo and offset == (0, 0)
