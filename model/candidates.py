"""Propose the digits a page may hold: each a crop of ink, bright on black, for the model to verify.

The image cannot tell a digit from what is around it (a form's box, a printed "6)", a sticky note's
edge), but the model can: it was trained to say "not a digit" of boxes, frames, labels and numbers
(train/outliers.py). So this module does not decide; it proposes a few candidates and the model's
scores choose among them (model/verify.py). The candidates, at most MAX_CANDIDATES readings,
4 * MAX_MARKS + 22 looks at marks, gaps, other objects, a line beneath and smaller ink, MORE_LOOPS
cells and one in pale ink:

- **both polarities**: dark ink on light paper and light ink on a dark ground (a chalkboard, a dim
  photo whose paper is dark grey). Ink is what differs from its *own* neighbourhood: the page's
  light is estimated locally (a morphological closing, the "rolling ball" of document imaging, which
  erases strokes thinner than its kernel and keeps the slow light and the step of a shadow's edge,
  smoothed by a median, which keeps that step too) and the page is divided by it, so
  a dim photo's dark paper is paper. The page's majority polarity is tried first; the other one's
  candidates (among them the holes of the first one's strokes, such as the inside of a 0) win only
  as model/verify.py allows;
- **with and without straight lines**: structure is told apart from handwriting by what it is, a
  straight segment long for its thickness (a form's box, an answer line, a table's rules), at any
  scale; the candidate without them is proposed first, and the one with them beside it;
- **without a pattern**: a surface's pattern (a brick wall's joints, a receipt's print, a music
  staff's notes) is many components of one size, which the gathering chains to the digit until it
  is the whole page. Where REPEATS or more others share a component's size, they are a pattern, and
  the digit gathered without them is one more reading, where it stands out of the pattern by its
  size, as a digit does from print (NUMBER_SIZES);
- **the inside of a loop**: the ink inside a hole of the mask (a form's box, a frame, a ring drawn
  around the answer, that the digit does not touch), in the page's likelier polarity; the
  FIRST_LOOPS likeliest among the readings, and up to MORE_LOOPS more after the marks' candidates:
  a table's printed words have more ink than the digit in its cell, so the model, not their order,
  must choose among its cells;
- **the darker ink**: where the mask holds two levels of ink (a highlighter's stripe, a receipt's grey
  print or a smudge, fainter than the pen, joined to the digit), Otsu's threshold within the mask
  keeps the darker level; proposed only when that ink is one group (a number's digits or a photo's
  dark parts are several), and chosen only as model/verify.py allows an alternative;
- in each, **the digit with its neighbours**: components near the main one are gathered (the bar of
  a 5, the two strokes of a 4). The main one alone is *not* proposed: two digits side by side are a
  number, and its first digit alone would be a confident wrong answer;
- **the digit without one of its marks**: an underline, an arrow or a tick is as dark as the digit
  and near it, so it is gathered with it. The gathered group is proposed without each of the two
  largest of its components that may be marks in turn, and the component left out is proposed beside
  it, whole and cut in two at its thinnest column, so that model/verify.py can tell a mark from the
  other digits of a number (a number's digits touch, and then only the halves show it);
- **the digit beside more ink**: a pen lying on the page or a first attempt struck out has more ink
  than the digit, so it is no mark; where one component outweighs all the rest and the rest lies
  beside it (not mostly within its box, as an icon's detail does), the rest is proposed without it,
  and it beside it, whole and cut in two, for model/verify.py to weigh;
- **the digit among smaller ink**: a receipt's or a form's print is many components, each far
  smaller than the handwritten digit, gathered with it; where every other component is under half
  the largest one's size and they lie around it, the largest is proposed alone, and the others beside
  it, whole and cut in two, for model/verify.py to weigh;
- **the digit between two marks**: where those two components lie on either side of the rest (a
  pair of brackets), the rest without both;
- **the digit within a mark**: where the rest lies within a component's box (a ring drawn around
  the answer and left open, so no loop), the rest without it;
- **the digit beside a gap**: a printed question number ("6)", "Q12", "(3)") is several components,
  none of them a mark, gathered with the answer. The gathered group is cut at its widest gap
  between columns; the side holding the main component is proposed, and the other side beside it,
  whole and cut in two, framed at the reading's scale, so that model/verify.py can tell a label
  from a number's other digits; then the other way round, the far side as the reading and the main
  component's side as the evidence: a first attempt struck out beside the answer, near enough to be
  gathered with it, has more ink than the answer and holds the main component;
- **the next object**: a page may hold a second object apart from the gathered digit (the answer
  beside a first attempt struck out and left far enough away not to be gathered with it). The digit
  gathered from the components left over is proposed, with the page's straight lines kept: an
  arrow's head cut from its shaft by their removal is no object of its own;
- **pale ink**: a yellow highlighter's or gel pen's digit on white paper is nearly white in luma,
  under the contrast that counts as ink, and dark in the blue channel. Where the page's darkest
  channel (model/decode.py) is darker than luma by that contrast in more than a speck, its dark ink
  is gathered as a digit, proposed only where luma holds no ink under its strokes, and chosen only
  as model/verify.py allows an alternative that never replaces a default reading that is a digit;
- **the digit above a line**: an underline or a form's answer line that touches the digit is one
  component with it, so there is no mark to leave out. A line beneath reaches past the digit on
  both sides; the gathered group is cut at the row where it begins, and the part above is proposed,
  the part below beside it, whole and cut in two, weighed as a mark left out.

Masking: Otsu's threshold on the flattened page, floored so a blank page stays blank; the lines
that span the page (ruled paper, a music staff) removed, but where a stroke crosses them; specks and
components touching the border (a table, a page edge, fingers) are dropped, the border ones kept
only when nothing else is there. OpenCV does the filters and components (C++ speed, no Python loops
over pixels). Every size below is a fraction of the image or of the ink's own stroke, never a pixel
count tuned to one camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

# The background is estimated on a copy this small, where a closing as wide as a third of the page is
# cheap; it is then smoothed (a median) and scaled back up.
BACKGROUND_SIDE = 128
BACKGROUND_KERNEL = 1 / 3  # of the small copy's longer side: wider than any pen stroke, even close up
# Ink is at least this much darker than the paper around it (a fraction of the paper's brightness).
# Below it: paper grain, JPEG noise, a blank page.
MIN_CONTRAST = 0.12
# Ink stands out from the page's own variation by more than this many standard deviations (the
# usual rule for an outlier).
NOISE_SIGMAS = 4
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
# A straight segment this many times longer than it is thick is structure, not handwriting: a
# digit's longest straight stroke is its height, about 1 / MNIST_STROKE strokes.
LINE_ASPECT = round(1 / MNIST_STROKE)


DARKER = 2  # the tier of the darker ink's candidate: an alternative of the page's likelier polarity
LEFT_OUT = 3  # the gathered digit without one of its components: an alternative, as verify.py allows
MARK = 4  # the component left out, then its two halves: never an answer, the evidence on what it is
BETWEEN = 5  # the gathered digit without the two marks either side of it (brackets): an alternative
AROUND = 6  # the gathered digit without a component around it (a ring left open): an alternative
SIDE = 7  # the gathered digit's one side of its widest gap (a printed label beside it): an alternative
OTHER = 8  # the digit gathered from the page's next object (beside a struck-out attempt): an alternative
FAR_SIDE = 9  # the other side of the widest gap (the answer beside a struck-out attempt): an alternative
LESSER = 10  # the gathered digit without a component that outweighs the rest of it (a pen lying beside it)
SMALLER = 11  # the gathered digit's largest component alone, all the rest under half its size (print)
PALE = 12  # the digit in a colour that luma hardly shows (a yellow highlighter): an alternative
STABLE = 13  # the digit as a stable region of its ink, alone on a textured surface: an alternative
# One number's digits are written at one size: ink at least this many times the size of a digit (its
# longer side) is no other digit of its number (a pen lying beside the answer), and neither is ink
# under its 1 / NUMBER_SIZES (a receipt's print around it).
NUMBER_SIZES = 2
# At most this many candidates per image: two polarities, each with and without straight lines, the
# likelier one without a pattern, the inside of boxes and the darker ink.
MAX_CANDIDATES = 8
# The closed loops (a form's box, a table's cell) proposed among the readings, and at most how many
# more of a table's cells follow the marks' candidates: fourteen loops in all, a small table's cells
# (the cost of each is one connected-components pass over the page).
FIRST_LOOPS = 2
MORE_LOOPS = 12
# The gathered digit is proposed without each of this many of its components (the largest that may be
# marks), each with the three looks at what was left out, then without both where they enclose it: at
# most 4 * MAX_MARKS + 1 more candidates, and four for a component that outweighs the rest; the sides
# of the widest gap add eight, the next object one, the digit above a line four, among smaller ink four.
MAX_MARKS = 2
# The stable regions of the ink read as digits (tier STABLE), largest first: a few, as the readings;
# and how many distinct ones are weighed at most, each with one labelling of the page: the cost's bound.
MAX_STABLE = 4
MAX_REGIONS = MAX_CANDIDATES
# A stable region's least area, of the page's: smaller ink is no digit to read alone.
REGION_AREA = 0.001
# Two stable regions whose boxes overlap this much (intersection over union, the usual bar for
# non-maximum suppression) are one digit seen at two levels.
SAME_REGION = 0.7
# A surface's pattern (a brick wall's joints, tiles, a weave, a receipt's print): a component with at
# least REPEATS others of its size (each side of their boxes within a factor SAME_SIZE of its own).
REPEATS = 8
SAME_SIZE = 1.5


@dataclass(frozen=True)
class Candidate:
    ink: np.ndarray  # float32 in [0, 1], bright ink on black, cropped to the digit
    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive) in the analysed image
    source: str  # how it was proposed, for ?explain=1: "dark ink", "light ink, lines removed"...
    # 0: the likelier polarity; 1: the other; DARKER: its darker ink; LEFT_OUT: without a mark; MARK:
    # that mark; BETWEEN, AROUND, SIDE, FAR_SIDE: between marks, within one, either side of a gap;
    # OTHER: the next object; LESSER: beside more ink; SMALLER: among smaller ink; PALE: in pale ink;
    # STABLE: a stable region. All but 0 win as verify.py allows; MARK never does.
    tier: int = 0
    whole: bool = True  # a reading of the layer's whole mask, with or without its lines; False: inside a loop
    # The side (in the ink's pixels) that MNIST's 20 px box stands for, if larger than the ink's own:
    # evidence framed at the scale of the reading it is weighed against. 0: the ink's own.
    frame_side: int = 0


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
    # A median, not a mean, smooths the closing's blocks: it keeps the step at a hard shadow's edge,
    # which a mean smears into a band that the ratio below reads as ink. (OpenCV's median this wide
    # takes 8-bit images; a level is finer than any contrast that counts as ink.)
    levels = np.round(np.clip(background, 0.0, 1.0) * 255).astype(np.uint8)
    background = cv2.medianBlur(levels, side).astype(np.float32) / 255
    if factor > 1:
        background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    # The closing never goes below the pixel itself, but the smoothing can: keep the ratio <= 1.
    background = np.maximum(background, gray)
    paper = float(np.percentile(background, 90))
    ink = 1.0 - gray / np.maximum(background, 1e-3)
    # Nothing is darker than black: where the page is (nearly) black, it holds no ink of this polarity.
    ink[(background < NOT_PAPER * paper) | (background < 1 / 255)] = 0.0
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def ink_mask(ink: np.ndarray) -> np.ndarray:
    """Pixels that are ink: Otsu's threshold on the flattened page, never below MIN_CONTRAST nor
    within the page's own noise (a dim photo's grain): NOISE_SIGMAS robust deviations above its median."""
    as_bytes = np.round(ink * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(as_bytes, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    median = float(np.median(ink))
    spread = 1.4826 * float(np.median(np.abs(ink - median)))  # the standard deviation, were it normal
    level = max(otsu / 255.0, MIN_CONTRAST, median + NOISE_SIGMAS * spread)
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
    return without_lines(mask, lines)


def without_lines(mask: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The mask without ``lines`` but where a stroke crosses one: a digit written across a music
    staff's or a ruled page's lines would be cut by their removal into pieces that are each no
    digit. A crossing is a gap as wide as the erased band, with the stroke's ink on both sides,
    which a closing that wide fills; a line's stretch beside ink on one side only stays erased."""
    kept = mask & (1 - lines)
    if not lines.any():
        return kept
    # The band's width, where a line's segments found side by side erased it wider than one of them.
    half = float(cv2.distanceTransform(lines, cv2.DIST_L2, 3).max())
    side = 2 * math.ceil(half) + 3
    closed = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    return kept | (closed & lines & mask)


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


