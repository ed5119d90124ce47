"""Average-mAP of SoccerNet action spotting, fast and exact (thesis Sec. 4.2.1).

This is a re-implementation of the metric of the official evaluator (pip package ``SoccerNet``
0.2.0, module ``SoccerNet.Evaluation.ActionSpotting``) that returns the same numbers (bit-identical
in practice) tens of times faster. The official code builds a dense (frames x classes) vector per
half and, for every ground-truth event, scans all predictions in Python; here everything stays
sparse and is vectorised over all halves and classes at once.

The metric, as the official evaluator defines it:

* Each half is a grid of ``120 * 60 * framerate`` frames. An event's frame is
  ``int(framerate * position_ms / 1000)`` (or ``framerate * seconds`` of its ``gameTime``), clipped
  to the last frame. A (frame, class) cell holds at most one event and one prediction: the last one
  written in the file wins. Events are +1, or -1 when ``"visibility": "not shown"``; predictions
  with a negative confidence are ignored.
* Every prediction takes the visibility of the nearest event of its class in its half ("closest";
  the boundary between two events is the floor of their midpoint). Where the class has no event in
  that half, the prediction counts as "not shown" (an upstream quirk kept on purpose).
* For a tolerance ``delta`` (seconds; ``delta * framerate`` frames), events are matched greedily
  in frame order: each takes the highest-scoring not yet matched prediction of its class and half
  within ``|frame difference| <= delta * framerate / 2``; on equal scores the earliest frame wins.
* Precision and recall at the 200 thresholds ``linspace(0, 1, 200)`` give an 11-point interpolated
  AP per class, averaged over classes (mAP); the Average-mAP is the trapezoid mean of the mAP over
  the tolerances: ``LOOSE_DELTAS`` 5..60 s or ``TIGHT_DELTAS`` 1..5 s. The "visible" variant only
  keeps predictions whose closest event is visible (recall over visible events), the "unshown" one
  the others (recall over not-shown events), and its Average-mAP is scaled by 17/13 upstream
  (13 of the 17 SoccerNet-v2 classes have not-shown events).

Greedy matching is sequential only among events whose tolerance windows share predictions. Events
are therefore cut into "chains" of overlapping windows; chains are independent, so round ``k``
matches the ``k``-th event of every chain at once with a masked arg-max over the windows
(``np.maximum.reduceat``, then the first maximum, as the official scan). Counts at every threshold
come from a per-class histogram of threshold bins and suffix sums. Floating-point steps that decide
the last bits (``TP / count``, ``nan_to_num``, ``arange(11) / 10``, sequential AP sums, ``np.mean``
over classes, the trapezoid loop) are done in the same form as upstream.

From files, reading dominates: ``json_scan`` reads the four columns of a ``results_spotting.json``
in one compiled pass; files outside its subset are parsed with orjson and read dict by dict.
"""
from __future__ import annotations

import math
import re
import os.path as osp
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Dict, List, Optional, Sequence

import numpy as np
import orjson

from .. import (CLASSES_V1, EVAL_HALF_SECONDS, LABEL_FILES, LabelFileError,
                         classes_for, find_games, parse_json, read_json, read_labels)
from . import json_scan

__all__ = [
    'LOOSE_DELTAS', 'TIGHT_DELTAS', 'METRIC_DELTAS', 'NUM_THRESHOLDS', 'SpotArrays',
    'frames_per_half', 'load_ground_truth', 'load_predictions', 'average_map', 'evaluate_folders'
]

#: Tolerances (seconds) of the "loose" Average-mAP (SoccerNet-v1/v2 benchmark): 5, 10, ..., 60.
LOOSE_DELTAS = tuple(range(5, 65, 5))
#: Tolerances (seconds) of the "tight" Average-mAP (SoccerNet 2022+ challenges): 1, 2, ..., 5.
TIGHT_DELTAS = (1, 2, 3, 4, 5)
METRIC_DELTAS = {'loose': LOOSE_DELTAS, 'tight': TIGHT_DELTAS}
#: Confidence thresholds of the precision/recall curves: ``linspace(0, 1, NUM_THRESHOLDS)``.
NUM_THRESHOLDS = 200
#: Upstream scales the Average-mAP of the "unshown" variant by 17/13 whatever the class count.
_UNSHOWN_SCALE = (17, 13)


