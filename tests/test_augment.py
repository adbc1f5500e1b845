"""Training-time augmentation (train/augment.py) and the typed training digits (train/typed.py)."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from evaluation.photos import installed_fonts
from train.augment import (
    Augmentation,
    _affine_grid,
    _chosen,
    _gaussian_kernel,
    _smooth,
    _uniform,
    augment,
    change_stroke_width,
    soften,
    warp,
)
from train.typed import TRAINING_FONTS, mix_in, typed_digits

NOTHING = Augmentation(
    degrees=0, scale=0, shear=0, shift=0, elastic_share=0, stroke_share=0, contrast_share=0, blur_share=0
)


def batch(mnist_test, count: int = 256) -> torch.Tensor:
    return mnist_test.images[:count].clone()


def test_every_image_stays_an_image_and_the_same_seed_gives_the_same_batch(mnist_test):
    images = batch(mnist_test)
    first = augment(images, Augmentation(), torch.Generator().manual_seed(1))
    second = augment(images, Augmentation(), torch.Generator().manual_seed(1))
    assert first.shape == images.shape and torch.equal(first, second)
    assert first.min() >= 0 and first.max() <= 1
    assert not torch.equal(first, augment(images, Augmentation(), torch.Generator().manual_seed(2)))


def test_with_every_share_at_zero_and_no_affine_the_images_are_unchanged(mnist_test):
    images = batch(mnist_test)
    torch.testing.assert_close(augment(images, NOTHING, torch.Generator().manual_seed(0)), images, atol=1e-5, rtol=0)


def test_stroke_width_goes_both_ways(mnist_test):
    """Broader pens add ink, finer ones remove it; which one is drawn per image."""
    images = batch(mnist_test)
    broader = change_stroke_width(images, replace(NOTHING, stroke=1.0, stroke_share=1.0), torch.Generator())
    change = (broader - images).sum(dim=(1, 2, 3))
    assert (change > 0).sum() > 50 and (change < 0).sum() > 50  # a mix of both
    assert (broader >= 0).all() and (broader <= 1).all()


def dense_stroke_width(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """The reference: every image pooled, the unchosen ones blended by zero (the code before it pooled
    only the chosen ones, for speed)."""
    count = len(images)
    amount = _uniform(count, spec.stroke, generator).view(count, 1, 1, 1)
    amount = amount * (torch.rand(count, generator=generator) < spec.stroke_share).float().view(count, 1, 1, 1)
    dilated, eroded = F.max_pool2d(images, 3, 1, 1), -F.max_pool2d(-images, 3, 1, 1)
    return images + amount.clamp(min=0) * (dilated - images) - (-amount).clamp(min=0) * (images - eroded)


def dense_warp(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """The reference: every image's displacement field smoothed, the unchosen ones multiplied by zero."""
    count, _, height, _width = images.shape
    angle = _uniform(count, torch.pi * spec.degrees / 180, generator)
    zoom = 1 + _uniform(count, spec.scale, generator)
    shear = _uniform(count, spec.shear, generator)
    shift = _uniform(count, 2 * spec.shift / height, generator), _uniform(count, 2 * spec.shift / height, generator)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    rows = [torch.stack([cos, -sin + shear * cos, shift[0]], 1), torch.stack([sin, cos + shear * sin, shift[1]], 1)]
    grid = F.affine_grid(torch.stack(rows, 1), list(images.shape), align_corners=False)
    noise = torch.rand(count, 2, height, height, generator=generator) * 2 - 1
    chosen = (torch.rand(count, generator=generator) < spec.elastic_share).float().view(count, 1, 1, 1)
    displacement = _smooth(noise, spec.elastic_sigma) * spec.elastic_alpha * chosen
    grid = grid + (displacement * (2 / height)).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def dense_soften(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """The reference: fainter ink blended in, then every image blurred and the unchosen ones kept."""
    count = len(images)
    faint = 1 - torch.rand(count, generator=generator).view(count, 1, 1, 1) * spec.contrast
    images = images * torch.where(_chosen(count, spec.contrast_share, generator) > 0, faint, torch.ones_like(faint))
    blurred = _smooth(images, max(0.3, float(torch.rand(1, generator=generator)) * spec.blur_sigma))
    chosen = _chosen(count, spec.blur_share, generator)
    return chosen * blurred + (1 - chosen) * images


def test_only_the_chosen_images_are_worked_on_and_the_result_is_the_dense_one(mnist_test):
    """Bit for bit (the warp to its grid's rounding), and the generator left where the dense
    computation leaves it: the shipped weights were trained with the dense code."""
    images = batch(mnist_test, 300)
    pairs = ((change_stroke_width, dense_stroke_width), (warp, dense_warp), (soften, dense_soften))
    # 300 images, a training batch, and batches so small that one image alone is often picked.
    for fast, dense in pairs:
        for count in (300, 64, 12, 5):
            for seed in range(6):
                expected_generator, fast_generator = torch.Generator().manual_seed(seed), torch.Generator()
                expected = dense(images[:count], Augmentation(), expected_generator)
                got = fast(images[:count], Augmentation(), fast_generator.manual_seed(seed))
                if fast is warp:  # its grid is the library's to rounding (see the next test)
                    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5, msg=f"{fast.__name__} {count} {seed}")
                else:
                    assert torch.equal(got, expected), (fast.__name__, count, seed)
                assert torch.equal(torch.rand(4, generator=fast_generator), torch.rand(4, generator=expected_generator))


