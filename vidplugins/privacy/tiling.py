"""Tiled / pyramid detection: every face of at least ``min_face`` pixels reaches the detector at a
size it handles (issue 15, item 1).

A detector with a fixed input (BlazeFace: 128 or 192 px) resizes the whole frame to that input, so a
70 px face in a 1920 px frame becomes 7 px to it and is missed. The rule used here:

- the detector finds a face whose side is at least ``rel_min`` times the longer side of the window
  it is given (measured for each model on real annotated faces, see :data:`REL_MIN`);
- level 0 is the whole frame (window side ``S = max(H, W)``): faces ``>= rel_min * S``;
- the finest tile level has square tiles of side ``T_K = ceil(min_face / rel_min)`` (never larger
  than the frame), so a ``min_face`` face is ``rel_min`` of its tile; the coarser levels have sides
  ``T_{k-1} = factor * T_k`` until a side reaches ``S`` (that level is the whole frame);
- tiles of a level overlap by ``ceil(factor * rel_min * T_k)`` pixels, the largest face that level
  is responsible for (faces larger than that are ``>= rel_min`` of the next coarser window), so every
  face lies wholly inside at least one tile of the level that has to find it.

Detections of all windows are shifted back to frame coordinates and merged (overlapping boxes of
one face are fused into their union, :func:`~.detectors.merge_overlapping`).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from .detectors import (PRIVACY_DETECTORS, BaseDetector, Detections, _check_frame, build_detector,
                        merge_overlapping)

__all__ = ['axis_starts', 'tile_windows', 'pyramid_windows', 'TiledDetector']


def axis_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with consecutive tiles
    overlapping by at least ``overlap`` (the last tile ends at ``length``)."""
    length, tile, overlap = int(length), int(tile), int(overlap)
    if tile >= length:
        return [0]
    stride = max(1, tile - overlap)
    n = math.ceil((length - tile) / stride) + 1
    # spread the n tiles evenly: the overlaps only grow, never shrink below ``overlap``
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


def tile_windows(h: int, w: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Square tiles of side ``tile`` (clipped to the frame) covering an ``h x w`` frame, with
    ``overlap`` pixels between neighbours: ``[(x1, y1, x2, y2), ...]``."""
    return [(x, y, min(w, x + tile), min(h, y + tile))
            for y in axis_starts(h, tile, overlap) for x in axis_starts(w, tile, overlap)]


def pyramid_windows(h: int, w: int, min_face: float = 16, rel_min: float = 0.08,
                    factor: float = 2.0) -> list[tuple[int, int, int, int]]:
    """All windows of the rule in the module docstring, whole frame first.

    Args:
        h, w: frame size. min_face: the smallest face side (px) that must be found.
        rel_min: the detector's smallest face as a fraction of its window's longer side.
        factor: ratio of the tile sides of two consecutive levels (> 1).

    Returns:
        ``[(x1, y1, x2, y2), ...]``, integer pixel windows.
    """
    if not (0 < rel_min < 1 and factor > 1 and min_face > 0):
        raise ValueError(f'need 0 < rel_min < 1, factor > 1, min_face > 0; got rel_min={rel_min}, '
                         f'factor={factor}, min_face={min_face}')
    S = max(h, w)
    windows = [(0, 0, int(w), int(h))]
    side = math.ceil(min_face / rel_min)
    while side < S and rel_min * S > min_face:
        overlap = min(side - 1, math.ceil(factor * rel_min * side))
        windows += tile_windows(h, w, side, overlap)
        side = math.ceil(side * factor)
    return windows


@PRIVACY_DETECTORS.register_module()
class TiledDetector(BaseDetector):
    """Run a box detector on the whole frame and on the tiles of :func:`pyramid_windows`; merge.

    Args:
        detector: the wrapped detector (config or object), called on each window's pixels.
        min_face: smallest face side (px) to find. rel_min, factor: see :func:`pyramid_windows`.
        merge_iou: boxes of different windows overlapping more than this are fused (union box,
            larger score).
    """

    def __init__(self, detector, min_face: float = 16, rel_min: float = 0.08, factor: float = 2.0,
                 merge_iou: float = 0.3):
        self.detector = build_detector(detector)
        self.min_face, self.rel_min, self.factor = float(min_face), float(rel_min), float(factor)
        self.merge_iou = float(merge_iou)
        pyramid_windows(64, 64, self.min_face, self.rel_min, self.factor)  # validate arguments

    def reset(self, video_path: Optional[str] = None) -> None:
        if hasattr(self.detector, 'reset'):
            self.detector.reset(video_path)

    def smallest_face(self, shape: Sequence[int]) -> float:
        return self.min_face

    def windows(self, shape: Sequence[int]) -> list[tuple[int, int, int, int]]:
        return pyramid_windows(shape[0], shape[1], self.min_face, self.rel_min, self.factor)

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        boxes, scores = [], []
        for x1, y1, x2, y2 in self.windows(frame.shape):
            crop = frame if (x1, y1, x2, y2) == (0, 0, frame.shape[1], frame.shape[0]) else \
                np.ascontiguousarray(frame[y1:y2, x1:x2])
            d = self.detector(crop).validated(crop.shape)
            if len(d):
                boxes.append(d.boxes + np.array([x1, y1, x1, y1], np.float32))
                scores.append(d.scores)
        if not boxes:
            return Detections.empty()
        b, s = merge_overlapping(np.concatenate(boxes), np.concatenate(scores), self.merge_iou)
        return Detections(b, s)
