"""Batched augmentation on tensors: the pens, hands and cameras that MNIST's writers did not use.

Everything works on a whole ``(N, 1, 28, 28)`` batch at once (a few milliseconds), where per-image
PIL transforms in a DataLoader would dominate an epoch on two CPU cores. Per image, independently:

- stroke width: a finer or a broader pen (a fraction of a grey-level erosion or dilation), so that a
  pencil digit and a marker digit, once preprocessing has fitted them into 20x20, both look familiar;
- elastic distortion (Simard, Steinkraus and Platt, 2003) combined with a small random affine map
  (rotation, zoom, shear, shift): other people's handwriting, and a digit a little off MNIST's centring;
- contrast (fainter ink) and blur (a soft camera);
- a low-resolution scan: the digit reduced to 8-16 pixels and enlarged again, blocky, as a small
  digit in a coarse scan reaches the model once preprocessing has fitted it into 20x20.

All draws come from the given generator, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augmentation:
    degrees: float = 10.0  # rotation in [-degrees, degrees]
    scale: float = 0.1  # zoom in [1 - scale, 1 + scale]
    shear: float = 0.1  # horizontal shear factor in [-shear, shear]
    shift: float = 2.0  # translation in pixels, each axis, in [-shift, shift]
    elastic_alpha: float = 24.0  # displacement scale, pixels (Simard et al. used 34 with a CNN)
    elastic_sigma: float = 4.0  # smoothness of the displacement field, pixels (ditto)
    elastic_share: float = 0.2  # images that get elastic distortion
    stroke: float = 1.0  # pen width change in [-stroke, stroke] pixels of dilation (-: erosion)
    stroke_share: float = 0.3  # images whose pen width changes
    contrast: float = 0.4  # ink kept in [1 - contrast, 1]
    contrast_share: float = 0.1
    blur_sigma: float = 0.8  # Gaussian blur sigma in [0, blur_sigma] pixels
    blur_share: float = 0.1
    coarse_sides: tuple[int, int] = (8, 16)  # a low-resolution scan: the image reduced to this many pixels
    coarse_share: float = 0.0


def augment(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Augment each ``(N, 1, H, W)`` image (black background, values in [0, 1]) independently."""
    images = change_stroke_width(images, spec, generator)
    images = warp(images, spec, generator)
    images = soften(images, spec, generator)
    images = coarsen(images, spec, generator)
    return images.clamp(0.0, 1.0)


def _uniform(count: int, bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, generator=generator) * 2 - 1) * bound


def _chosen(count: int, share: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, generator=generator) < share).float().view(count, 1, 1, 1)


def _picked(count: int, share: float, generator: torch.Generator) -> torch.Tensor:
    """The indices of about ``share`` of ``count`` images, each drawn independently."""
    return (torch.rand(count, generator=generator) < share).nonzero().flatten()