def test_the_elementwise_grid_and_the_band_smoothing_are_the_library_s_numbers():
    generator = torch.Generator().manual_seed(0)
    for count, height, width in ((1, 28, 28), (320, 28, 28), (7, 20, 33)):
        theta = torch.rand(count, 2, 3, generator=generator) * 2 - 1
        expected = F.affine_grid(theta, [count, 1, height, width], align_corners=False)
        # Equal to rounding: the library's batched product rounds as the CPU's matrix kernel does
        # (on AVX-512 a few last bits differ), the elementwise form as plain multiply-adds.
        torch.testing.assert_close(_affine_grid(theta, height, width), expected, rtol=0, atol=1e-6)
        fields = torch.rand(count, 2, height, width, generator=generator)
        for sigma in (0.3, 0.8, 4.0):
            kernel = _gaussian_kernel(sigma)
            size = len(kernel)
            grouped = F.conv2d(fields, kernel.view(1, 1, 1, size).repeat(2, 1, 1, 1), padding=(0, size // 2), groups=2)
            grouped = F.conv2d(grouped, kernel.view(1, 1, size, 1).repeat(2, 1, 1, 1), padding=(size // 2, 0), groups=2)
            assert torch.equal(_smooth(fields, sigma), grouped)


def test_elastic_distortion_moves_ink_without_losing_it(mnist_test):
    images = batch(mnist_test)
    elastic = replace(NOTHING, elastic_share=1.0)
    warped = warp(images, elastic, torch.Generator().manual_seed(0))
    moved = (warped - images).abs().sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    kept = warped.sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    assert moved.median() > 0.2  # the strokes really move
    assert 0.8 < kept.median() < 1.2  # the digit does not vanish or smear over the frame


def test_contrast_and_blur_soften(mnist_test):
    images = batch(mnist_test)
    softened = soften(images, replace(NOTHING, contrast_share=1.0, blur_share=1.0), torch.Generator().manual_seed(0))
    assert (softened.amax(dim=(1, 2, 3)) < images.amax(dim=(1, 2, 3))).float().mean() > 0.9


def test_typed_training_digits_use_fonts_kept_out_of_the_evaluation():
    images, labels = typed_digits()
    assert images.shape == (10 * len(TRAINING_FONTS), 1, 28, 28) and labels.tolist() == list(range(10)) * len(
        TRAINING_FONTS
    )
    assert (images.amax(dim=(1, 2, 3)) > 0.9).all()  # every glyph was drawn
    assert not {path.name for path in installed_fonts()} & set(TRAINING_FONTS)


def test_mix_in_replaces_about_its_share():
    images, labels = torch.zeros(1000, 1, 28, 28), torch.full((1000,), -1)
    typed = typed_digits()
    mixed, mixed_labels = mix_in(images, labels, typed, 0.1, torch.Generator().manual_seed(0))
    replaced = mixed_labels >= 0
    assert 60 < int(replaced.sum()) < 140
    assert (mixed[replaced].amax(dim=(1, 2, 3)) > 0).all() and (mixed[~replaced] == 0).all()
