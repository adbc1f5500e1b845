"""Batched random affine augmentation on tensors.

Warping a whole batch with ``affine_grid``/``grid_sample`` costs a few milliseconds, where
per-image PIL transforms in a DataLoader would dominate an epoch on two CPU cores. Small
rotations, scalings and shifts also teach the model that a digit a little off from MNIST's
centring (as real uploads are, after preprocessing) is still the same digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AffineRange:
    degrees: float = 10.0  # rotation in [-degrees, degrees]
    scale: float = 0.1  # zoom in [1 - scale, 1 + scale]
    shear: float = 0.1  # horizontal shear factor in [-shear, shear]
    shift: float = 2.0  # translation in pixels, each axis, in [-shift, shift]


def random_affine(images: torch.Tensor, spec: AffineRange, generator: torch.Generator) -> torch.Tensor:
    """Warp each ``(N, 1, H, W)`` image (black background, values in [0, 1]) independently."""
    count, _, height, _ = images.shape

    def uniform(bound: float) -> torch.Tensor:
        return (torch.rand(count, generator=generator) * 2 - 1) * bound

    angle = uniform(math.radians(spec.degrees))
    zoom = 1 + uniform(spec.scale)
    shear = uniform(spec.shear)
    shift = uniform(2 * spec.shift / height), uniform(2 * spec.shift / height)  # grid units are [-1, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # theta maps output coordinates to input coordinates: inverse zoom, rotation, then shear.
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift[0]], dim=1),
            torch.stack([sin, cos + shear * sin, shift[1]], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