@dataclass(frozen=True)
class SpotArrays:
    """Sparse events or predictions of one half, at most one per (frame, label) cell.

    Attributes:
        frames: (K,) int64, frame index in ``[0, frames_per_half(framerate))``.
        labels: (K,) int64, class index.
        values: (K,) float64: for ground truth +1 (visible) or -1 ("not shown"); for predictions
            the confidence.
    """
    frames: np.ndarray
    labels: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def empty(cls) -> 'SpotArrays':
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    @classmethod
    def from_entries(cls, frames, labels, values, num_frames: int) -> 'SpotArrays':
        """Build from (possibly repeated) entries in file order, like upstream fills its grid.

        Frames past the half are clipped to ``num_frames - 1``; of several entries for one
        (frame, label) cell the last one is kept. The result is sorted by (label, frame).
        """
        frames = np.minimum(np.asarray(frames, np.int64), num_frames - 1)
        labels = np.asarray(labels, np.int64)
        values = np.asarray(values, np.float64)
        cell = labels * num_frames + frames
        # np.unique on the reversed cells returns each cell's first reversed = last written entry.
        _, first_reversed = np.unique(cell[::-1], return_index=True)
        keep = len(cell) - 1 - first_reversed
        return cls(frames[keep], labels[keep], values[keep])


def frames_per_half(framerate: int) -> int:
    """Length of upstream's dense per-half grid: 2 hours at ``framerate``."""
    if isinstance(framerate, bool) or not isinstance(framerate, (int, np.integer)) or framerate < 1:
        raise ValueError(f'framerate must be a positive integer, got {framerate!r}')
    return EVAL_HALF_SECONDS * int(framerate)


# --------------------------------------------------------------------------- file loading


_HALF_SPELLINGS = {'1': 1, '2': 2, 1: 1, 2: 2}


def _label_index(version: int) -> Dict[str, int]:
    """Exact label -> class map of prediction files (and of v2 label files)."""
    return {name: i for i, name in enumerate(classes_for(version))}


def load_ground_truth(path: str, version: int, framerate: int = 2) -> List[SpotArrays]:
    """Events of a ``Labels.json`` (v1) / ``Labels-v2.json`` (v2) file, per half.

    Follows upstream's ``label2vector``: v1 labels map by substring (``card``/``subs``/``soccer``),
    v2 labels by exact name; other labels are ignored. Raises ``LabelFileError`` naming the file
    and the field for malformed content (bad JSON, no ``annotations``, bad ``gameTime`` or
    ``position``, negative position, half other than 1 or 2: upstream would silently drop or
    misplace those events).

    Returns:
        ``[half1, half2]``, each a ``SpotArrays`` with values +1 / -1.
    """
    num_frames = frames_per_half(framerate)
    if version == 2:
        data = read_json(path)
        columns = _ground_truth_columns_fast(data, framerate)
        if columns is not None:
            half, frame, label, value = columns
            frame = np.minimum(frame, num_frames - 1)
            return [SpotArrays.from_entries(frame[half == h], label[half == h], value[half == h],
                                            num_frames) for h in (1, 2)]
    # Anything unusual (and v1's substring labels): the per-annotation parser, which names the
    # file and field of malformed content.
    events = read_labels(path, version, framerate, unknown='skip')
    rows = [(e.half, min(e.frame, num_frames - 1), e.label, 1.0 if e.visible else -1.0)
            for e in events]
    return _split_halves(rows, num_frames)


#: The canonical ``gameTime`` spelling; others go through ``read_labels``'s own parsing.
_GAME_TIME = re.compile(r'[12] - [0-9]{2,}:[0-9]{2}')


def _ground_truth_columns_fast(data, framerate: int):
    """(half, frame, label, value) of the known-label events of a regular v2 label file.

    The vectorised equivalent of ``read_labels(..., unknown='skip')`` for files whose every
    annotation is a dict with a canonical ``gameTime``, a string ``label`` and a non-negative
    integer ``position`` (number or string); returns None otherwise (the caller then parses
    annotation by annotation, with the same results and error messages).
    """
    try:
        annotations = data['annotations']
        game_times = list(map(_get_game_time, annotations))
        names = list(map(_get_label, annotations))
        positions = list(map(_get_position, annotations))
        if set(map(type, names)) - {str} or set(map(type, game_times)) - {str} \
                or not all(map(_GAME_TIME.fullmatch, game_times)):
            return None
        position = _numeric_strings(positions, integer=True)
        if position is None or (len(position) and position.min() < 0):
            return None
        visible = np.array([a.get('visibility', 'visible') != 'not shown' for a in annotations],
                           bool)
    except (KeyError, TypeError, AttributeError):
        return None
    index = _label_index(2)
    label = np.array(list(map(index.get, names, repeat(-1))), np.int64)
    half = np.array(list(map(_first_char_int, game_times)), np.int64)
    # Same float steps as ``event_frame``: int(fps * (position_ms / 1000)).
    frame = (float(framerate) * (position / 1000)).astype(np.int64)
    keep = label >= 0
    return half[keep], frame[keep], label[keep], np.where(visible, 1.0, -1.0)[keep]


