"""Labels of detected actor boxes from the ground truth of their keyframe (thesis Sec. 3.2.2).

Features are extracted for ground-truth boxes (score 1.0) and person detections. For training, a
detection keeps the labels of the ground-truth box it overlaps most when their IoU reaches
``pos_iou_thr``; detections below ``det_score_thr`` are dropped. At test time only the score
threshold applies. Thresholds per backbone (Sec. 3.2.2):

========================  ===================  ===========  =================
backbone                  train det_score_thr  pos_iou_thr  test det_score_thr
========================  ===================  ===========  =================
I3D                       0.0 (any score)      0.5          0.7
R101-I3D-NL, SlowFast-NL  0.9                  0.9          0.8 (0.85: R101 in
                                                            the authors' code)
========================  ===================  ===========  =================
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps


def assign_labels(det_boxes: np.ndarray, gt_boxes: np.ndarray, gt_labels: np.ndarray,
                  pos_iou_thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Copy to each detection the labels of its best-overlapping ground-truth box.

    Args:
        det_boxes: (N, 4) normalised x1, y1, x2, y2.
        gt_boxes: (G, 4) same layout.
        gt_labels: (G, C) multi-hot or (G,) class index (0 = background).
        pos_iou_thr: IoU needed to copy the labels (0.5 I3D, 0.9 R101-I3D-NL / SlowFast-NL).

    Returns:
        labels (N, C) or (N,): the matched ground truth's labels, zeros (background) otherwise;
        iou (N,): the best IoU of each detection (0 without ground truth).

    IoU is computed on normalised coordinates: a per-axis rescaling multiplies intersection and
    union by the same factor, so it equals the IoU in pixels.
    """
    n = len(det_boxes)
    out = np.zeros((n,) + tuple(gt_labels.shape[1:]), dtype=gt_labels.dtype)
    if n == 0 or len(gt_boxes) == 0:
        return out, np.zeros(n, np.float32)
    iou = bbox_overlaps(torch.as_tensor(det_boxes, dtype=torch.float32),
                        torch.as_tensor(gt_boxes, dtype=torch.float32)).numpy()
    best = iou.argmax(axis=1)
    best_iou = iou[np.arange(n), best]
    pos = best_iou >= pos_iou_thr
    out[pos] = gt_labels[best[pos]]
    return out, best_iou.astype(np.float32)


class KeyframeLabelAssigner:
    """Filters the actor entries of a keyframe by score and assigns their labels.

    Args:
        det_score_thr: keep entries with score >= this (ground-truth boxes have score 1.0).
        pos_iou_thr: IoU to copy a ground-truth box's labels (training only).
        keep_unmatched: keep training detections that match no ground truth, as background
            (all-zero labels), as mmaction2 does with proposals; else drop them.
    """

    def __init__(self, det_score_thr: float = 0.0, pos_iou_thr: float = 0.5,
                 keep_unmatched: bool = True):
        if not 0.0 <= pos_iou_thr <= 1.0:
            raise ValueError(f'pos_iou_thr must be in [0, 1], got {pos_iou_thr}')
        self.det_score_thr = float(det_score_thr)
        self.pos_iou_thr = float(pos_iou_thr)
        self.keep_unmatched = keep_unmatched

    def __repr__(self):
        return (f'{type(self).__name__}(det_score_thr={self.det_score_thr}, '
                f'pos_iou_thr={self.pos_iou_thr}, keep_unmatched={self.keep_unmatched})')

    def keep(self, scores: np.ndarray) -> np.ndarray:
        """(N,) bool: entries at or above the score threshold."""
        return scores >= self.det_score_thr

    def __call__(self, scores: np.ndarray, boxes: np.ndarray, gt_boxes: Optional[np.ndarray],
                 gt_labels: Optional[np.ndarray]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Indices of the kept entries and their labels (None without ground truth).

        Args:
            scores: (N,); boxes: (N, 4); gt_boxes: (G, 4); gt_labels: (G, C) or (G,).
        """
        idx = np.flatnonzero(self.keep(scores))
        if gt_labels is None:
            return idx, None
        labels, iou = assign_labels(boxes[idx], gt_boxes, gt_labels, self.pos_iou_thr)
        if not self.keep_unmatched:
            matched = iou >= self.pos_iou_thr
            idx, labels = idx[matched], labels[matched]
        return idx, labels
