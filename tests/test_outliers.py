"""Training's outliers (train/outliers.py, train/icons.py): what docs/training.md says they hold."""

from __future__ import annotations

import torch

from train.icons import ICON_FONTS, icon_glyphs, icon_image, kept
from train.outliers import KINDS, outlier_pool


def test_icons_of_numerals_letters_and_plain_digit_shapes_are_left_out():
    for name in ("number-seven", "number-7", "dice-five-bold", "creative-commons-zero-line", "text-b", "quotes"):
        assert not kept(name), name
    for name in ("circle", "circle-thin", "minus-bold", "subtract-line", "record-fill"):
        assert not kept(name), name
    for name in ("house", "house-line-bold", "cloud-fill", "lightning", "circle-half", "bell-thin", "home-line"):
        assert kept(name), name


def test_both_icon_fonts_give_glyphs_in_mnist_frame():
    fonts = {font for font, _ in icon_glyphs()}
    assert fonts == {font for font, _ in ICON_FONTS}
    image = icon_image(0)
    assert image.shape == (28, 28) and image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.5


def test_icon_outliers_are_a_sixth_kind_only_when_asked():
    digits = torch.zeros(10, 28, 28, dtype=torch.uint8)
    default, with_icons = outlier_pool(12, digits, seed=3), outlier_pool(12, digits, seed=3, icons=True)
    assert default.shape == with_icons.shape == (12, 1, 28, 28)
    # Six kinds of two each instead of five of three: the first kind's first two are shared.
    assert torch.equal(default[:2], with_icons[:2]) and not torch.equal(default, with_icons)
    assert len(KINDS) == 5