def speck_area(shape: tuple[int, int]) -> float:
    """The area under which a component of a page of ``shape`` is a speck, never ink to gather."""
    return max(2, SPECK_AREA * shape[0] * shape[1])


def part_area(stats: np.ndarray, main: int) -> float:
    """The least area of a component that counts as a part of the digit whose main component is ``main``."""
    return PART_AREA * float(stats[main, cv2.CC_STAT_AREA])


def candidates(labels_stats: np.ndarray, shape: tuple[int, int]) -> tuple[list[int], list[int]]:
    """Labels of the components away from the border, and of those touching it; specks left out."""
    inner, touching = [], []
    for label in range(1, len(labels_stats)):
        left, top, w, h, area = (int(v) for v in labels_stats[label])
        if area < speck_area(shape):
            continue
        (touching if _touches_border((left, top, w, h), shape) else inner).append(label)
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
    rest = [label for label in labels if label != main and stats[label, 4] >= part_area(stats, main)]
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


def straight_lines(mask: np.ndarray) -> np.ndarray | None:
    """The pixels of straight segments at least LINE_ASPECT times as long as the ink across them is
    thick (measured along each segment's normal, so the edge of a broad stroke is not one), or None."""
    shortest = 2 * LINE_ASPECT
    # The transform looks at the ink's outline only: a thin line is all outline, and a filled area
    # (a sticky note in the other polarity) then costs its perimeter, not its area.
    outline = mask - cv2.erode(mask, np.ones((3, 3), np.uint8))
    found = cv2.HoughLinesP(outline * 255, 1, np.pi / 180, threshold=shortest, minLineLength=shortest, maxLineGap=2)
    if found is None:
        return None
    segments = found[:, 0].astype(np.float64)
    length = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    # At 32 points along each segment, the ink across it within length / LINE_ASPECT either side.
    reach = np.maximum(1, (length / LINE_ASPECT).astype(int))
    offsets = np.arange(-int(reach.max()), int(reach.max()) + 1)
    along = np.linspace(0, 1, 32)
    normal = np.stack([-(segments[:, 3] - segments[:, 1]), segments[:, 2] - segments[:, 0]], axis=1) / length[:, None]
    xs = segments[:, None, None, 0] + (segments[:, 2] - segments[:, 0])[:, None, None] * along[None, :, None]
    ys = segments[:, None, None, 1] + (segments[:, 3] - segments[:, 1])[:, None, None] * along[None, :, None]
    xs = np.round(xs + normal[:, None, None, 0] * offsets[None, None, :]).astype(int)
    ys = np.round(ys + normal[:, None, None, 1] * offsets[None, None, :]).astype(int)
    height, width = mask.shape
    valid = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height) & (np.abs(offsets) <= reach[:, None, None])
    ink = mask[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)] * valid
    thickness = np.median(ink.sum(axis=2), axis=1)
    is_line = (thickness > 0) & (thickness * LINE_ASPECT <= length) & (thickness < 2 * reach + 1)
    if not is_line.any():
        return None
    lines = np.zeros_like(mask)
    for (x1, y1, x2, y2), across, size in zip(segments[is_line], thickness[is_line], length[is_line], strict=True):
        # Lengthened by its width at both ends: where handwriting crosses a line, the line's outline
        # breaks, and the transform's segments stop just short of the crossing.
        dx, dy = (x2 - x1) / size * (across + 2), (y2 - y1) / size * (across + 2)
        start, end = (round(x1 - dx), round(y1 - dy)), (round(x2 + dx), round(y2 + dy))
        cv2.line(lines, start, end, 1, thickness=round(across) + 2)
    return lines


