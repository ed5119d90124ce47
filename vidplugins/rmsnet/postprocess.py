"""From window scores to spotted events and the official ``results_spotting.json`` (Sec. 4.2.2, 4.3)."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

from vidplugins.utils.io import dump_json_atomic

from vidplugins.soccernet import format_game_time


#: How a window's scores become spots: the thesis's rule (Sec. 4.2.2, the default) or one
#: candidate per foreground class.
SPOT_RULES = ('clip_class', 'per_class')


def windows_to_spots(starts: np.ndarray, scores: np.ndarray, offsets: np.ndarray,
                     window_size: int, length: int, min_score: float = 0.0,
                     rule: str = 'clip_class'):
    """Spots of sliding windows, each at ``s + offset * T`` (Sec. 4.2.2).

    ``rule='clip_class'`` (the thesis, Sec. 4.2.2): a window predicts *the clip class*, the
    arg-max of its C + 1 scores, with that score as confidence; a window whose arg-max is
    background gives no spot. ``rule='per_class'``: one candidate per foreground class and window,
    with that class's score (more candidates, so a higher recall at low thresholds: a product
    choice, not the thesis's).

    Args:
        starts: (W,) window starts (frames). scores: (W, C + 1) class probabilities, background
            last. offsets: (W,) predicted relative offsets in [0, 1].
        window_size: T. length: frames in the half (spots are clipped to ``[0, length - 1]``).
        min_score: drop candidates below this confidence.
        rule: ``'clip_class'`` or ``'per_class'``.
    Returns:
        frames (N,) int, labels (N,) int, confidences (N,) float, with at most one spot per
        (frame, class): the most confident one.
    """
    if rule not in SPOT_RULES:
        raise ValueError(f'rule must be one of {SPOT_RULES}, got {rule!r}')
    starts = np.asarray(starts, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    num_fg = scores.shape[1] - 1
    frame = np.clip(np.rint(starts + np.asarray(offsets) * window_size), 0, length - 1)
    frame = frame.astype(np.int64)
    if rule == 'clip_class':
        best = scores.argmax(axis=1)              # first maximum on ties, as np.argmax
        fg = best < num_fg                        # background windows give no spot
        frames, labels = frame[fg], best[fg]
        conf = scores[np.flatnonzero(fg), labels]
    else:
        frames = np.repeat(frame, num_fg)
        labels = np.tile(np.arange(num_fg), len(starts))
        conf = scores[:, :num_fg].reshape(-1)
    keep = conf >= min_score
    frames, labels, conf = frames[keep], labels[keep], conf[keep]
    # Several windows may point at the same frame: keep the best (the evaluator keeps one).
    order = np.lexsort((-conf, labels, frames))
    frames, labels, conf = frames[order], labels[order], conf[order]
    first = np.ones(len(frames), dtype=bool)
    first[1:] = (frames[1:] != frames[:-1]) | (labels[1:] != labels[:-1])
    return frames[first], labels[first], conf[first]


def nms_1d(frames: np.ndarray, labels: np.ndarray, confidences: np.ndarray, window: int):
    """Temporal non-maximum suppression per class (Sec. 4.3: a 31-frame window = 15 s at 2 fps).

    Greedy in decreasing confidence: a spot is kept unless a kept spot of the same class lies
    within ``window // 2`` frames of it.

    Args: (N,) arrays as returned by ``windows_to_spots``; window: in frames.
    Returns: the kept (frames, labels, confidences), sorted by frame.
    """
    half = window // 2
    keep = np.zeros(len(frames), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[np.argsort(-confidences[idx], kind='stable')]
        kept_frames: List[int] = []
        kept = np.empty(0, dtype=np.int64)
        for i in idx:
            f = frames[i]
            if len(kept) and np.abs(kept - f).min() <= half:
                continue
            kept_frames.append(f)
            kept = np.asarray(kept_frames)
            keep[i] = True
    order = np.argsort(frames[keep], kind='stable')
    return frames[keep][order], labels[keep][order], confidences[keep][order]


def spots_to_predictions(game: str, halves: Dict[int, tuple], classes: Sequence[str],
                         fps: float = 2.0) -> dict:
    """The official prediction dict of one game.

    Args:
        game: ``league/season/game``.
        halves: ``{half: (frames, labels, confidences)}``.
        classes: label strings (``CLASSES_V1`` for v1: card / subs / soccer).
    """
    preds = []
    for half in sorted(halves):
        frames, labels, conf = halves[half]
        for f, c, p in zip(frames, labels, conf):
            position = int(round(int(f) * 1000 / fps))
            preds.append(dict(gameTime=format_game_time(half, position), label=classes[int(c)],
                              position=str(position), half=str(half),
                              confidence=str(float(p))))
    return dict(UrlLocal=game, predictions=preds)


def write_predictions(out_dir: str, game: str, predictions: dict,
                      filename: str = 'results_spotting.json') -> str:
    """Write ``<out_dir>/<game>/results_spotting.json`` atomically; returns its path."""
    path = osp.join(out_dir, game, filename)
    dump_json_atomic(predictions, path, indent=1)
    return path