def _first_char_int(text: str) -> int:
    return ord(text[0]) - 48


def _split_halves(rows, num_frames: int) -> List[SpotArrays]:
    """(half, frame, label, value) rows in file order -> ``[half1, half2]`` SpotArrays."""
    table = np.asarray(rows, np.float64).reshape(-1, 4)
    halves = table[:, 0].astype(np.int64)
    return [SpotArrays.from_entries(table[halves == h, 1].astype(np.int64),
                                    table[halves == h, 2].astype(np.int64),
                                    table[halves == h, 3], num_frames) for h in (1, 2)]


def load_predictions(path: str, version: int, framerate: int = 2,
                     skipped: Optional[Dict[str, int]] = None) -> List[SpotArrays]:
    """Predictions of a ``results_spotting.json`` file, per half.

    Follows upstream's ``predictions2vector``: frame ``int(framerate * position / 1000)`` clipped
    to the half; labels must match a class name exactly (v2: other labels are ignored; v1: upstream
    fails on them, so this raises); halves other than 1 and 2 are ignored; the last prediction of a
    (frame, label) cell wins; then negative (and NaN) confidences are dropped. ``position``,
    ``half`` and ``confidence`` may be numbers or numeric strings (a null confidence counts as
    NaN, as upstream stores it). Raises ``LabelFileError`` naming the file, entry and field for
    malformed content, including a negative position (upstream would index its grid from the end).

    ``skipped``, when given, counts what is ignored: ``skipped['unknown half']`` += the entries of
    a known label whose half is neither 1 nor 2 (upstream drops them without a word).

    Returns:
        ``[half1, half2]``, each a ``SpotArrays`` whose values are the confidences.
    """
    num_frames = frames_per_half(framerate)
    with open(path, 'rb') as f:
        raw = f.read()
    columns = _scanned_columns(raw, version)
    if columns is None:  # outside the compiled reader's subset: parse, then read the dicts
        data = parse_json(raw, path)
        if not isinstance(data, dict) or not isinstance(data.get('predictions'), list):
            raise LabelFileError(f'{path}: missing "predictions" list')
        items = data['predictions']
        index = _label_index(version)
        columns = _prediction_columns_fast(items, index, version)
        if columns is None:  # something unusual: the per-entry path finds and names it
            columns = _prediction_columns_checked(items, path, index, version)
        if skipped is not None:  # the compiled reader only takes files of halves 1 and 2
            n = _count_unknown_half(items, index)
            if n:
                skipped['unknown half'] = skipped.get('unknown half', 0) + n
    entry, half, position, label, score = columns
    if len(position) and position.min() < 0:
        bad = int(entry[np.argmax(position < 0)])
        raise LabelFileError(f'{path} predictions[{bad}]: negative position '
                             f'{items[bad]["position"]!r}')
    # Same float steps as upstream: int(framerate * (position / 1000)).
    frame = (framerate * (position / 1000)).astype(np.int64)
    result = []
    for h in (1, 2):
        sel = half == h
        spots = SpotArrays.from_entries(frame[sel], label[sel], score[sel], num_frames)
        keep = spots.values >= 0  # upstream's `detection >= 0`; also drops NaN
        result.append(SpotArrays(spots.frames[keep], spots.labels[keep], spots.values[keep]))
    return result


def _count_unknown_half(items, index: Dict[str, int]) -> int:
    """Entries of a known label and a half other than 1 / 2 (well-formed entries, as the column
    readers have checked)."""
    return sum(1 for a in items
               if isinstance(a.get('label'), str) and a['label'] in index
               and int(a['half']) not in (1, 2))


def _scanned_columns(raw: bytes, version: int):
    """``_prediction_columns_fast``'s columns read by the compiled scanner, or None.

    None when the scanner does not take the file (``json_scan``'s subset) or when the
    confidences do not parse as ``_numeric_strings`` would parse them.
    """
    scanned = json_scan.scan_predictions(raw, classes_for(version), strict_labels=version == 1)
    if scanned is None:
        return None
    label, half, position, confidence_text = scanned
    keep = np.flatnonzero(label >= 0)
    score = _numeric_array(confidence_text, len(keep), integer=False)
    if score is None:
        return None
    return keep, half[keep], position[keep], label[keep], score