def crop(
    ink: np.ndarray,
    labels: np.ndarray,
    stats: np.ndarray,
    chosen: list[int],
    source: str,
    tier: int,
) -> Candidate | None:
    """The chosen components' ink, cropped, widened to MNIST's stroke if the pen was fine, at full strength."""
    left = int(min(stats[c, cv2.CC_STAT_LEFT] for c in chosen))
    top = int(min(stats[c, cv2.CC_STAT_TOP] for c in chosen))
    right = int(max(stats[c, cv2.CC_STAT_LEFT] + stats[c, cv2.CC_STAT_WIDTH] for c in chosen))
    bottom = int(max(stats[c, cv2.CC_STAT_TOP] + stats[c, cv2.CC_STAT_HEIGHT] for c in chosen))
    keep = np.isin(labels[top:bottom, left:right], chosen).astype(np.uint8)  # the crop only, not the page
    widen = widening(keep)
    # The strokes' soft edges lie just outside the mask: keep a pixel's ring around it.
    ring = cv2.dilate(keep, np.ones((3, 3), np.uint8))
    digit = ink[top:bottom, left:right] * ring
    strokes = digit[keep > 0]
    peak = float(np.percentile(strokes, 90)) if strokes.size else 0.0
    if peak <= 0.0:
        return None
    if widen > 1:
        digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (widen, widen)))
        digit = cv2.copyMakeBorder(digit, widen, widen, widen, widen, cv2.BORDER_CONSTANT, value=0)
    # Pencil or faded ink is as bright as MNIST's pen once its strokes' own level is the top.
    return Candidate(np.clip(digit / peak, 0.0, 1.0).astype(np.float32), (left, top, right, bottom), source, tier)


@dataclass(frozen=True)
class Layer:
    """One polarity's reading of the page: how far each pixel is from its neighbourhood, and the mask."""

    name: str
    ink: np.ndarray
    mask: np.ndarray
    loops: np.ndarray  # the mask with the lines across the page kept: a table's rows span it
    tier: int  # 0: the page's likelier polarity; 1: the other (model/verify.py says when it wins)