def change_stroke_width(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Blend each chosen image with its grey-level dilation (broader pen) or erosion (finer pen)."""
    count = len(images)
    amount = _uniform(count, spec.stroke, generator)
    chosen = _picked(count, spec.stroke_share, generator)
    if len(chosen) == 0:
        return images
    # Only the chosen images are pooled, each one way only (the pooling is most of this function's time).
    images = images.clone()
    broader, finer = chosen[amount[chosen] > 0], chosen[amount[chosen] <= 0]
    if len(broader):
        picked, share = images[broader], amount[broader].view(-1, 1, 1, 1)
        images[broader] = picked + share * (F.max_pool2d(picked, 3, stride=1, padding=1) - picked)
    if len(finer):  # an erosion is the dilation of the negative
        picked, share = images[finer], -amount[finer].view(-1, 1, 1, 1)
        images[finer] = picked - share * (picked + F.max_pool2d(-picked, 3, stride=1, padding=1))
    return images


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    steps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(steps**2) / (2 * sigma**2))
    return kernel / kernel.sum()


@lru_cache(maxsize=16)
def _band(sigma: float, size: int) -> torch.Tensor:
    """The ``(size, size)`` matrix ``M`` with ``row @ M`` = the row convolved with the Gaussian kernel,
    zero beyond its ends."""
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    offset = torch.arange(size).view(size, 1) - torch.arange(size).view(1, size) + radius
    inside = (offset >= 0) & (offset < len(kernel))
    return torch.where(inside, kernel[offset.clamp(0, len(kernel) - 1)], torch.zeros(()))


def _smooth(fields: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of each channel of ``(N, C, H, W)``: along the rows, then the
    columns. As two products with band matrices, not a convolution: far cheaper on images this small,
    and the convolution's numbers bit for bit (tests/test_augment.py compares them), except for a
    batch of one image of one channel, which the library convolves by another path."""
    rows = fields @ _band(sigma, fields.shape[-1])
    return (rows.transpose(-1, -2) @ _band(sigma, fields.shape[-2])).transpose(-1, -2)


@cache
def _pixel_centres(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each pixel's centre in grid units ([-1, 1], align_corners=False), x and y, as affine_grid has them."""
    xs = torch.linspace(-1, 1, width) * (width - 1) / width
    ys = torch.linspace(-1, 1, height) * (height - 1) / height
    return xs.view(1, width).expand(height, width), ys.view(height, 1).expand(height, width)


def _affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (N, C, height, width), align_corners=False)``, elementwise: the same
    numbers to rounding (tests/test_augment.py compares them) without its per-call base grid and batched matrix
    product, the costlier part of a step's warp."""
    xs, ys = _pixel_centres(height, width)
    terms = theta.view(len(theta), 2, 3, 1, 1)
    return (xs * terms[:, :, 0] + ys * terms[:, :, 1] + terms[:, :, 2]).permute(0, 2, 3, 1)


def warp(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """A random affine map and, for some images, an elastic displacement field, in one resampling."""
    count, _, height, width = images.shape
    angle = _uniform(count, math.radians(spec.degrees), generator)
    zoom = 1 + _uniform(count, spec.scale, generator)
    shear = _uniform(count, spec.shear, generator)
    shift = _uniform(count, 2 * spec.shift / height, generator), _uniform(count, 2 * spec.shift / height, generator)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # theta maps output coordinates to input coordinates (grid units are [-1, 1]).
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift[0]], dim=1),
            torch.stack([sin, cos + shear * sin, shift[1]], dim=1),
        ],
        dim=1,
    )
    grid = _affine_grid(theta, height, width)
    # Every image's noise is drawn (the generator's stream stays that of the dense computation), but
    # only the chosen images' fields are scaled and smoothed: smoothing is most of this function's time.
    noise = torch.rand(count, 2, height, width, generator=generator)
    chosen = _picked(count, spec.elastic_share, generator)
    displacement = _smooth(noise[chosen] * 2 - 1, spec.elastic_sigma) * spec.elastic_alpha
    # Pixels to grid units; channel 0 moves x, channel 1 moves y.
    scale = torch.tensor([2 / width, 2 / height]).view(1, 2, 1, 1)
    grid[chosen] += (displacement * scale).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def soften(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Fainter ink for some images, a camera's blur for others."""
    count = len(images)
    faint = 1 - torch.rand(count, generator=generator).view(count, 1, 1, 1) * spec.contrast
    images = images * torch.where(_chosen(count, spec.contrast_share, generator) > 0, faint, torch.ones_like(faint))
    sigma = float(spec.blur_sigma)
    if sigma <= 0:
        return images
    # One blur strength per batch keeps this a single smoothing, of the chosen images only.
    strength = max(0.3, float(torch.rand(1, generator=generator)) * sigma)
    chosen = _picked(count, spec.blur_share, generator)
    if len(chosen) == 0:
        return images
    images[chosen] = _smooth(images[chosen], strength)  # a new tensor since the product above
    return images


def coarsen(images: torch.Tensor, spec: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """For some images, a coarse scan: reduced by area averaging, enlarged again with nearest pixels."""
    if spec.coarse_share <= 0:
        return images
    side = int(torch.randint(spec.coarse_sides[0], spec.coarse_sides[1] + 1, (1,), generator=generator))
    size = images.shape[-2:]
    blocky = F.interpolate(F.interpolate(images, size=(side, side), mode="area"), size=size, mode="nearest")
    chosen = _chosen(len(images), spec.coarse_share, generator)
    return chosen * blocky + (1 - chosen) * images
