"""Find the one digit in a photo, scan or drawing: the page's own light removed, the ink masked, the
digit told apart from page edges, ruled lines and specks.

A phone photo's paper is not one grey: it darkens towards a corner, a hand casts a shadow, the table
shows at the border, and ruled paper crosses the digit with lines. So the background is estimated
*locally* (a morphological closing, the classic "rolling ball" of document imaging, which erases
strokes thinner than its kernel and keeps the slow light), the page is divided by it, the ink is
masked with Otsu's threshold on that flattened page (floored, so a blank page stays blank), and the
digit is chosen among connected components: border-touching ones (table, page edge, fingers), specks
and long thin straight lines (ruled or squared paper) are dropped, and components close to the main
one are kept with it, so the bar of a 5 or the two strokes of a 4 stay one digit.

OpenCV does the filters and components: one self-contained wheel (numpy its only dependency), C++
speed for closing, Otsu, connected components and the Hough transform, and none of it written here
as Python loops over pixels. Every size below is a fraction of the image, never a pixel count tuned
to one camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# The page is analysed at most this many pixels on its longer side: enough for the digit to keep
# 20x20 detail when it fills a tenth of the photo, and cheap for the filters.
WORK_SIDE = 640
# The background is estimated on a copy this small, where a closing as wide as a sixth of the page is
# cheap; it is then smoothed and scaled back up.
BACKGROUND_SIDE = 128
BACKGROUND_KERNEL = 1 / 3  # of the small copy's longer side: wider than any pen stroke, even close up
# Ink is at least this much darker than the paper around it (a fraction of the paper's brightness).
# Below it: paper grain, JPEG noise, a blank page.
MIN_CONTRAST = 0.12
# Where the estimated background is this much darker than the page's own paper, it is not paper
# (a table, a dark frame): nothing there counts as ink.
NOT_PAPER = 0.4
# A component smaller than this fraction of the image's area is a speck.
SPECK_AREA = 0.00005
# Parts of one digit: a component at least this fraction of the main one's area, no further from the
# digit found so far than this fraction of its larger side.
PART_AREA = 0.02
PART_GAP = 0.5
# Gaps in a stroke (pencil grain, a skipping pen) narrower than this fraction of the page are bridged.
STROKE_GAP = 0.008
# Ruled and squared paper: a straight segment at least this fraction of the image's extent along it,
# no thicker than LINE_THICKNESS of the image's shorter side.
LINE_LENGTH = 0.7
LINE_THICKNESS = 0.012
BORDER_MARGIN = 2  # pixels: a component this close to the edge touches it
# Stroke width as a fraction of the digit's larger side, measured as 2 * area / perimeter of the ink
# mask: MNIST's first quartile, and the level under which a pen counts as finer than nearly every
# MNIST writer's (MNIST's median is 0.118, its 5th percentile 0.084). A ballpoint or pencil digit is
# broadened to the quartile, because a 2 px line shrunk into a 20 px box would otherwise reach the
# model as a faint grey trace.
MNIST_STROKE = 0.10
FINE_STROKE = 0.08


@dataclass(frozen=True)
class FoundDigit:
    ink: np.ndarray  # float32 in [0, 1], bright ink on black, cropped to the digit
    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive) in the analysed image


def work_copy(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The page at most WORK_SIDE on its longer side, and the factor from it back to ``gray``."""
    height, width = gray.shape
    scale = max(height, width) / WORK_SIDE
    if scale <= 1:
        return gray.astype(np.float32), 1.0
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    return cv2.resize(gray.astype(np.float32), size, interpolation=cv2.INTER_AREA), scale


def dark_ink_on_paper(gray: np.ndarray) -> np.ndarray:
    """Most of an upload is paper: if that is dark (a chalkboard, white-on-black), invert it."""
    return 1.0 - gray if float(np.median(gray)) < 0.5 else gray


