"""STAGE inside mmaction2's FastRCNN AVA detector, trainable end to end with the backbone.

The thesis trains STAGE on frozen, pre-extracted features and names end-to-end fine-tuning of
STAGE with the backbone as future work ("Future works and open problems", Ch. 7). Here STAGE is
an RoI head of mmaction2's AVA pipeline (``FastRCNN`` + ``AVARoIHead``, registered in mmdet's
MODELS as mmaction2 does with its own heads):

1. the actor boxes (proposals / ground truth) of every clip of the batch are RoI-aligned on the
   backbone feature map by the model's ``SingleRoIExtractor3D`` and averaged over t, h, w, as the
   features STAGE is trained on (Sec. 3.2.2);
2. the object boxes of each clip (``object_bboxes`` of the data sample's metainfo, normalised in
   the original frame, loaded by :class:`LoadAVAObjectBoxes`) are pooled the same way *from the
   same feature map*, so the object features are also trained end to end;
3. :class:`~.layers.STAGEModule` runs over all clips of the batch (clips of the same video
   within ``temporal_radius`` seconds are linked, Sec. 3.1.3) and gives the actor node features;
4. mmaction2's ``BBoxHeadAVA`` classifies them (its pooling is the identity on the (A, d, 1, 1, 1)
   node features) and computes the loss, so targets, sampling and prediction are mmaction2's.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor

from mmaction.models.roi_heads import AVARoIHead
from mmaction.registry import TRANSFORMS

from .layers import STAGEModule

OBJECT_SOURCES = ('metainfo', 'none')


def boxes_to_input_frame(boxes: Tensor, img_shape: Sequence[int],
                         crop_quadruple: Optional[Sequence[float]] = None,
                         flip: bool = False) -> Tensor:
    """Normalised boxes of the original frame -> pixel boxes of the network input.

    mmaction2's AVA transforms keep ``crop_quadruple = (x, y, w, h)``, the crop in normalised
    original coordinates, and ``flip`` (horizontal); ``img_shape`` is the input's (h, w). This is
    the inverse of what ``BBoxHeadAVA`` undoes at prediction (flip, then crop).

    Args:
        boxes: (N, 4) normalised x1, y1, x2, y2 in the original frame.
    Returns:
        (N, 4) x1, y1, x2, y2 in input pixels (boxes outside the crop are clipped to it).
    """
    h, w = float(img_shape[0]), float(img_shape[1])
    out = boxes.clone()
    if crop_quadruple is not None:
        qx, qy, qw, qh = (float(v) for v in crop_quadruple)
        out[:, 0::2] = (out[:, 0::2] - qx) / qw
        out[:, 1::2] = (out[:, 1::2] - qy) / qh
    out = out.clamp(0, 1) * out.new_tensor([w, h, w, h])
    if flip:
        # mmaction2's Flip for boxes: x' = w - x (its BBoxHeadAVA undoes it with w - 1 - x).
        out = torch.stack((w - out[:, 2], out[:, 1], w - out[:, 0], out[:, 3]), dim=1)
    return out


def normalise_boxes(boxes: Tensor, img_shape: Sequence[int]) -> Tensor:
    """(N, 4) pixel boxes of the input -> normalised x1, y1, x2, y2 (STAGE's geometry, Eq. 3.1)."""
    h, w = float(img_shape[0]), float(img_shape[1])
    return boxes / boxes.new_tensor([w, h, w, h])


def clip_indices(batch_img_metas: Sequence[dict]) -> Tuple[Tensor, Tensor]:
    """``clip_video`` (K,) (index of each clip's ``video_id`` among the batch's videos) and
    ``clip_time`` (K,) (``timestamp``, seconds) from the data samples' metainfo."""
    videos: Dict[str, int] = {}
    vid, time = [], []
    for k, meta in enumerate(batch_img_metas):
        if 'video_id' not in meta or 'timestamp' not in meta:
            raise KeyError(f'data sample {k}: metainfo needs video_id and timestamp (keep them in '
                           f"PackActionInputs' meta_keys), has {sorted(meta)}")
        vid.append(videos.setdefault(str(meta['video_id']), len(videos)))
        time.append(int(meta['timestamp']))
    return torch.tensor(vid, dtype=torch.long), torch.tensor(time, dtype=torch.long)


@MMDET_MODELS.register_module()
class STAGERoIHead(AVARoIHead):
    """mmaction2's ``AVARoIHead`` with STAGE between the RoI features and the bbox head.

    Args:
        in_channels: C, channels of the RoI features (2048 SlowOnly-R50, 2304 SlowFast-R50).
        stage: :class:`~.layers.STAGEModule` arguments (``num_heads``, ``num_layers``,
            ``temporal_radius``, ablation switches...). Actors and objects are pooled from the
            same feature map, so both are C-d (no projection); the node size is C + 4 (box
            height, width, centre appended, Sec. 3.2.2) and ``bbox_head.in_channels`` must be
            C + 4 (C without geometry).
        object_source: 'metainfo' (each data sample's ``object_bboxes``, (O_k, 4) normalised in
            the original frame; absent = no object) or 'none' (actors only).
        max_objects: at most this many objects per clip (the first ones: files are sorted by
            score).
        **kwargs: ``AVARoIHead`` arguments (``bbox_roi_extractor``, ``bbox_head``,
            ``shared_head``, ``train_cfg``, ``test_cfg``).
    """

    def __init__(self, in_channels: int, stage: Optional[dict] = None,
                 object_source: str = 'metainfo', max_objects: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        if object_source not in OBJECT_SOURCES:
            raise ValueError(f'object_source must be one of {OBJECT_SOURCES}, '
                             f'got {object_source!r}')
        stage = dict(stage or {})
        for key in ('actor_dim', 'object_dim', 'num_classes'):
            if key in stage:
                raise ValueError(f'STAGERoIHead sets stage.{key} itself (in_channels, bbox_head)')
        self.in_channels = in_channels
        self.object_source = object_source
        self.max_objects = max_objects
        self.stage = STAGEModule(actor_dim=in_channels,
                                 object_dim=None if object_source == 'none' else in_channels,
                                 num_classes=1, **stage)
        # STAGE's last Linear is replaced by the bbox head, which classifies its actor nodes.
        self.stage.classifier = nn.Identity()
        head_in = self.bbox_head.in_channels
        if head_in != self.stage.node_dim:
            raise ValueError(f'bbox_head.in_channels={head_in} but STAGE nodes have '
                             f'{self.stage.node_dim} channels (in_channels={in_channels} '
                             f'+ 4 box geometry values when use_geometry): set it to '
                             f'{self.stage.node_dim}')

    # ------------------------------------------------------------------ features
    def _pool(self, x, rois: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(R, 5) RoIs -> (R, C) RoI features averaged over t, h, w (Sec. 3.2.2)."""
        feats, global_feat = self.bbox_roi_extractor(x, rois)
        if self.with_shared_head:
            feats = self.shared_head(feats, feat=global_feat, rois=rois,
                                     img_metas=batch_img_metas)
        if feats.shape[1] != self.in_channels:
            raise ValueError(f'RoI features have {feats.shape[1]} channels, STAGERoIHead was '
                             f'built with in_channels={self.in_channels}')
        return feats.flatten(2).mean(2)

    def object_rois(self, batch_img_metas: List[dict], device) -> Tuple[Tensor, Tensor]:
        """Object RoIs (O, 5) in input pixels and their normalised boxes (O, 4), clip by clip."""
        if self.object_source == 'none':
            z = torch.zeros(0, 4, device=device)
            return torch.zeros(0, 5, device=device), z
        boxes, norm = [], []
        for k, meta in enumerate(batch_img_metas):
            b = meta.get('object_bboxes')
            b = torch.as_tensor(np.zeros((0, 4)) if b is None else np.asarray(b),
                                dtype=torch.float32)
            if b.dim() != 2 or b.shape[1] != 4:
                raise ValueError(f'data sample {k} ({meta.get("video_id")},'
                                 f'{meta.get("timestamp")}): object_bboxes must be (O, 4), got '
                                 f'{tuple(b.shape)}')
            b = b[:self.max_objects].to(device)
            if 'img_shape' not in meta:
                raise KeyError(f'data sample {k}: metainfo lacks img_shape')
            px = boxes_to_input_frame(b, meta['img_shape'], meta.get('crop_quadruple'),
                                      bool(meta.get('flip', False)))
            boxes.append(px)
            norm.append(normalise_boxes(px, meta['img_shape']))
        return bbox2roi(boxes), torch.cat(norm)

    def _bbox_forward(self, x: Union[Tensor, Tuple[Tensor]], rois: Tensor,
                      batch_img_metas: List[dict], **kwargs) -> dict:
        """Actor RoIs (R, 5) of the K clips -> ``cls_score`` (R, num_classes) via STAGE."""
        device = rois.device
        actor_clip = rois[:, 0].long()
        actor_feats = self._pool(x, rois, batch_img_metas)
        shapes = rois.new_tensor([[m['img_shape'][1], m['img_shape'][0]] * 2
                                  for m in batch_img_metas])
        actor_boxes = rois[:, 1:] / shapes[actor_clip]
        obj_rois, obj_boxes = self.object_rois(batch_img_metas, device)
        obj_feats = self._pool(x, obj_rois, batch_img_metas) if len(obj_rois) else None
        clip_video, clip_time = clip_indices(batch_img_metas)
        nodes = self.stage(actor_feats, actor_boxes, actor_clip, obj_feats,
                           obj_boxes if obj_feats is not None else None,
                           obj_rois[:, 0].long() if obj_feats is not None else None,
                           clip_video.to(device), clip_time.to(device))       # (R, C + 4)
        cls_score = self.bbox_head(nodes[:, :, None, None, None])
        return dict(cls_score=cls_score, bbox_feats=nodes)

    def predict(self, x, rpn_results_list, data_samples, **kwargs):
        """As ``AVARoIHead.predict`` for any number of clips (several consecutive keyframes give
        STAGE its temporal links at test time too)."""
        batch_img_metas = [ds.metainfo for ds in data_samples]
        return self.predict_bbox(x, batch_img_metas, rpn_results_list,
                                 rcnn_test_cfg=self.test_cfg)


@TRANSFORMS.register_module()
class LoadAVAObjectBoxes(BaseTransform):
    """Object boxes of the keyframe, for :class:`STAGERoIHead` (``results['object_bboxes']``).

    Reads ``(video_id, timestamp)`` from a project-format object file
    (``tools/data/ava/extract_object_features.py``) or a pkl like mmaction2's proposals
    ("vid,ts" -> (N, 5) normalised boxes + score). Keeps boxes with score >= ``min_score``, at
    most ``max_objects``, highest scores first. Put ``'object_bboxes'`` (and ``'crop_quadruple'``,
    ``'flip'`` when the pipeline crops or flips) in ``PackActionInputs``' ``meta_keys``.

    Args:
        object_file: ``.h5`` (project format, kind 'objects') or ``.pkl``.
        min_score: score threshold.
        max_objects: cap per keyframe (None: all).
        on_missing: 'error' (a keyframe absent from the file raises, naming both) or 'empty'
            (no objects; counted in ``self.missing`` and logged).
    """

    def __init__(self, object_file: str, min_score: float = 0.0,
                 max_objects: Optional[int] = None, on_missing: str = 'error'):
        if on_missing not in ('error', 'empty'):
            raise ValueError(f"on_missing must be 'error' or 'empty', got {on_missing!r}")
        self.object_file = object_file
        self.min_score, self.max_objects, self.on_missing = min_score, max_objects, on_missing
        self.missing: Counter = Counter()
        self._boxes = None
        self._reader = None

    def _lookup(self, video_id: str, timestamp: int) -> Optional[np.ndarray]:
        """(N, 5) boxes + scores, or None when the file has no entry for the keyframe."""
        if self.object_file.endswith('.pkl'):
            if self._boxes is None:
                from .extraction import read_proposals
                self._boxes = read_proposals(self.object_file)
            return self._boxes.get((video_id, int(timestamp)))
        if self._reader is None:
            from .feature_io import build_reader
            self._reader = build_reader('vidplugins', 'objects', self.object_file)
        if not self._reader.has(video_id, timestamp):
            return None
        entry = self._reader.read(video_id, timestamp)
        return np.concatenate([entry['boxes'], entry['scores'][:, None]], axis=1)

    def transform(self, results: dict) -> dict:
        vid, ts = results['video_id'], int(results['timestamp'])
        boxes = self._lookup(vid, ts)
        if boxes is None:
            if self.on_missing == 'error':
                raise KeyError(f'{self.object_file}: no object entry for keyframe {vid},{ts:04d}')
            self.missing['keyframes without objects'] += 1
            if self.missing['keyframes without objects'] == 1:
                MMLogger.get_current_instance().warning(
                    f'{self.object_file}: no objects for keyframe {vid},{ts:04d} (further '
                    f'misses are counted in LoadAVAObjectBoxes.missing)')
            boxes = np.zeros((0, 5), np.float32)
        boxes = boxes[boxes[:, 4] >= self.min_score]
        boxes = boxes[np.argsort(-boxes[:, 4], kind='stable')][:self.max_objects]
        results['object_bboxes'] = boxes[:, :4].astype(np.float32)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(object_file={self.object_file!r}, '
                f'min_score={self.min_score}, max_objects={self.max_objects})')
