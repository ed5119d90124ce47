"""Test-time ensemble of STAGE models (Table 3.3, "STAGE (SlowFast-NL,16x8,8x8)").

Each model is tested on its own features with ``tools/test.py CONFIG CKPT --dump preds.pkl``;
:func:`average_predictions` averages the scores of the same actor boxes of the same keyframes
(``tools/analysis/stage_ensemble.py`` does it on files and evaluates the result).
"""
from __future__ import annotations

from typing import List, Sequence

import torch


def _key(pred: dict, source: str, i: int):
    try:
        return pred['video_id'], int(pred['timestamp'])
    except KeyError as e:
        raise KeyError(f'{source}: prediction {i} has no {e} (dump of tools/test.py --dump?)')


def average_predictions(runs: Sequence[Sequence[dict]], sources: Sequence[str] = (),
                        box_tol: float = 1e-4) -> List[dict]:
    """Average ``pred_instances.scores`` over several runs of the same keyframes.

    Args:
        runs: one list per model of dumped data samples (dicts with ``video_id``, ``timestamp``
            and ``pred_instances`` with ``bboxes`` (A_k, 4) and ``scores`` (A_k, C)).
        sources: names of the runs for error messages (e.g. the dump files).
        box_tol: largest coordinate difference accepted between the runs' boxes.
    Returns:
        The first run's samples (same order) with the mean scores of all runs.
    Raises:
        ValueError: a keyframe missing from a run, or boxes / classes that differ.
    """
    if len(runs) < 2:
        raise ValueError(f'an ensemble needs at least 2 runs, got {len(runs)}')
    sources = list(sources) or [f'run {i}' for i in range(len(runs))]
    index = []
    for run, src in zip(runs, sources):
        idx = {}
        for i, p in enumerate(run):
            k = _key(p, src, i)
            if k in idx:
                raise ValueError(f'{src}: keyframe {k} appears twice')
            idx[k] = p
        index.append(idx)
    out = []
    for i, first in enumerate(runs[0]):
        k = _key(first, sources[0], i)
        boxes = torch.as_tensor(first['pred_instances']['bboxes'])
        scores = [torch.as_tensor(first['pred_instances']['scores']).float()]
        for idx, src in zip(index[1:], sources[1:]):
            if k not in idx:
                raise ValueError(f'{src}: keyframe {k} of {sources[0]} is missing')
            other = idx[k]['pred_instances']
            ob, os_ = torch.as_tensor(other['bboxes']), torch.as_tensor(other['scores']).float()
            if ob.shape != boxes.shape or (len(ob) and (ob - boxes).abs().max() > box_tol):
                raise ValueError(f'{src}: keyframe {k} has other actor boxes than '
                                 f'{sources[0]}: the runs must score the same boxes')
            if os_.shape != scores[0].shape:
                raise ValueError(f'{src}: keyframe {k} scores {tuple(os_.shape)}, '
                                 f'{sources[0]} {tuple(scores[0].shape)}')
            scores.append(os_)
        pred = dict(first)
        pred['pred_instances'] = dict(first['pred_instances'], scores=torch.stack(scores).mean(0))
        out.append(pred)
    return out


def read_metrics(path: str) -> dict:
    """Final metrics of one ``tools/test.py`` run: ``<work_dir>/<timestamp>/<timestamp>.json``
    (one JSON object) or a JSON-lines log (the last line holding a ``/``-named metric).

    Returns ``{name: float}`` of the metric entries (names with a ``/``, e.g.
    ``mAP/frame_mAP``). Raises ``ValueError`` naming the file when none is found.
    """
    import json
    with open(path) as f:
        text = f.read()
    try:
        records = [json.loads(text)]
    except json.JSONDecodeError:
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: neither a JSON object nor JSON lines ({e})') from None
    for rec in reversed(records):
        if isinstance(rec, dict):
            metrics = {k: float(v) for k, v in rec.items()
                       if '/' in k and isinstance(v, (int, float))}
            if metrics:
                return metrics
    raise ValueError(f'{path}: no metric (a key like "mAP/frame_mAP") found')


def average_split_metrics(runs: Sequence[dict], sources: Sequence[str] = ()) -> dict:
    """Mean of each metric over the runs of the splits (J-HMDB-21: splits 1-3, Sec. 3.3.1).

    Every run must report the same metric names; a missing one raises ``ValueError`` naming
    the run (averaging a metric over a subset of the splits would be a different number).
    """
    if not runs:
        raise ValueError('no run to average')
    names = set(runs[0])
    for i, run in enumerate(runs):
        if set(run) != names:
            src = sources[i] if i < len(sources) else f'run {i}'
            raise ValueError(f'{src}: metrics {sorted(run)} differ from those of the first run '
                             f'{sorted(names)}')
    return {k: sum(r[k] for r in runs) / len(runs) for k in sorted(names)}