def flatten_page(gray: np.ndarray) -> np.ndarray:
    """Ink darkness relative to the local paper, in [0, 1]: 0 on paper wherever its light falls."""
    height, width = gray.shape
    factor = max(height, width) / BACKGROUND_SIDE
    small = gray
    if factor > 1:
        small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
        small = cv2.resize(gray, small_size, interpolation=cv2.INTER_AREA)
    side = max(3, round(max(small.shape) * BACKGROUND_KERNEL) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    background = cv2.blur(background, (side, side), borderType=cv2.BORDER_REPLICATE)
    if factor > 1:
        background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    # The closing never goes below the pixel itself, but the smoothing can: keep the ratio <= 1.
    background = np.maximum(background, gray)
    paper = float(np.percentile(background, 90))
    ink = 1.0 - gray / np.maximum(background, 1e-3)
    ink[background < NOT_PAPER * paper] = 0.0
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def ink_mask(ink: np.ndarray) -> np.ndarray:
    """Pixels that are ink: Otsu's threshold on the flattened page, never below MIN_CONTRAST."""
    as_bytes = np.round(ink * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(as_bytes, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    level = max(otsu / 255.0, MIN_CONTRAST)
    return (ink >= level).astype(np.uint8)


def remove_ruled_lines(mask: np.ndarray) -> np.ndarray:
    """The mask without long thin straight lines (ruled or squared paper, a page's printed frame)."""
    height, width = mask.shape
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    spans = stats[:, cv2.CC_STAT_WIDTH] >= LINE_LENGTH * width
    spans |= stats[:, cv2.CC_STAT_HEIGHT] >= LINE_LENGTH * height
    spans[0] = False  # the background
    if not spans.any():  # nothing long enough: skip the Hough transform
        return mask
    # Only components that span the page can hold a ruled line: the transform looks at them alone.
    long = spans[labels].astype(np.uint8)
    shortest = LINE_LENGTH * min(height, width)
    segments = cv2.HoughLinesP(
        long * 255, 1, np.pi / 180, threshold=round(shortest / 2), minLineLength=shortest, maxLineGap=3
    )
    if segments is None:
        return mask
    thickness = cv2.distanceTransform(mask, cv2.DIST_L2, 3)  # half the stroke width, at each pixel
    thin_limit = max(1.5, LINE_THICKNESS * min(height, width))
    lines = np.zeros_like(mask)
    for x1, y1, x2, y2 in segments[:, 0]:
        length = float(np.hypot(x2 - x1, y2 - y1))
        extent = width if abs(x2 - x1) >= abs(y2 - y1) else height
        if length < LINE_LENGTH * extent:
            continue
        samples = np.linspace(0, 1, 32)
        xs = np.clip(np.round(x1 + (x2 - x1) * samples).astype(int), 0, width - 1)
        ys = np.clip(np.round(y1 + (y2 - y1) * samples).astype(int), 0, height - 1)
        half = float(np.median(thickness[ys, xs]))
        if half <= thin_limit:  # erase the line as wide as it is, and its antialiased rim
            cv2.line(lines, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness=2 * math.ceil(half) + 1)
    return mask & (1 - lines)


def widening(mask: np.ndarray) -> int:
    """Size of the dilation that brings a fine pen's strokes to MNIST's width (1: none needed)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    side = max(mask.shape)
    if perimeter <= 0 or side <= 0:
        return 1
    width = 2 * float(mask.sum()) / perimeter
    if width >= FINE_STROKE * side:
        return 1
    return max(1, round(MNIST_STROKE * side - width)) | 1


def candidates(labels_stats: np.ndarray, shape: tuple[int, int]) -> tuple[list[int], list[int]]:
    """Labels of the components away from the border, and of those touching it; specks left out."""
    height, width = shape
    inner, touching = [], []
    for label in range(1, len(labels_stats)):
        left, top, w, h, area = (int(v) for v in labels_stats[label])
        if area < max(2, SPECK_AREA * height * width):
            continue
        at_border = (
            left < BORDER_MARGIN
            or top < BORDER_MARGIN
            or left + w > width - BORDER_MARGIN
            or top + h > height - BORDER_MARGIN
        )
        (touching if at_border else inner).append(label)
    return inner, touching


def gather_digit(stats: np.ndarray, labels: list[int], shape: tuple[int, int]) -> list[int]:
    """The main component (large and central) and the parts near it that are big enough to count."""
    height, width = shape
    half_diagonal = float(np.hypot(height, width)) / 2

    def weight(label: int) -> float:
        left, top, w, h, area = stats[label]
        off_centre = float(np.hypot(left + w / 2 - width / 2, top + h / 2 - height / 2)) / half_diagonal
        return float(area) / (1.0 + off_centre)

    main = max(labels, key=weight)
    chosen = [main]
    box = [int(v) for v in stats[main, :4]]  # left, top, width, height of the digit so far
    rest = [label for label in labels if label != main and stats[label, 4] >= PART_AREA * stats[main, 4]]
    grew = True
    while grew:
        grew = False
        for label in list(rest):
            left, top, w, h = (int(v) for v in stats[label, :4])
            gap = PART_GAP * max(box[2], box[3])
            dx = max(box[0] - (left + w), left - (box[0] + box[2]), 0)
            dy = max(box[1] - (top + h), top - (box[1] + box[3]), 0)
            if max(dx, dy) <= gap:
                right, bottom = max(box[0] + box[2], left + w), max(box[1] + box[3], top + h)
                box[0], box[1] = min(box[0], left), min(box[1], top)
                box[2], box[3] = right - box[0], bottom - box[1]
                chosen.append(label)
                rest.remove(label)
                grew = True
    return chosen


def find_digit(gray: np.ndarray) -> FoundDigit | None:
    """The digit in a grayscale page (float in [0, 1], any polarity), or None if there is no ink."""
    ink = flatten_page(dark_ink_on_paper(gray))
    mask = remove_ruled_lines(ink_mask(ink))
    bridge = max(1, round(STROKE_GAP * max(mask.shape))) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (bridge, bridge)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    inner, touching = candidates(stats, mask.shape)
    # A digit drawn to the edge of its canvas touches the border too: when nothing else is there, it
    # is the digit.
    pool = inner or touching
    if not pool:
        return None
    chosen = gather_digit(stats, pool, mask.shape)
    keep = np.isin(labels, chosen).astype(np.uint8)
    left = int(min(stats[c, cv2.CC_STAT_LEFT] for c in chosen))
    top = int(min(stats[c, cv2.CC_STAT_TOP] for c in chosen))
    right = int(max(stats[c, cv2.CC_STAT_LEFT] + stats[c, cv2.CC_STAT_WIDTH] for c in chosen))
    bottom = int(max(stats[c, cv2.CC_STAT_TOP] + stats[c, cv2.CC_STAT_HEIGHT] for c in chosen))
    widen = widening(keep[top:bottom, left:right])
    # The strokes' soft edges lie just outside the mask: keep a pixel's ring around it.
    keep = cv2.dilate(keep, np.ones((3, 3), np.uint8))
    digit = (ink * keep)[top:bottom, left:right]
    strokes = digit[keep[top:bottom, left:right] > 0]
    if widen > 1:
        digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (widen, widen)))
        digit = cv2.copyMakeBorder(digit, widen, widen, widen, widen, cv2.BORDER_CONSTANT, value=0)
    peak = float(np.percentile(strokes, 90)) if strokes.size else 0.0
    if peak <= 0.0:
        return None
    # Pencil or faded ink is as bright as MNIST's pen once its strokes' own level is the top.
    return FoundDigit(np.clip(digit / peak, 0.0, 1.0).astype(np.float32), (left, top, right, bottom))