@dataclass(frozen=True)
class Gathered:
    """A mask's components, those that may be the digit, and the digit gathered from them."""

    labels: np.ndarray
    stats: np.ndarray
    pool: list[int]  # the components away from the border, or those touching it if there are no others
    digit: list[int]  # the main component and its parts; [] where the pool is empty


@dataclass(frozen=True)
class Loop:
    """The ink inside one closed loop, in the loop's box, and that box's left and top in the page."""

    left: int
    top: int
    inside: np.ndarray


def gathered(mask: np.ndarray) -> Gathered:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    inner, touching = candidates(stats, mask.shape)
    # A digit drawn to the edge of its canvas touches the border too: when nothing else is there, it
    # is the digit.
    pool = inner or touching
    return Gathered(labels, stats, pool, gather_digit(stats, pool, mask.shape) if pool else [])


def without_pattern(found: Gathered, shape: tuple[int, int]) -> Gathered:
    """``found`` gathered again without the components that a surface's pattern repeats (REPEATS
    others of their size): a brick wall's joints around chalk are gathered with it, chain by chain,
    until the digit is the whole wall. Its digit is [] where there is no pattern."""
    pattern = repeated(found.stats, found.pool)
    pool = [label for label in found.pool if label not in pattern]
    if not pattern or not pool:
        return replace(found, digit=[])
    digit = gather_digit(found.stats, pool, shape)
    # What is left is the digit only if it stands out from the pattern as a digit from a receipt's
    # print: NUMBER_SIZES times the pattern's elements (their median) or more. Left by a page's words
    # or a tray of coins, one more of the same is none.
    sides = found.stats[:, cv2.CC_STAT_WIDTH : cv2.CC_STAT_HEIGHT + 1].max(axis=1)
    left, top, right, bottom = _box(found.stats, digit)
    if NUMBER_SIZES * float(np.median(sides[list(pattern)])) > max(right - left, bottom - top):
        return replace(found, digit=[])
    return Gathered(found.labels, found.stats, pool, digit)


def repeated(stats: np.ndarray, pool: list[int]) -> set[int]:
    """The components of ``pool`` with at least REPEATS others of their size in it. Counted in a
    summed-area table of the boxes' widths and heights: a textured page has thousands of components,
    and comparing each pair would cost their number squared in time and memory."""
    if len(pool) <= REPEATS:
        return set()
    widths = stats[pool, cv2.CC_STAT_WIDTH].astype(np.int64)
    heights = stats[pool, cv2.CC_STAT_HEIGHT].astype(np.int64)
    table = np.zeros((int(widths.max()) + 2, int(heights.max()) + 2), np.int64)
    np.add.at(table, (widths + 1, heights + 1), 1)
    table = table.cumsum(axis=0).cumsum(axis=1)  # table[w + 1, h + 1]: boxes at most w wide and h tall
    w0, h0 = np.ceil(widths / SAME_SIZE).astype(np.int64), np.ceil(heights / SAME_SIZE).astype(np.int64)
    w1 = np.minimum(np.floor(widths * SAME_SIZE).astype(np.int64), table.shape[0] - 2)
    h1 = np.minimum(np.floor(heights * SAME_SIZE).astype(np.int64), table.shape[1] - 2)
    alike = table[w1 + 1, h1 + 1] - table[w0, h1 + 1] - table[w1 + 1, h0] + table[w0, h0] - 1  # not itself
    return {label for label, count in zip(pool, alike.tolist(), strict=True) if count >= REPEATS}


def from_mask(layer: Layer, found: Gathered, source: str) -> list[Candidate]:
    """The digit gathered with its neighbours from one mask of the layer's ink (none if no ink)."""
    if not found.digit:
        return []
    digit = crop(layer.ink, found.labels, found.stats, found.digit, source, layer.tier)
    return [digit] if digit is not None else []


def loops_inside(layer: Layer, page: Gathered) -> list[Loop]:
    """The ink inside each closed loop of the layer's mask with lines kept (a hole of it), likeliest
    first: a form's box, a table's cell, a frame or a hand-drawn ring around a digit that does not
    touch it. A digit's own holes (a 0, an 8) hold no ink, and a loop holding nothing that would
    count as a part of ``page``'s gathered digit is no loop here."""
    mask = layer.loops
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    # A part of the page's own digit: the bits of a squared page's fainter lines left inside its
    # squares are less.
    least = max(speck_area(mask.shape), part_area(page.stats, page.digit[0]) if page.digit else 0)
    loops = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        if parent < 0:  # an outer boundary, not a hole
            continue
        inside, left, top = _inside(contour, mask)
        if not inside.any():
            continue
        _, _, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=8)
        parts = int((stats[1:, cv2.CC_STAT_AREA] >= least).sum())
        if parts:
            loops.append((parts, -int(inside.sum()), Loop(left, top, inside)))
    # A table or squared paper is all boxes: the ones whose ink is the fewest parts (a digit is one
    # or two strokes, a printed word several letters), then the most ink.
    loops.sort(key=lambda loop: loop[:2])
    return [loop for _, _, loop in loops]


def inside_loops(layer: Layer, loops: list[Loop]) -> list[Candidate]:
    """Each of ``loops`` (:func:`loops_inside`) as its own candidate: the digit gathered from its ink."""
    found = []
    for loop in loops:
        canvas = np.zeros_like(layer.loops)
        canvas[loop.top : loop.top + loop.inside.shape[0], loop.left : loop.left + loop.inside.shape[1]] = loop.inside
        found += [replace(c, whole=False) for c in from_mask(layer, gathered(canvas), f"{layer.name}, inside a loop")]
    return found


