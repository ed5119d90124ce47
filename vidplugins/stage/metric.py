"""Frame-mAP for STAGE: AVA (60 classes, per-group, official csv) and J-HMDB-21 / UCF101-24.

AVA's protocol (thesis Sec. 3.2.1): per class, the detections of all evaluated keyframes are
ranked by score; one is a true positive when its box has IoU >= 0.5 with a not yet matched
ground-truth box of that class in its keyframe; AP is the VOC area under the interpolated
precision / recall curve; frame-mAP is the mean over the classes with ground truth (60 on AVA).
J-HMDB-21 / UCF101-24 frame-mAP is the same per-class VOC AP on their keyframes (Sec. 3.2.1).

The steps are mmaction2's copies of the official ActivityNet code
(``mmaction.evaluation.functional.ava_utils``: ``read_csv``, ``read_exclusions``,
``read_labelmap``, ``tpfp_single``, ``det2csv``; ``ava_evaluation.metrics``:
``compute_precision_recall``, ``compute_average_precision``). Two differences from
``ava_utils.ava_eval``, both to follow the official evaluator: a class with ground truth but no
detection scores AP 0 (``ava_eval`` leaves it out of the mean), and per-class APs are returned
(the official per-category results; ``ava_eval`` only prints them). It also runs in-process
rather than in a pool of 32 workers.
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from collections import defaultdict
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmaction.evaluation.functional.ava_evaluation import metrics as ava_metrics
from mmaction.evaluation.functional.ava_utils import det2csv, read_csv, tpfp_single
from mmaction.evaluation.metrics import AVAMetric
from mmaction.registry import METRICS

from ..utils.io import atomic_write
from .ava import action_groups, read_excluded, read_label_map

ImageKey = str  # 'video_id,0902', mmaction2's make_image_key


def per_class_ap(gt: Tuple[dict, dict], det: Tuple[dict, dict, dict], class_ids: Iterable[int],
                 iou_thr: float = 0.5, excluded: Optional[Set[ImageKey]] = None,
                 ignore_empty_frames: bool = True) -> Dict[int, float]:
    """VOC AP at IoU ``iou_thr`` of every class (NaN for a class without ground truth).

    Args:
        gt: (boxes, labels) dicts keyed by image key, as ``ava_utils.read_csv`` returns them
            (one entry per (box, class); box coordinate order only needs to match ``det``).
        det: (boxes, labels, scores) dicts keyed by image key.
        class_ids: the evaluated classes.
        iou_thr: 0.5 for frame-mAP@0.5.
        excluded: image keys left out of the evaluation.
        ignore_empty_frames: evaluate only keyframes with ground truth (mmaction2's default;
            the AVA ground truth lists every annotated keyframe).
    """
    gt_boxes, gt_labels = gt
    boxes, labels, scores = det
    excluded = excluded or set()
    class_ids = [int(c) for c in class_ids]
    keys = [k for k in (gt_boxes if ignore_empty_frames else set(gt_boxes) | set(boxes))
            if k not in excluded]
    all_gt = np.concatenate([np.asarray(gt_labels[k]) for k in keys]) if keys else np.zeros(0)
    num_gt = {c: int(np.sum(all_gt == c)) for c in class_ids}
    cls_scores, cls_tp = defaultdict(list), defaultdict(list)
    for k in keys:
        if k not in boxes:
            continue
        s, t = tpfp_single((gt_boxes.get(k, []), gt_labels.get(k, []), boxes[k], labels[k],
                            scores[k]), threshold=iou_thr)
        for c in s:
            cls_scores[c].append(s[c])
            cls_tp[c].append(t[c])
    out = {}
    for c in class_ids:
        sc = np.concatenate(cls_scores[c]).astype(np.float64) if cls_scores[c] else np.zeros(0)
        tp = np.concatenate(cls_tp[c]).astype(bool) if cls_tp[c] else np.zeros(0, bool)
        precision, recall = ava_metrics.compute_precision_recall(sc, tp, num_gt[c])
        out[c] = float(ava_metrics.compute_average_precision(precision, recall))
    return out


def summarize(ap: Dict[int, float], groups: bool = True) -> Dict[str, float]:
    """``frame_mAP`` (mean over classes with ground truth) and, for AVA, the mean AP of each
    group of Table 3.4 (``pose``, ``person_person``, ``person_object``) that has classes."""
    valid = {c: v for c, v in ap.items() if not np.isnan(v)}
    out = {'frame_mAP': float(np.mean(list(valid.values()))) if valid else float('nan')}
    if groups:
        for name, ids in action_groups(valid).items():
            if ids:
                out[name] = float(np.mean([valid[c] for c in ids]))
    return out


def ava_frame_map(result_file: str, ann_file: str, label_file: str,
                  exclude_file: Optional[str] = None, iou_thr: float = 0.5,
                  class_ids: Optional[Sequence[int]] = None) -> Tuple[Dict[str, float],
                                                                      Dict[int, float]]:
    """Evaluate an official-format result csv against an AVA ground-truth csv.

    Returns (summary: ``frame_mAP`` and group mAPs, per-class AP). ``class_ids`` defaults to
    the classes of the label map (the 60 evaluated AVA classes).
    """
    labelmap = read_label_map(label_file)
    ids = sorted(labelmap) if class_ids is None else [int(c) for c in class_ids]
    with open(ann_file) as f:
        gt_boxes, gt_labels, _ = read_csv(f, set(ids))
    with open(result_file) as f:
        det = read_csv(f, set(ids))
    excluded = {f'{v},{t:04d}' for v, t in read_excluded(exclude_file)}
    ap = per_class_ap((gt_boxes, gt_labels), det, ids, iou_thr, excluded)
    return summarize(ap), ap


def write_ava_csv(results: List[dict], path: str, custom_classes=None) -> int:
    """Write results in the official AVA format, atomically; returns the number of rows.

    One row per (box, class): ``video_id,timestamp,x1,y1,x2,y2,action_id,score`` (timestamps
    with 4 digits, coordinates and scores with 3 and 4 decimals as the official files). ``results``
    are the per-keyframe dicts of ``AVAMetric.process`` (``video_id``, ``timestamp``,
    ``outputs``: per-class (n, 5) arrays from ``bbox2result``).
    """
    rows = det2csv(results, custom_classes)
    with atomic_write(path, 'w') as f:
        for vid, ts, x1, y1, x2, y2, action, score in rows:
            f.write(f'{vid},{int(ts):04d},{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},{int(action)},'
                    f'{score:.4f}\n')
    return len(rows)


@METRICS.register_module()
class STAGEAVAMetric(AVAMetric):
    """AVA frame-mAP@0.5 with per-group mAP (Table 3.4) and the official result csv.

    ``process`` is mmaction2's ``AVAMetric.process`` (``bbox2result`` on ``pred_instances``).
    Keys (prefix ``mAP``): ``frame_mAP``, ``pose``, ``person_person``, ``person_object`` and,
    with ``classwise=True``, ``AP_<class id>``.

    Args:
        ann_file, exclude_file, label_file, action_thr, num_classes, custom_classes: as
            ``AVAMetric`` (the label map picks the evaluated classes: the 60 of AVA).
        out_file: where to write the result csv (atomically); None: a temporary file, removed.
        iou_thr: 0.5.
        classwise: also return every class's AP.
    """

    def __init__(self, ann_file: str, exclude_file: Optional[str], label_file: str,
                 action_thr: float = 0.002, num_classes: int = 81,
                 custom_classes: Optional[List[int]] = None, out_file: Optional[str] = None,
                 iou_thr: float = 0.5, classwise: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(ann_file=ann_file, exclude_file=exclude_file, label_file=label_file,
                         action_thr=action_thr, num_classes=num_classes,
                         custom_classes=custom_classes, collect_device=collect_device,
                         prefix=prefix)
        self.out_file = out_file
        self.iou_thr = iou_thr
        self.classwise = classwise

    def compute_metrics(self, results: list) -> dict:
        out_file, tmp = self.out_file, None
        if out_file is None:
            tmp = tempfile.mkdtemp(prefix='stage_ava_')
            out_file = osp.join(tmp, f'AVA_{datetime.now():%Y%m%d_%H%M%S}_result.csv')
        n = write_ava_csv(results, out_file, self.custom_classes)
        ids = None if self.custom_classes is None else self.custom_classes[1:]
        try:
            summary, ap = ava_frame_map(out_file, self.ann_file, self.label_file,
                                        self.exclude_file, self.iou_thr, ids)
        finally:
            if tmp is not None:
                os.remove(out_file)
                os.rmdir(tmp)
        logger = MMLogger.get_current_instance()
        labelmap = read_label_map(self.label_file)
        print_log(f'{len(results)} keyframes, {n} detections' +
                  ('' if tmp else f' written to {out_file}') + '; per-class AP: ' +
                  ', '.join(f'{c} {labelmap.get(c, "?")}: {v:.4f}' for c, v in ap.items()),
                  logger=logger)
        if self.classwise:
            summary.update({f'AP_{c}': v for c, v in ap.items()})
        return summary


@METRICS.register_module()
class FrameMAPMetric(BaseMetric):
    """Frame-mAP@0.5 of J-HMDB-21 / UCF101-24 (one label per actor; Sec. 3.2.1, Table 3.5).

    Every predicted box is a detection of every class, scored by its class probability; per
    class VOC AP at IoU ``iou_thr`` over the keyframes of ``ann_file`` (AVA-layout csv:
    video_id, frame, x1, y1, x2, y2, class, actor id); mean over the classes of ``label_file``.
    Keys (prefix ``mAP``): ``frame_mAP`` and, with ``classwise``, ``AP_<class id>``.
    """
    default_prefix: Optional[str] = 'mAP'

    def __init__(self, ann_file: str, label_file: str, iou_thr: float = 0.5,
                 classwise: bool = False, out_file: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file, self.label_file = ann_file, label_file
        self.iou_thr, self.classwise, self.out_file = iou_thr, classwise, out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            pred = ds['pred_instances']
            boxes = pred['bboxes'].cpu().numpy().reshape(-1, 4)
            scores = pred['scores'].cpu().numpy()
            self.results.append(dict(video_id=ds['video_id'], timestamp=int(ds['timestamp']),
                                     boxes=boxes, scores=scores.reshape(len(boxes), -1)))

    def compute_metrics(self, results: list) -> dict:
        ids = sorted(read_label_map(self.label_file))
        with open(self.ann_file) as f:
            gt_boxes, gt_labels, _ = read_csv(f, set(ids))
        boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list)
        for r in results:
            key = f'{r["video_id"]},{r["timestamp"]:04d}'
            for c in ids:
                if c >= r['scores'].shape[1]:
                    raise ValueError(f'class {c} of {self.label_file} beyond the '
                                     f'{r["scores"].shape[1]} predicted score columns')
                for box, s in zip(r['boxes'], r['scores'][:, c]):
                    boxes[key].append(box[[1, 0, 3, 2]])  # read_csv's y1, x1, y2, x2 order
                    labels[key].append(c)
                    scores[key].append(float(s))
        if self.out_file:
            with atomic_write(self.out_file) as f:
                for key in boxes:
                    for b, c, s in zip(boxes[key], labels[key], scores[key]):
                        f.write(f'{key},{b[1]:.3f},{b[0]:.3f},{b[3]:.3f},{b[2]:.3f},{c},'
                                f'{s:.4f}\n')
        ap = per_class_ap((gt_boxes, gt_labels), (boxes, labels, scores), ids, self.iou_thr)
        out = summarize(ap, groups=False)
        if self.classwise:
            out.update({f'AP_{c}': v for c, v in ap.items()})
        return out