def _numeric_array(text, count: int, integer: bool):
    """The numbers of the JSON array ``text`` as int64 / float64, or None if it is not exactly
    ``count`` plain numbers of that kind (see ``_numeric_strings``)."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if len(parsed) != count:
        return None
    try:
        array = np.array(parsed)
    except ValueError:  # ragged nesting
        return None
    if array.ndim != 1 or (count and array.dtype.kind not in ('i' if integer else 'if')):
        return None
    return array.astype(np.int64 if integer else np.float64)


def _numeric_strings(values: list, integer: bool):
    """Numbers written as JSON strings (``"position": "1234"``), parsed in one C call.

    Joins the values (strings, or numbers, which ``str`` writes back exactly) into one JSON array
    for orjson, whose number parsing is correctly rounded like ``float()`` / ``int()``. Returns
    None whenever that could differ from the per-value Python conversion (a spelling JSON
    refuses such as ``"+1"``, ``".5"``, ``"nan"``, ``True`` or ``None``, a string holding
    several numbers, a float where an int is due), so that the caller converts value by value.
    """
    try:
        text = '[' + ','.join(map(str, values)) + ']'
    except TypeError:
        return None
    return _numeric_array(text, len(values), integer)


def _prediction_columns_fast(items, index: Dict[str, int], version: int):
    """Columns (entry, half, position, label, score) of well-formed prediction entries.

    Only entries of half 1/2 with a known label are returned. Returns None when any entry is
    unusual (missing field, non-numeric value, unknown v1 label, huge position...), so that
    ``_prediction_columns_checked`` handles the file with upstream's exact per-entry rules.
    Built from C-level calls (``map``, one JSON parse per numeric column): on large files this
    costs about as much as parsing the file.
    """
    try:
        names = list(map(_get_label, items))
        halves = list(map(_get_half, items))
        positions = list(map(_get_position, items))
        position = _numeric_strings(positions, integer=True)
        if position is None:
            position = np.array(list(map(int, positions)), np.int64)
        label = np.array(list(map(index.get, names, repeat(-1))), np.int64)
        # The usual spellings by look-up (equal keys give the same value as int()), others by int().
        half = np.array(list(map(_HALF_SPELLINGS.get, halves, repeat(0))), np.int64)
        for i in np.flatnonzero(half == 0).tolist():
            half[i] = int(halves[i])
        if version == 1 and (label < 0).any():
            return None
        keep = np.flatnonzero((label >= 0) & ((half == 1) | (half == 2)))
        # Upstream reads the confidence of kept entries only, by storing it in a float64 array:
        # np.array converts like that store (numbers and numeric strings as float(), null as NaN).
        kept = items if len(keep) == len(items) else [items[i] for i in keep.tolist()]
        confidences = list(map(_get_confidence, kept))
        score = _numeric_strings(confidences, integer=False)
        if score is None:
            score = np.array(confidences, np.float64)
    except Exception:  # noqa: BLE001  (any oddity: let the checked path decide)
        return None
    if score.shape != keep.shape:  # e.g. a list as confidence
        return None
    return keep, half[keep], position[keep], label[keep], score


_get_label, _get_half = itemgetter('label'), itemgetter('half')
_get_game_time = itemgetter('gameTime')
_get_position, _get_confidence = itemgetter('position'), itemgetter('confidence')


def _prediction_columns_checked(items, path: str, index: Dict[str, int], version: int):
    """Per-entry version of ``_prediction_columns_fast``, in upstream's order of checks.

    Upstream reads ``position``, ``label`` and ``half`` of every entry, then skips unknown v2
    labels and other halves, so only the kept entries need a valid ``confidence``.
    """
    rows = []
    for i, a in enumerate(items):
        where = f'{path} predictions[{i}]'
        if not isinstance(a, dict):
            raise LabelFileError(f'{where}: not a JSON object')
        position = _field(a, 'position', int, where)
        name = _field(a, 'label', None, where)
        half = _field(a, 'half', int, where)
        label = index.get(name) if isinstance(name, str) else None
        if label is None:
            if version == 1:
                raise LabelFileError(f'{where}: label {name!r} is not one of {list(CLASSES_V1)}')
            continue
        if half not in (1, 2):
            continue
        score = _field(a, 'confidence', _stored_score, where)
        if position > np.iinfo(np.int64).max:
            raise LabelFileError(f'{where}: position {position} is out of range')
        rows.append((i, half, position, label, score))
    if not rows:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty, np.zeros(0, np.float64)
    entry, half, position, label, score = zip(*rows)
    return (np.array(entry, np.int64), np.array(half, np.int64), np.array(position, np.int64),
            np.array(label, np.int64), np.array(score, np.float64))


def _stored_score(value) -> float:
    """A confidence as upstream's float64 grid stores it: like float(), but null gives NaN."""
    if value is None:
        return math.nan
    if isinstance(value, (list, dict)):
        raise TypeError('a container is not a number')
    return float(value)