def _inside(contour: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The mask's ink inside a hole's contour, off the loop's own edge, in the contour's box (with a
    margin, so the erosion sees the outside), and that box's left and top."""
    x, y, w, h = cv2.boundingRect(contour)
    left, top = max(0, x - 3), max(0, y - 3)
    right, bottom = min(mask.shape[1], x + w + 3), min(mask.shape[0], y + h + 3)
    inside = np.zeros((bottom - top, right - left), np.uint8)
    cv2.drawContours(inside, [contour], 0, 1, thickness=-1, offset=(-left, -top))
    return cv2.erode(inside, np.ones((5, 5), np.uint8)) & mask[top:bottom, left:right], left, top


def ink_masks(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask of ink on a flattened page: thresholded, lines across the page removed, gaps bridged;
    and the same with those lines kept."""
    threshold = ink_mask(ink)
    cleaned = remove_ruled_lines(threshold)
    mask = _bridged(cleaned)
    return mask, (mask if cleaned is threshold else _bridged(threshold))


def _bridged(mask: np.ndarray) -> np.ndarray:
    bridge = max(1, round(STROKE_GAP * max(mask.shape))) | 1
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (bridge, bridge)))


def darker_ink(layer: Layer) -> list[Candidate]:
    """The darker of the mask's two levels of ink (Otsu's threshold on the mask's own pixels), gathered
    as a digit, if it is one group: every component big enough to count is part of it. A digit over a
    highlighter's stripe or among a receipt's grey print is; two digits of a number, or the dark parts
    of a photo, are not, and a number's first digit alone would be a confident wrong answer."""
    levels = np.round(layer.ink[layer.mask > 0] * 255).astype(np.uint8)
    if levels.size == 0:
        return []
    level, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Within the layer's mask, whose lines across the page are already gone; gaps bridged as in it.
    mask = _bridged((layer.ink * 255 > level).astype(np.uint8) & layer.mask)
    found = gathered(mask)
    labels, stats, pool, chosen = found.labels, found.stats, found.pool, found.digit
    if not chosen:
        return []
    least = part_area(stats, chosen[0])
    counted = {label for label in pool if stats[label, cv2.CC_STAT_AREA] >= least}
    if not counted <= set(chosen):
        return []
    found = crop(layer.ink, labels, stats, chosen, f"{layer.name}, darker ink", DARKER)
    return [replace(found, whole=False)] if found is not None else []


def without_each_mark(layer: Layer, found: Gathered) -> list[Candidate]:
    """The digit gathered from a mask without each of the MAX_MARKS largest of its components that
    may be marks, in turn, each followed by the component left out and its two halves (tier MARK),
    or, for a component around the rest, the rest alone (tier AROUND), or, for the one component
    that outweighs all the rest, the rest without it, then it whole and halved (tier LESSER, not
    counted among the marks); then, where two marks lie on either side of the rest (a pair of
    brackets), the rest without both (tier BETWEEN). None for a one-component digit."""
    labels, stats, chosen = found.labels, found.stats, found.digit
    if len(chosen) < 2:
        return []
    proposed: list[Candidate] = []
    left_out: list[int] = []
    looked = 0
    for mark in sorted(chosen, key=lambda label: -int(stats[label, cv2.CC_STAT_AREA])):
        if looked == MAX_MARKS:
            break
        rest = [label for label in chosen if label != mark]
        # A ring drawn around the answer and left open has no hole, so it is no loop: the digit within
        # it, whatever their ink, is the reading without it. A number's digits are side by side, never
        # one within another, so what the ring reads as says nothing.
        if _within(_box(stats, rest), _box(stats, [mark])):
            around = crop(layer.ink, labels, stats, rest, f"{layer.name}, within a mark", AROUND)
            proposed += [replace(around, whole=False)] if around is not None else []
            looked += 1
            continue
        # A mark annotates the digit: it is beside it (not within it, as a face's eye or a play button's
        # triangle is within its figure) and has less ink than it. A component with more ink than all
        # the rest (a pen lying on the page, a struck-out attempt) is no mark: the rest is read
        # without it as its own alternative (LESSER), weighed by what the model reads it as.
        if _within(_box(stats, [mark]), _box(stats, rest)):
            continue
        if stats[mark, 4] > stats[rest, 4].sum():
            # Beside it, not over it: an icon's detail lies within the icon's box.
            if not _mostly_within(_box(stats, rest), _box(stats, [mark])):
                proposed += _weighed(layer, found, rest, [mark], ("beside more ink", "the more ink"), LESSER)
            continue
        weighed = _weighed(layer, found, rest, [mark], ("without a mark", "the mark left out"), LEFT_OUT)
        if weighed:
            proposed += weighed
            left_out.append(mark)
            looked += 1
    rest = [label for label in chosen if label not in left_out]
    if len(left_out) == 2 and _either_side(stats, left_out, rest):
        between = crop(layer.ink, labels, stats, rest, f"{layer.name}, between two marks", BETWEEN)
        proposed += [replace(between, whole=False)] if between is not None else []
    return proposed


def beside_a_gap(layer: Layer, found: Gathered) -> list[Candidate]:
    """The gathered digit's side of its widest gap between columns (a printed "6)" or "Q12" left of
    the answer is gathered with it): the side that holds the main component, without the other
    (tier SIDE), then the other side whole and cut in two (tier MARK), for model/verify.py to tell a
    label from a number's other digits. The other side is framed at the reading's scale, not its
    own: a number's digits are written at one size, so they look like digits there, while a label
    printed smaller than the answer looks small. Then the same the other way round (tier FAR_SIDE):
    the answer beside a struck-out attempt that holds the main component. [] where no column is
    clear of ink."""
    stats, chosen = found.stats, found.digit
    if len(chosen) < 2:
        return []
    order = sorted(chosen, key=lambda label: int(stats[label, cv2.CC_STAT_LEFT]))
    split, widest, reach = 0, 0, int(stats[order[0], 0] + stats[order[0], 2])
    for k in range(1, len(order)):
        gap = int(stats[order[k], 0]) - reach
        if gap > widest:
            split, widest = k, gap
        reach = max(reach, int(stats[order[k], 0] + stats[order[k], 2]))
    if widest <= 0:
        return []
    side, other = (order[split:], order[:split]) if chosen[0] in order[split:] else (order[:split], order[split:])
    names = ("beside a gap", "across the gap")
    return _weighed(layer, found, side, other, names, SIDE, True) + _weighed(
        layer, found, other, side, names, FAR_SIDE, True
    )


def among_smaller(layer: Layer, found: Gathered) -> list[Candidate]:
    """The gathered digit's largest component alone (tier SMALLER), where every other one is under
    1 / NUMBER_SIZES of its size (its longer side) and they lie around it, not mostly within its box:
    a receipt's or a form's print around a handwritten digit is gathered with it, and is no digit of
    its number. Then the others, whole and cut in two (tier MARK), for model/verify.py to weigh. []
    where the digit is one component, another one is of its size, or they lie within it."""
    stats, chosen = found.stats, found.digit
    if len(chosen) < 2:
        return []
    sides = {
        label: max(int(stats[label, cv2.CC_STAT_WIDTH]), int(stats[label, cv2.CC_STAT_HEIGHT])) for label in chosen
    }
    largest = max(chosen, key=sides.__getitem__)
    rest = [label for label in chosen if label != largest]
    if NUMBER_SIZES * max(sides[label] for label in rest) >= sides[largest]:
        return []
    # Around it, not within it: a figure's own detail (a play button's triangle) lies within its box.
    if _mostly_within(_box(stats, rest), _box(stats, [largest])):
        return []
    return _weighed(layer, found, [largest], rest, ("among smaller ink", "the smaller ink"), SMALLER)


def next_object(layer: Layer, found: Gathered) -> list[Candidate]:
    """The digit gathered from the components of ``found``'s pool outside its gathered digit, those
    big enough to count as parts of it (tier OTHER): the answer beside a struck-out attempt. [] where
    nothing is left over."""
    if not found.digit:
        return []
    areas = found.stats[:, cv2.CC_STAT_AREA]
    least = part_area(found.stats, found.digit[0])
    left_over = [label for label in found.pool if label not in found.digit and areas[label] >= least]
    if not left_over:
        return []
    chosen = gather_digit(found.stats, left_over, layer.mask.shape)
    other = crop(layer.ink, found.labels, found.stats, chosen, f"{layer.name}, the next object", OTHER)
    return [replace(other, whole=False)] if other is not None else []


def above_a_line(layer: Layer, found: Gathered) -> list[Candidate]:
    """The gathered digit above a line that touches it from beneath (an underline, a form's answer
    line): the digit cut at a row of its lower half below which the ink reaches past the ink above
    on both sides, as a line beneath a word does, read without what lies below (tier LEFT_OUT), then
    what lies below, whole and cut in two (tier MARK), for model/verify.py to weigh as it weighs a
    mark left out. [] where no row is such a cut, or where what lies below does not reach past the
    digit on both sides by more than its thickness (``_reaches_past``: a 2's foot, a loop)."""
    if not found.digit:
        return []
    left, top, right, bottom = _box(found.stats, found.digit)
    keep = np.isin(found.labels[top:bottom, left:right], found.digit)
    cut = _cut_above_a_line(keep)
    if cut is None:
        return []
    above = np.zeros_like(keep)
    above[:cut] = keep[:cut]
    below = keep & ~above
    if not _reaches_past(below, above):
        return []
    split = _two_parts(found.labels.shape, (left, top), above, below, found.stats.dtype)
    if split is None:
        return []
    parts = Gathered(split[0], split[1], [1, 2], [1, 2])
    return _weighed(layer, parts, [1], [2], ("above a line", "the line beneath"), LEFT_OUT)


def _reaches_past(below: np.ndarray, above: np.ndarray) -> bool:
    """Whether the ink ``below`` a cut reaches past the ink ``above`` it, on both sides, by more than
    it is thick where it does (the median ink of those columns, where nothing of the digit is): a
    line is long for its thickness, while the wider lower half of a letter or a digit (an
    ampersand's loop, a 2's foot) reaches a little past its upper half."""
    columns, reach = np.flatnonzero(above.any(axis=0)), np.flatnonzero(below.any(axis=0))
    if columns.size == 0 or reach.size == 0:
        return False
    outside = np.ones(below.shape[1], bool)
    outside[columns[0] : columns[-1] + 1] = False
    ink = below[:, outside].sum(axis=0)
    thickness = float(np.median(ink[ink > 0])) if (ink > 0).any() else math.inf
    return min(columns[0] - reach[0], reach[-1] - columns[-1]) > thickness


def _cut_above_a_line(keep: np.ndarray) -> int | None:
    """The row of ``keep`` (a box of ink) at which a line beneath begins, or None. For a cut at a row
    of the lower half, the line's overhang is how far the ink below reaches past the ink above on
    its shorter side; it shrinks as the cut moves down, a row of the digit at a time, until the
    line's top (its highest crest, or the higher end of a sloping line) joins the ink above, where
    it falls most at once: that row, of those with an overhang and ink, the highest of equals."""
    height, width = keep.shape
    columns = np.arange(width)
    lefts = np.where(keep, columns, width).min(axis=1)
    rights = np.where(keep, columns, -1).max(axis=1)
    rows = np.arange(max(1, height // 2), height)
    left_above, right_above = np.minimum.accumulate(lefts)[rows - 1], np.maximum.accumulate(rights)[rows - 1]
    left_below = np.minimum.accumulate(lefts[::-1])[::-1][rows]
    right_below = np.maximum.accumulate(rights[::-1])[::-1][rows]
    overhang = np.minimum(left_above - left_below, right_below - right_above)
    drops = overhang[:-1] - overhang[1:]
    valid = (overhang[:-1] > 0) & keep[rows[:-1]].any(axis=1)
    if not valid.any():
        return None
    drops = np.where(valid, drops, -1)
    return int(rows[int(np.argmax(drops))])


def _weighed(
    layer: Layer,
    found: Gathered,
    reading: list[int],
    left_out: list[int],
    names: tuple[str, str],
    tier: int,
    at_reading_scale: bool = False,
) -> list[Candidate]:
    """A reading of components ``reading`` (of ``tier``), then what it leaves out, whole and cut in two
    (tier MARK), for model/verify.py to weigh: the evidence framed at its own scale, or at the
    reading's. [] if any of the four holds no ink."""
    labels, stats = found.labels, found.stats
    kept = crop(layer.ink, labels, stats, reading, f"{layer.name}, {names[0]}", tier)
    alone = crop(layer.ink, labels, stats, left_out, f"{layer.name}, {names[1]}", MARK)
    halves = _halves(layer, labels, stats, left_out)
    if kept is None or alone is None or not halves:
        return []
    scale = max(kept.box[2] - kept.box[0], kept.box[3] - kept.box[1]) if at_reading_scale else 0
    evidence = [replace(candidate, frame_side=scale) for candidate in (alone, *halves)]
    return [replace(candidate, whole=False) for candidate in (kept, *evidence)]


def _either_side(stats: np.ndarray, marks: list[int], rest: list[int]) -> bool:
    """Whether one of the two ``marks`` lies wholly left of the ``rest``'s box and the other wholly
    right of it, or one above and the other below: they enclose it, as brackets do."""
    inner = _box(stats, rest)
    first, second = (_box(stats, [mark]) for mark in marks)
    for low, high in ((0, 2), (1, 3)):  # left and right, then top and bottom
        if (first[high] <= inner[low] and second[low] >= inner[high]) or (
            second[high] <= inner[low] and first[low] >= inner[high]
        ):
            return True
    return False


def _box(stats: np.ndarray, labels: list[int]) -> tuple[int, int, int, int]:
    """The box around components ``labels``: left, top, right, bottom (exclusive)."""
    boxes = stats[labels, :4].astype(int)
    return (
        int(boxes[:, 0].min()),
        int(boxes[:, 1].min()),
        int((boxes[:, 0] + boxes[:, 2]).max()),
        int((boxes[:, 1] + boxes[:, 3]).max()),
    )


def _mostly_within(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    """Whether more than half of box ``inner``'s area lies within box ``outer``."""
    across = max(0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    down = max(0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    return 2 * across * down > (inner[2] - inner[0]) * (inner[3] - inner[1])


def _within(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    """Whether box ``inner`` lies within box ``outer``."""
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _halves(layer: Layer, labels: np.ndarray, stats: np.ndarray, marks: list[int]) -> list[Candidate]:
    """The components ``marks`` cut in two at their thinnest column within their middle half (where
    two touching digits meet, or between two printed characters), each half as a candidate; [] if a
    half holds no ink."""
    left, top, right, bottom = _box(stats, marks)
    width, height = right - left, bottom - top
    keep = np.isin(labels[top : top + height, left : left + width], marks)
    columns = keep.sum(axis=0)
    start = width // 4
    cut = start + int(np.argmin(columns[start : max(start + 1, 3 * width // 4)]))
    first = np.zeros_like(keep)
    first[:, :cut] = keep[:, :cut]
    split = _two_parts(labels.shape, (left, top), first, keep & ~first, stats.dtype)
    if split is None:
        return []
    parts, part_stats = split
    halves = [crop(layer.ink, parts, part_stats, [part], f"{layer.name}, half of the mark", MARK) for part in (1, 2)]
    found = [half for half in halves if half is not None]
    return found if len(found) == 2 else []


def _two_parts(
    shape: tuple[int, ...], corner: tuple[int, int], first: np.ndarray, second: np.ndarray, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray] | None:
    """A page of ``shape`` labelled 1 where ``first`` is (a box of ink whose top left is at ``corner``)
    and 2 where ``second`` is, with the two parts' boxes as stats; None if a part holds no ink."""
    left, top = corner
    parts = np.zeros(shape, np.int32)
    window = parts[top : top + first.shape[0], left : left + first.shape[1]]
    window[first] = 1
    window[second] = 2
    part_stats = np.zeros((3, 5), dtype=dtype)
    for part, ink in ((1, first), (2, second)):
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        if rows.size == 0:
            return None
        part_stats[part, :4] = left + cols[0], top + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
        part_stats[part, 4] = int(ink.sum())
    return parts, part_stats


def propose(gray: np.ndarray, darkest: np.ndarray | None = None) -> tuple[list[Candidate], SecondLook]:
    """Candidate digits in a grayscale page (float in [0, 1]), the page's likelier polarity first ([]
    if there is no ink), and what a second look at the page needs. ``darkest``: the page's darkest
    channel (model/decode.py), for ink that luma hardly shows."""
    dark, light = flatten_page(gray), flatten_page(1.0 - gray)
    layers = [Layer("dark ink", dark, *ink_masks(dark), tier=0), Layer("light ink", light, *ink_masks(light), tier=1)]
    # Paper is usually most of a page: a dark page is likelier chalk or white-on-black than paper.
    if float(np.median(gray)) < 0.5:
        layers = [replace(layers[1], tier=0), replace(layers[0], tier=1)]
    proposed: list[Candidate] = []
    marks: list[Candidate] = []
    loops: list[Loop] = []
    for layer in layers:
        lines = straight_lines(layer.mask)
        # Straight lines are structure by what they are, so the reading without them comes first; the
        # reading with them follows (a 1 is a straight stroke too), and both are default readings.
        first = gathered(layer.mask if lines is None else layer.mask & (1 - lines))
        whole = first if lines is None else gathered(layer.mask)
        if lines is not None:
            proposed += from_mask(layer, first, f"{layer.name}, lines removed")
        proposed += from_mask(layer, whole, layer.name)
        if layer.tier == 0:  # a ring or a box is drawn in the page's ink; the other layer's holes are that ink
            # A surface's pattern is what most of the page is made of: in its likelier polarity. A default
            # reading, as the one without straight lines is: chalk left on a wall is seldom near-certain
            # to the model, as an alternative must be (docs/accuracy.md).
            no_pattern = without_pattern(first, layer.mask.shape)
            proposed += from_mask(layer, no_pattern, f"{layer.name}, a pattern removed")
            loops = loops_inside(layer, whole)
            proposed += inside_loops(layer, loops[:FIRST_LOOPS])
            proposed += darker_ink(layer)
            marks = without_each_mark(layer, first) + beside_a_gap(layer, first) + next_object(layer, whole)
            marks += above_a_line(layer, first) + among_smaller(layer, first)
    unique = {candidate.box: candidate for candidate in reversed(proposed)}  # the first of equal boxes
    readings = [candidate for candidate in proposed if unique[candidate.box] is candidate][:MAX_CANDIDATES]
    # A table holds more cells than a form's box or a ring, and a printed word in a cell has more ink
    # than the digit: more of its cells follow, so that the model, not their order, chooses.
    more = inside_loops(layers[0], loops[FIRST_LOOPS:][:MORE_LOOPS])  # layers[0] is the likelier polarity
    # The marks' candidates keep their order (each reading, then its mark): verify.py reads them in fours.
    pale = pale_ink(darkest, gray, dark) if darkest is not None else []
    found = readings + marks + [candidate for candidate in more if candidate.box not in unique] + pale
    return found, SecondLook(np.round(layers[0].ink * 255).astype(np.uint8), layers[0].name)


def pale_ink(darkest: np.ndarray, gray: np.ndarray, luma_ink: np.ndarray) -> list[Candidate]:
    """The digit gathered from the darkest channel's dark ink (PALE), where luma holds no ink under
    its strokes (their mean darkness in ``luma_ink``, the flattened luma, is under MIN_CONTRAST): a
    yellow highlighter's or gel pen's digit on white paper. Ink that luma shows is read already; a
    second look at it would only make a picture or a symbol more often digit-like. Looked for only
    where the darkest channel is darker than luma by MIN_CONTRAST of the paper in more than a speck:
    the page's colours hide no ink from luma otherwise (a pen's blue or black ink is dark in both)."""
    paper = float(np.median(gray[::4, ::4]))
    if np.count_nonzero(gray - darkest >= MIN_CONTRAST * paper) < speck_area(gray.shape):
        return []
    ink = flatten_page(darkest)
    layer = Layer("pale ink", ink, *ink_masks(ink), tier=PALE)
    found = gathered(layer.mask)
    if not found.digit or float(luma_ink[np.isin(found.labels, found.digit)].mean()) >= MIN_CONTRAST:
        return []
    return from_mask(layer, found, layer.name)


@dataclass(frozen=True)
class SecondLook:
    """A page's likelier polarity's ink (8 bits: a quarter of its floats' memory, kept while a batch
    is read) and its name: what the stable regions are found in, where the first look found no digit."""

    ink: np.ndarray  # 8-bit
    name: str

    def candidates(self) -> list[Candidate]:
        return stable_regions(self.ink, self.name)


def stable_regions(ink8: np.ndarray, name: str) -> list[Candidate]:
    """Up to MAX_STABLE of the ink's maximally stable extremal regions (OpenCV's MSER) that stand
    alone (tier STABLE), among its MAX_REGIONS largest distinct ones, each read as a digit. On granite
    or an embossed towel the surface's grains touch the digit at every level of ink that shows it, or
    are as dark as its faint strokes, so no one mask gathers the digit alone; but as the level rises
    the digit's region keeps its shape while the grains shrink away, which is what MSER finds. A
    region stands alone where no other ink at its level is half its size or more (a number's other
    digits) and no more ink lies near it than the page's ink elsewhere makes likely (a drawing's
    other strokes cluster around its largest). Only looked for where the first look found no digit
    (model/verify.py): a second look at a page. ``ink8``: the flattened ink in 8-bit levels."""
    levels = 255 - ink8  # MSER's regions are darker than around them
    ink = ink8.astype(np.float32) / 255
    height, width = levels.shape
    if min(height, width) < 3:  # OpenCV's MSER reads no image smaller than 3 x 3
        return []
    least = max(30, round(REGION_AREA * height * width))
    regions, boxes = cv2.MSER_create(5, least, height * width // 4).detectRegions(levels)
    kept: list[tuple[int, int, int, int]] = []
    found: list[Candidate] = []
    for index in sorted(range(len(regions)), key=lambda k: -len(regions[k])):
        points, box = regions[index], tuple(int(v) for v in boxes[index])
        if _touches_border(box, levels.shape) or any(_overlap(box, other) > SAME_REGION for other in kept):
            continue
        if float(ink[points[:, 1], points[:, 0]].mean()) < MIN_CONTRAST:  # paper between strokes
            continue
        kept.append(box)
        if _stands_alone(levels, points, box):
            labels = np.zeros(levels.shape, np.int32)
            labels[points[:, 1], points[:, 0]] = 1
            stats = np.array([[0, 0, width, height, 0], [*box, len(points)]], np.int32)
            candidate = crop(ink, labels, stats, [1], f"{name}, a stable region", STABLE)
            if candidate is not None:
                found.append(replace(candidate, whole=False))
        if len(kept) == MAX_REGIONS or len(found) == MAX_STABLE:
            break
    return found


def _stands_alone(levels: np.ndarray, points: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the region of ``points`` (its ``box``: left, top, width, height) is the ink's own
    component at its level, no other component there is 1 / NUMBER_SIZES of its size or more, and
    the components near it (within the gathering's reach) are no more than their number elsewhere on
    the page makes likely, NOISE_SIGMAS deviations above it (a Poisson count's)."""
    height, width = levels.shape
    at_level = (levels <= int(levels[points[:, 1], points[:, 0]].max())).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(at_level, connectivity=8)
    own = int(labels[points[0, 1], points[0, 0]])
    if abs(int(stats[own, cv2.CC_STAT_AREA]) - len(points)) > 0.05 * len(points):
        return False  # MSER's bright regions: the paper inside a loop, not ink
    left, top, w, h = box
    side = max(w, h)
    others = np.ones(len(stats), bool)
    others[[0, own]] = False
    big = others & (stats[:, cv2.CC_STAT_AREA] >= speck_area((height, width)))
    if (NUMBER_SIZES * np.maximum(stats[big, cv2.CC_STAT_WIDTH], stats[big, cv2.CC_STAT_HEIGHT]) >= side).any():
        return False
    reach = PART_GAP * side
    x0, y0 = max(0.0, left - reach), max(0.0, top - reach)
    x1, y1 = min(float(width), left + w + reach), min(float(height), top + h + reach)
    centre_x = stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH] / 2
    centre_y = stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT] / 2
    near = int((others & (centre_x >= x0) & (centre_x < x1) & (centre_y >= y0) & (centre_y < y1)).sum())
    far = int(others.sum()) - near
    expected = far * ((x1 - x0) * (y1 - y0) - w * h) / max(height * width - (x1 - x0) * (y1 - y0), 1)
    return near <= expected + NOISE_SIGMAS * math.sqrt(expected)


def _touches_border(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> bool:
    """Whether a box (left, top, width, height) on a page of ``shape`` touches its edge."""
    left, top, w, h = box
    right, bottom = shape[1] - BORDER_MARGIN, shape[0] - BORDER_MARGIN
    return left < BORDER_MARGIN or top < BORDER_MARGIN or left + w > right or top + h > bottom


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes (left, top, width, height)."""
    across = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    down = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    shared = across * down
    return shared / max(a[2] * a[3] + b[2] * b[3] - shared, 1)
