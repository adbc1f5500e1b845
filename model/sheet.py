"""The sheet a digit is written on, where it lies on a darker desk, cloth or board.

A phone photo of a card, a tag or a sticky note often holds more desk than paper. The page's
brightness then calls the desk the paper and the sheet the ink (model/candidates.py tries the
likelier polarity first), and the sheet's edges against the desk are straight strokes beside the
digit. A document scanner finds the page before it reads it; so does this stage, between grayscale
and candidates. The page's largest bright region (Otsu's threshold) is the sheet if it is one by
what it is: one object (no other bright region half its size), mostly paper once its holes are
filled, something written in those holes, a rectangle (more of one than an ellipse is), and the
desk showing all round it. The candidates are then proposed on the sheet alone, the desk around it
painted over with the sheet's own paper, so that the page's likelier polarity is the sheet's.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Offset = tuple[int, int]  # left, top of the sheet's box in the page


def on_the_sheet(gray: np.ndarray) -> tuple[np.ndarray, Offset]:
    """The page cut to the sheet written on (the desk around it painted as its paper), and the
    sheet's box's left and top in the page; the page itself, at (0, 0), where no sheet is found."""
    # Looked for on every page: a board or a desk may be as light as mid-grey (a cork board), and
    # where paper is most of the page its bright region reaches the frame, which no sheet does.
    found = _sheet(gray)
    if found is None:
        return gray, (0, 0)
    sheet, paper, (left, top) = found
    # Off the sheet's own edge (its shadow, the antialiased rim), as model/candidates.py looks
    # inside a loop.
    inside = cv2.erode(sheet, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    height, width = sheet.shape
    cut = np.where(inside > 0, gray[top : top + height, left : left + width], paper).astype(gray.dtype)
    return cut, (left, top)


def _sheet(gray: np.ndarray) -> tuple[np.ndarray, float, Offset] | None:
    """The sheet's region in its box, its holes filled (uint8 0/1), its paper's level and its box's
    left and top; None where the largest bright component is no sheet."""
    levels = np.round(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)
    _, bright = cv2.threshold(levels, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    largest = 1 + int(np.argmax(areas))
    left, top, width, height, covered = (int(v) for v in stats[largest])
    # A sheet is one object: where another bright region is half its size or more, the largest is
    # one of many (a square of graph paper, a tile), not a sheet on a desk.
    if int((areas * 2 >= covered).sum()) > 1:
        return None
    # A sheet lying on a desk shows the desk all round it; a bright region cut by the frame may be a
    # pool of lamplight or a smudge as well as a sheet, and its outline is the frame's there.
    if left == 0 or top == 0 or left + width == gray.shape[1] or top + height == gray.shape[0]:
        return None
    component = (labels[top : top + height, left : left + width] == largest).astype(np.uint8)
    contours, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sheet = np.zeros_like(component)
    cv2.drawContours(sheet, contours, -1, 1, thickness=-1)
    area = int(sheet.sum())
    if 2 * covered <= area or covered == area:  # mostly not paper, or nothing written on it
        return None
    # Cards, tags and notes are rectangles, their corners cut or curled at most: a sheet fills more of
    # its least rectangle than an ellipse does of its own (pi / 4), and a digit's outline (a 0 in a
    # light pen on black paper) no more than that.
    (_, _), (long, short), _ = cv2.minAreaRect(max(contours, key=cv2.contourArea))
    if area <= math.pi / 4 * long * short:
        return None
    return sheet, float(np.median(gray[top : top + height, left : left + width][component > 0])), (left, top)
