"""Average-mAP of soccer event spotting as an mmengine metric (thesis Sec. 4.2.1).

Collects the window scores that ``RMSNet.predict`` returns for whole halves, turns them into spots
(``s + offset * T``, optional temporal NMS), optionally writes one ``results_spotting.json`` per
game in the official format, and scores them with the fast exact Average-mAP of
``vidplugins.soccernet.evaluation`` (same numbers as the official SoccerNet evaluator).
"""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmaction.registry import METRICS

from vidplugins.soccernet import classes_for
from vidplugins.soccernet.evaluation.average_map import (METRIC_DELTAS, SpotArrays, average_map,
                                                         frames_per_half, load_ground_truth)
from .postprocess import SPOT_RULES, nms_1d, spots_to_predictions, windows_to_spots, \
    write_predictions
from .visualization import plot_timeline


@METRICS.register_module()
class SpottingMetric(BaseMetric):
    """Average-mAP (loose: 5-60 s, tight: 1-5 s) of spotted events.

    Args:
        version: SoccerNet version (1: 3 classes, 2: 17 classes with visible / unshown variants).
        tolerances: which tolerance sets to compute, among ``'loose'`` and ``'tight'``.
        main_metric: the one also reported as ``a_mAP`` (used for checkpoint selection and early
            stopping as ``spotting/a_mAP_<main_metric>``).
        window_size: T (for the offsets -> frames conversion).
        spot_rule: ``'clip_class'`` (default, the thesis's rule of Sec. 4.2.2: each window
            predicts its arg-max class, background windows give no spot) or ``'per_class'`` (one
            candidate per foreground class and window); see ``postprocess.windows_to_spots``.
        nms_window: temporal NMS window in frames (31 for the challenge protocol); None = no NMS
            (v1 protocol, Sec. 4.2.2).
        min_score: candidate spots below this confidence are not written.
        framerate: frames per second of the features (2).
        out_dir: if given, ``<out_dir>/<game>/results_spotting.json`` is written for every game.
        plot_dir: if given, a timeline plot of predicted vs annotated events per game
            (``<plot_dir>/<game>.png``, predictions with confidence >= ``plot_min_confidence``).
    """
    default_prefix = 'spotting'

    def __init__(self, version: int = 1, tolerances: Sequence[str] = ('loose', 'tight'),
                 main_metric: str = 'loose', window_size: int = 41,
                 spot_rule: str = 'clip_class',
                 nms_window: Optional[int] = None, min_score: float = 0.0, framerate: int = 2,
                 out_dir: Optional[str] = None, plot_dir: Optional[str] = None,
                 plot_min_confidence: float = 0.5, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        for m in list(tolerances) + [main_metric]:
            if m not in METRIC_DELTAS:
                raise ValueError(f'unknown metric {m!r}; expected one of {list(METRIC_DELTAS)}')
        self.version = version
        self.classes = classes_for(version)
        self.tolerances = tuple(tolerances)
        self.main_metric = main_metric
        self.window_size = window_size
        if spot_rule not in SPOT_RULES:
            raise ValueError(f'spot_rule must be one of {SPOT_RULES}, got {spot_rule!r}')
        self.spot_rule = spot_rule
        self.nms_window = nms_window
        self.min_score = min_score
        self.framerate = int(framerate)
        self.out_dir = out_dir
        self.plot_dir = plot_dir
        self.plot_min_confidence = plot_min_confidence

    def process(self, data_batch, data_samples: Sequence) -> None:
        for ds in data_samples:
            if isinstance(ds, dict):
                pred, meta = ds['pred_windows'], ds
            else:
                pred, meta = ds.pred_windows, ds.metainfo
            self.results.append(dict(
                game=meta['game'], half=int(meta['half']), length=int(meta['length']),
                label_path=meta.get('label_path'), starts=np.asarray(pred['starts']),
                scores=np.asarray(pred['scores']), offsets=np.asarray(pred['offsets'])))

    def spots_per_game(self, results: List[dict]) -> Dict[str, dict]:
        """``{game: {'halves': {half: (frames, labels, conf)}, 'label_path': ...}}``."""
        grouped: Dict[str, dict] = defaultdict(
            lambda: dict(halves={}, lengths={}, parts=defaultdict(list)))
        for r in results:
            g = grouped[r['game']]
            g['label_path'] = r['label_path']
            g['parts'][r['half']].append(r)
        for game, g in grouped.items():
            for half, parts in g['parts'].items():
                starts = np.concatenate([p['starts'] for p in parts])
                scores = np.concatenate([p['scores'] for p in parts])
                offsets = np.concatenate([p['offsets'] for p in parts])
                spots = windows_to_spots(starts, scores, offsets, self.window_size,
                                         parts[0]['length'], self.min_score,
                                         rule=self.spot_rule)
                if self.nms_window:
                    spots = nms_1d(*spots, window=self.nms_window)
                g['halves'][half] = spots
                g['lengths'][half] = parts[0]['length']
            del g['parts']
        return dict(grouped)

    def compute_metrics(self, results: List[dict]) -> dict:
        games = self.spots_per_game(results)
        num_frames = frames_per_half(self.framerate)
        gt_halves, pred_halves = [], []
        for game in sorted(games):
            g = games[game]
            if self.out_dir:
                write_predictions(self.out_dir, game,
                                  spots_to_predictions(game, g['halves'], self.classes,
                                                       self.framerate))
            if g['label_path'] is None:
                continue
            gt = load_ground_truth(g['label_path'], self.version, self.framerate)
            gt_halves += gt
            if self.plot_dir:
                plot_timeline({h: (gt[h - 1].frames, gt[h - 1].labels) for h in (1, 2)},
                              g['halves'], self.classes,
                              osp.join(self.plot_dir, game.replace('/', '__') + '.png'),
                              title=game, fps=self.framerate,
                              min_confidence=self.plot_min_confidence, lengths=g['lengths'])
            for half in (1, 2):
                frames, labels, conf = g['halves'].get(half, (np.zeros(0), np.zeros(0),
                                                              np.zeros(0)))
                pred_halves.append(SpotArrays.from_entries(frames, labels, conf, num_frames))
        logger = MMLogger.get_current_instance()
        if self.out_dir:
            logger.info(f'wrote results_spotting.json for {len(games)} games to {self.out_dir}')
        if not gt_halves:
            logger.warning('no labels: predictions written, Average-mAP not computed')
            return {}
        out = {}
        for name in self.tolerances:
            res = average_map(gt_halves, pred_halves, len(self.classes), METRIC_DELTAS[name],
                              self.framerate)
            out[f'a_mAP_{name}'] = float(res['a_mAP'])
            for cls, value in zip(self.classes, res['a_mAP_per_class']):
                out[f'a_mAP_{name}_{cls}'] = float(value)
            if self.version == 2:
                out[f'a_mAP_{name}_visible'] = float(res['a_mAP_visible'])
                out[f'a_mAP_{name}_unshown'] = float(res['a_mAP_unshown'])
            if name == self.main_metric:
                out['a_mAP'] = float(res['a_mAP'])
        return out
