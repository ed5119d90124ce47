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

Cost (the detector runs once per window; BlazeFace takes one image per call, ~8 ms of CPU each, and
batching its model gains nothing on CPU): :class:`TiledDetector` skips *flat* windows, whose pixels
span fewer than ``flat_range`` grey levels in every channel (:func:`flat_windows`; no face of such a
contrast can be found: on the shared annotated photos with their contrast compressed to a range of
12 grey levels neither BlazeFace nor dlib's HOG found any of the 18 faces, at 16 they found 1 and
2), and spreads the windows over ``workers`` threads, each with its own copy of the detector
(mediapipe and dlib release the GIL while they compute).
"""
from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

import numpy as np

from .detectors import (PRIVACY_DETECTORS, BaseDetector, Detections, _check_frame, build_detector,
                        merge_overlapping)

__all__ = ['axis_starts', 'tile_windows', 'pyramid_windows', 'flat_windows', 'TiledDetector']


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


def flat_windows(frame: np.ndarray, windows: Sequence[Sequence[int]], flat_range: int,
                 block: int = 8) -> np.ndarray:
    """``(N,)`` bool: windows whose pixels span fewer than ``flat_range`` levels in every channel.

    The range is taken over the ``block`` x ``block`` blocks the window touches (a superset of the
    window: it can only be larger than the window's own, so a window is never wrongly called flat).
    ``frame`` (H, W, C) uint8; windows ``(x1, y1, x2, y2)`` in pixels.
    """
    h, w = frame.shape[:2]
    hb, wb = -(-h // block), -(-w // block)
    f = frame
    if (hb * block, wb * block) != (h, w):  # edge-pad to whole blocks (edges repeat: same range)
        f = np.pad(frame, ((0, hb * block - h), (0, wb * block - w), (0, 0)), mode='edge')
    f = f.reshape(hb, block, wb, block, -1)
    lo, hi = f.min(axis=(1, 3)), f.max(axis=(1, 3))  # (hb, wb, C)
    out = np.zeros(len(windows), bool)
    for i, (x1, y1, x2, y2) in enumerate(windows):
        bx1, by1 = x1 // block, y1 // block
        bx2, by2 = -(-x2 // block), -(-y2 // block)
        rng = hi[by1:by2, bx1:bx2].max(axis=(0, 1)).astype(np.int16) - \
            lo[by1:by2, bx1:bx2].min(axis=(0, 1))
        out[i] = bool(rng.max() < flat_range)
    return out


@PRIVACY_DETECTORS.register_module()
class TiledDetector(BaseDetector):
    """Run a box detector on the whole frame and on the tiles of :func:`pyramid_windows`; merge.

    Args:
        detector: the wrapped detector (config or object), called on each window's pixels.
        min_face: smallest face side (px) to find. rel_min, factor: see :func:`pyramid_windows`.
        merge_iou: boxes of different windows overlapping more than this are fused (union box,
            larger score).
        flat_range: windows spanning fewer grey levels than this in every channel are skipped
            (see the module docstring; 0: run on every window).
        workers: threads over which the windows are spread, each with its own copy of the
            detector (1: the calling thread only).

    After each call, ``last_windows`` and ``last_skipped`` count the windows of the frame and the
    flat ones skipped.
    """

    def __init__(self, detector, min_face: float = 16, rel_min: float = 0.08, factor: float = 2.0,
                 merge_iou: float = 0.3, flat_range: int = 0, workers: int = 1):
        self.detector = build_detector(detector)
        self.min_face, self.rel_min, self.factor = float(min_face), float(rel_min), float(factor)
        self.merge_iou = float(merge_iou)
        self.flat_range, self.workers = int(flat_range), int(workers)
        if self.flat_range < 0 or self.workers < 1:
            raise ValueError(f'need flat_range >= 0 and workers >= 1, got flat_range='
                             f'{flat_range}, workers={workers}')
        # one detector per worker thread (native models are not shared between threads; a copy
        # builds its own model on first use)
        self._copies = [self.detector] + [copy.deepcopy(self.detector)
                                          for _ in range(self.workers - 1)]
        self.last_windows = self.last_skipped = 0
        pyramid_windows(64, 64, self.min_face, self.rel_min, self.factor)  # validate arguments

    def reset(self, video_path: Optional[str] = None) -> None:
        for d in self._copies:
            if hasattr(d, 'reset'):
                d.reset(video_path)

    def smallest_face(self, shape: Sequence[int]) -> float:
        return self.min_face

    def windows(self, shape: Sequence[int]) -> list[tuple[int, int, int, int]]:
        return pyramid_windows(shape[0], shape[1], self.min_face, self.rel_min, self.factor)

    def _run(self, detector, frame: np.ndarray, windows) -> list:
        """``[(boxes (n, 4) in frame coordinates, scores (n,)), ...]``, one per window."""
        out = []
        for x1, y1, x2, y2 in windows:
            crop = frame if (x1, y1, x2, y2) == (0, 0, frame.shape[1], frame.shape[0]) else \
                np.ascontiguousarray(frame[y1:y2, x1:x2])
            d = detector(crop).validated(crop.shape)
            out.append((d.boxes + np.array([x1, y1, x1, y1], np.float32), d.scores))
        return out

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        windows = self.windows(frame.shape)
        self.last_windows = len(windows)
        if self.flat_range:
            flat = flat_windows(frame, windows, self.flat_range)
            windows = [win for win, f in zip(windows, flat) if not f]
        self.last_skipped = self.last_windows - len(windows)
        n = min(self.workers, len(windows))
        if n <= 1:
            per_window = self._run(self.detector, frame, windows)
        else:  # interleaved shares (each thread gets windows of every level), then window order
            with ThreadPoolExecutor(n) as ex:
                parts = list(ex.map(lambda k: self._run(self._copies[k], frame, windows[k::n]),
                                    range(n)))
            per_window = [None] * len(windows)
            for k, part in enumerate(parts):
                per_window[k::n] = part
        boxes = [b for b, _ in per_window if len(b)]
        scores = [s for b, s in per_window if len(b)]
        if not boxes:
            return Detections.empty()
        b, s = merge_overlapping(np.concatenate(boxes), np.concatenate(scores), self.merge_iou)
        return Detections(b, s)