def _field(entry: dict, name: str, convert, where: str):
    """``convert(entry[name])``, raising an error that names the entry and field."""
    if name not in entry:
        raise LabelFileError(f'{where}: missing "{name}"')
    value = entry[name]
    if convert is None:
        return value
    try:
        return convert(value)
    except (TypeError, ValueError, OverflowError):
        kind = 'an integer' if convert is int else 'a number'
        raise LabelFileError(f'{where}: {name} {value!r} is not {kind}') from None


# --------------------------------------------------------------------------- the metric


def _flatten(halves: Sequence[SpotArrays], num_classes: int, num_frames: int, stride: int):
    """Concatenate halves into one sorted key space ``(half * C + label) * stride + frame``.

    Returns:
        keys (K,) int64 sorted, group (K,) int64 = half * C + label, values (K,) float64.
    """
    parts_key, parts_value = [np.zeros(0, np.int64)], [np.zeros(0, np.float64)]
    for h, spots in enumerate(halves):
        frames = np.asarray(spots.frames, np.int64)
        labels = np.asarray(spots.labels, np.int64)
        if len(frames) and (frames.min() < 0 or frames.max() >= num_frames):
            raise ValueError(f'half {h}: frames must lie in [0, {num_frames})')
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'half {h}: labels must lie in [0, {num_classes})')
        parts_key.append((h * num_classes + labels) * stride + frames)
        parts_value.append(np.asarray(spots.values, np.float64))
    keys, values = np.concatenate(parts_key), np.concatenate(parts_value)
    if not (np.diff(keys) > 0).all():  # loaders give sorted halves: sort only other input
        order = np.argsort(keys, kind='stable')
        keys, values = keys[order], values[order]
    if (np.diff(keys) == 0).any():
        raise ValueError('at most one entry per half, frame and label is allowed '
                         '(use SpotArrays.from_entries to keep the last one)')
    return keys, keys // stride, values


def _closest_is_visible(gt_keys, gt_group, gt_values, pred_keys, pred_group, stride):
    """Whether each prediction's nearest event of its class and half is visible.

    The event owning frame ``f`` is the last one whose range start is ``<= f``: the first event of
    a group starts at frame 0, the next ones at the floor of the midpoint with their predecessor.
    Predictions of a group without events count as not visible (upstream's -1 default).

    Returns:
        (P,) bool.
    """
    if len(gt_keys) == 0 or len(pred_keys) == 0:
        return np.zeros(len(pred_keys), bool)
    starts = gt_group * stride
    later = gt_group[1:] == gt_group[:-1]
    # keys share their group offset, so the key midpoint is offset + frame midpoint.
    starts[1:][later] = ((gt_keys[:-1] + gt_keys[1:]) // 2)[later]
    # owner = (number of starts <= key) - 1, counted by a cumulative histogram of where each
    # start falls among the sorted predictions (cheaper than a search per prediction).
    first_pred = np.searchsorted(pred_keys, starts, side='left')
    owner = np.cumsum(np.bincount(first_pred, minlength=len(pred_keys) + 1)[:-1]) - 1
    owner_ok = owner >= 0
    owner = np.maximum(owner, 0)
    return owner_ok & (gt_group[owner] == pred_group) & (gt_values[owner] > 0.5)


def _window_best(available, lo, hi):
    """Index of the highest ``available`` value in each window, the first one on ties.

    Args:
        available: (P,) float64 scores, -1 for predictions already matched.
        lo, hi: (W,) bounds of non-empty windows ``[lo, hi)``.

    Returns:
        (W,) int64 prediction index, -1 where every prediction of the window is taken.
    """
    lengths = hi - lo
    starts = np.cumsum(lengths) - lengths
    flat = np.arange(int(lengths.sum())) - np.repeat(starts - lo, lengths)  # window contents
    values = available[flat]
    best = np.maximum.reduceat(values, starts)
    # The first position of each window holding its maximum: upstream's strict `>` keeps the
    # earliest frame among equal scores.
    at_best = np.flatnonzero(values == np.repeat(best, lengths))
    first = flat[at_best[np.searchsorted(at_best, starts)]]
    return np.where(best >= 0, first, -1)


def _greedy_match(gt_keys, pred_keys, scores, radius: int):
    """Upstream's greedy event -> prediction matching for one tolerance, all groups at once.

    Args:
        gt_keys: (G,) sorted event keys.
        pred_keys: (P,) sorted prediction keys; scores: (P,) their confidences (>= 0).
        radius: largest allowed |frame difference|.

    Returns:
        (M,) int64 indices of the matched predictions (the true positives).
    """
    lo = np.searchsorted(pred_keys, gt_keys - radius, side='left')
    hi = np.searchsorted(pred_keys, gt_keys + radius, side='right')
    lo, hi = lo[hi > lo], hi[hi > lo]  # events with no candidate match nothing
    if len(lo) == 0:
        return np.zeros(0, np.int64)
    # Windows only move rightwards with the key, so an event depends on earlier ones exactly
    # when its window shares a prediction with its predecessor's; otherwise it starts a chain.
    # Chains are independent: round k matches the k-th event of every chain at once.
    idx = np.arange(len(lo))
    new_chain = np.ones(len(lo), bool)
    new_chain[1:] = lo[1:] >= hi[:-1]
    step = idx - np.maximum.accumulate(np.where(new_chain, idx, 0))
    order = np.argsort(step, kind='stable')
    bounds = np.searchsorted(step[order], np.arange(step.max() + 2))
    available = scores.copy()
    matched = []
    for k in range(len(bounds) - 1):
        sel = order[bounds[k]:bounds[k + 1]]
        won = _window_best(available, lo[sel], hi[sel])
        won = won[won >= 0]
        available[won] = -1.0
        matched.append(won)
    return np.concatenate(matched)


def _threshold_bins(scores):
    """Number of thresholds ``<= score``: ``searchsorted(linspace(0, 1, T), scores, 'right')``.

    Thresholds are ``i / (T - 1)`` up to rounding, so ``floor(score * (T - 1)) + 1`` is off by at
    most one; two exact comparisons fix it (several times faster than a binary search).

    Args:
        scores: (P,) float64, >= 0.
    Returns:
        (P,) int64 in ``[1, T]``.
    """
    last = NUM_THRESHOLDS - 1
    thresholds = np.linspace(0, 1, NUM_THRESHOLDS)
    bins = np.minimum(np.floor(scores * last), last).astype(np.int64) + 1
    bins -= thresholds[bins - 1] > scores
    bins += (bins <= last) & (thresholds[np.minimum(bins, last)] <= scores)
    return bins


class _ThresholdCounts:
    """Per class and threshold, counts of predictions with ``score >= threshold``.

    A prediction reaches thresholds ``0 .. bin - 1`` where ``bin`` is the number of thresholds
    ``<= score``; a per-class histogram of the bins and a suffix sum give every count in O(P).
    """

    def __init__(self, labels, scores, num_classes: int):
        self.cells = labels * (NUM_THRESHOLDS + 1) + _threshold_bins(scores)
        self.num_classes = num_classes

    def count(self, which) -> np.ndarray:
        """(C, T) float64 counts of the predictions ``which`` (a (P,) bool mask or indices)
        with score >= threshold."""
        hist = np.bincount(self.cells[which], minlength=self.num_classes * (NUM_THRESHOLDS + 1))
        hist = hist.reshape(self.num_classes, NUM_THRESHOLDS + 1)
        at_least = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # [c, k]: bins >= k
        return at_least[:, 1:].astype(np.float64)


def _precision_recall(tp_count, det_count, num_gt):
    """Upstream's ``nan_to_num(TP / len(detections))`` and ``nan_to_num(TP / n_gt)``.

    tp_count, det_count: (C, T) float64; num_gt: (C,) int. Returns two (C, T) arrays.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = np.nan_to_num(tp_count / det_count)
        recall = np.nan_to_num(tp_count / num_gt[:, None])
    return precision, recall


def _eleven_point_map(precision, recall):
    """11-point interpolated AP per class and its mean, as upstream's ``compute_mAP``.

    precision, recall: (C, T). Returns (mAP float, (C,) AP). The 11 terms are added in order, as
    upstream does, so the sums are bit-identical.
    """
    ap = np.zeros(precision.shape[0])
    for level in np.arange(11) / 10:
        reached = recall >= level
        best = np.where(reached, precision, -np.inf).max(axis=1, initial=-np.inf)
        ap += np.where(reached.any(axis=1), best, 0.0)
    per_class = ap / 11
    return np.mean(per_class), per_class


def _trapezoid_mean(curve):
    """Upstream's Average over tolerances: a left-to-right trapezoid sum over unit steps."""
    integral = 0.0
    for i in range(len(curve) - 1):
        integral += (curve[i] + curve[i + 1]) / 2
    return integral / (len(curve) - 1)


def average_map(ground_truth_halves: Sequence[SpotArrays],
                prediction_halves: Sequence[SpotArrays], num_classes: int,
                deltas_s: Sequence[float], framerate: int = 2) -> dict:
    """Average-mAP of action spotting over tolerances ``deltas_s`` (thesis Sec. 4.2.1).

    Args:
        ground_truth_halves: H halves of events (values +1 visible / -1 not shown).
        prediction_halves: the H matching halves of predictions (values: confidences; negative
            ones are ignored).
        num_classes: C.
        deltas_s: tolerances in seconds (``LOOSE_DELTAS`` or ``TIGHT_DELTAS``); with a single one
            the results are that tolerance's mAP, as upstream (no 17/13 factor then either).
        framerate: frames per second of the frame indices.

    Returns:
        dict with ``a_mAP``, ``a_mAP_visible``, ``a_mAP_unshown`` (floats), ``a_mAP_per_class``,
        ``a_mAP_per_class_visible``, ``a_mAP_per_class_unshown`` (C floats each),
        ``mAP_per_delta``, ``mAP_per_delta_visible``, ``mAP_per_delta_unshown`` (one float per
        tolerance) and ``deltas_s``.
    """
    if len(ground_truth_halves) != len(prediction_halves):
        raise ValueError(f'{len(ground_truth_halves)} ground-truth halves but '
                         f'{len(prediction_halves)} prediction halves')
    deltas_s = list(deltas_s)
    if not deltas_s:
        raise ValueError('deltas_s is empty')
    num_frames = frames_per_half(framerate)
    radii = [math.floor(d * framerate / 2) for d in deltas_s]  # |diff| <= delta/2, integer diffs
    stride = num_frames + 2 * max(max(radii), 0) + 2  # windows never reach another group

    gt_keys, gt_group, gt_values = _flatten(ground_truth_halves, num_classes, num_frames, stride)
    event = gt_values != 0  # upstream: a 0 cell holds no event
    gt_keys, gt_group, gt_values = gt_keys[event], gt_group[event], gt_values[event]
    pred_keys, pred_group, scores = _flatten(prediction_halves, num_classes, num_frames, stride)
    keep = scores >= 0
    pred_keys, pred_group, scores = pred_keys[keep], pred_group[keep], scores[keep]
    pred_labels = pred_group % num_classes

    gt_labels = gt_group % num_classes
    num_visible = np.bincount(gt_labels[gt_values > 0], minlength=num_classes)
    num_unshown = np.bincount(gt_labels[gt_values < 0], minlength=num_classes)
    visible = _closest_is_visible(gt_keys, gt_group, gt_values, pred_keys, pred_group, stride)

    counts = _ThresholdCounts(pred_labels, scores, num_classes)
    det_all = counts.count(slice(None))
    det_visible = counts.count(visible)
    det_unshown = counts.count(~visible)

    curves = {'': [], '_visible': [], '_unshown': []}  # (mAP, per-class AP) per tolerance
    for radius in radii:
        tp = _greedy_match(gt_keys, pred_keys, scores, radius)  # indices
        tp_visible = visible[tp]
        for suffix, tp_count, det_count, num_gt in (
                ('', counts.count(tp), det_all, num_visible + num_unshown),
                ('_visible', counts.count(tp[tp_visible]), det_visible, num_visible),
                ('_unshown', counts.count(tp[~tp_visible]), det_unshown, num_unshown)):
            curves[suffix].append(_eleven_point_map(*_precision_recall(tp_count, det_count,
                                                                        num_gt)))

    result = {'deltas_s': deltas_s}
    for suffix, curve in curves.items():
        maps = [m for m, _ in curve]
        per_class = np.stack([p for _, p in curve])  # (D, C)
        if len(curve) == 1:
            a_map, a_per_class = maps[0], per_class[0]
        else:
            a_map = _trapezoid_mean(maps)
            a_per_class = [_trapezoid_mean(per_class[:, c]) for c in range(num_classes)]
            if suffix == '_unshown':
                a_map = a_map * _UNSHOWN_SCALE[0] / _UNSHOWN_SCALE[1]
        result['a_mAP' + suffix] = float(a_map)
        result['a_mAP_per_class' + suffix] = [float(x) for x in a_per_class]
        result['mAP_per_delta' + suffix] = [float(x) for x in maps]
    return result


# --------------------------------------------------------------------------- folders


def _load_game(job):
    """(ground-truth halves, prediction halves or None when the file is absent, ignored
    prediction counts) of one game."""
    label_path, pred_path, version, framerate = job
    gt = load_ground_truth(label_path, version, framerate)
    skipped: Dict[str, int] = {}
    pred = load_predictions(pred_path, version, framerate, skipped) \
        if osp.isfile(pred_path) else None
    return gt, pred, skipped


def evaluate_folders(labels_dir: str, predictions_dir: str, metric: str = 'loose',
                     version: int = 2, framerate: int = 2,
                     prediction_file: str = 'results_spotting.json',
                     missing: str = 'error', workers: int = 1) -> dict:
    """Average-mAP of a predictions tree against a SoccerNet labels tree.

    Games are the folders of ``labels_dir`` holding ``Labels.json`` (v1) / ``Labels-v2.json``
    (v2); a game's predictions are ``predictions_dir/<game>/<prediction_file>``.

    Args:
        metric: ``'loose'`` (``LOOSE_DELTAS``) or ``'tight'`` (``TIGHT_DELTAS``).
        version: 1 (3 classes) or 2 (17 classes).
        missing: ``'error'`` raises ``FileNotFoundError`` naming the first game without a
            prediction file; ``'empty'`` scores such games as having no predictions.
        workers: processes that read the files (reading JSON dominates the run time); the
            result does not depend on it.

    Returns:
        ``average_map``'s dict, plus ``num_games``, ``games_without_predictions`` (list) and
        ``predictions_with_unknown_half`` (``{game: count}`` of predictions of a known class
        whose half is neither 1 nor 2: ignored, as upstream does, but counted). For
        version 1 the visible/unshown entries are None, as upstream reports them.
    """
    if metric not in METRIC_DELTAS:
        raise ValueError(f'metric must be one of {sorted(METRIC_DELTAS)}, got {metric!r}')
    if missing not in ('error', 'empty'):
        raise ValueError(f"missing must be 'error' or 'empty', got {missing!r}")
    classes = classes_for(version)
    games = find_games(labels_dir, LABEL_FILES[version])
    if not games:
        raise FileNotFoundError(f'no {LABEL_FILES[version]} under {labels_dir}')
    jobs = [(osp.join(labels_dir, game, LABEL_FILES[version]),
             osp.join(predictions_dir, game, prediction_file), version, framerate)
            for game in games]
    for game, (_, pred_path, _, _) in zip(games, jobs):
        if missing == 'error' and not osp.isfile(pred_path):
            raise FileNotFoundError(f'game {game}: no predictions ({pred_path} not found)')
    if workers > 1 and len(jobs) > 1:
        import multiprocessing
        ctx = multiprocessing.get_context('fork' if 'fork' in
                                          multiprocessing.get_all_start_methods() else None)
        # The calling process reads its share while workers - 1 forked children read the rest
        # (a fork costs about as much as reading a few games).
        own = len(jobs) // workers
        json_scan.warm_up()  # compiled once here, not once per forked reader
        with ctx.Pool(workers - 1) as pool:
            rest = pool.map_async(_load_game, jobs[own:],
                                  chunksize=max(1, (len(jobs) - own) // (4 * (workers - 1))))
            loaded = [_load_game(job) for job in jobs[:own]] + rest.get()
    else:
        loaded = [_load_game(job) for job in jobs]
    gt_halves, pred_halves, without, unknown_half = [], [], [], {}
    for game, (gt, pred, skipped) in zip(games, loaded):
        if skipped.get('unknown half'):
            unknown_half[game] = skipped['unknown half']
        gt_halves += gt
        if pred is None:
            without.append(game)
            pred = [SpotArrays.empty(), SpotArrays.empty()]
        pred_halves += pred
    result = average_map(gt_halves, pred_halves, len(classes), METRIC_DELTAS[metric], framerate)
    if version == 1:  # upstream has no visibility in v1 and reports None
        for key in list(result):
            if key.endswith(('_visible', '_unshown')):
                result[key] = None
    result.update(num_games=len(games), games_without_predictions=without,
                  predictions_with_unknown_half=unknown_half)
    return result
