"""Multi-person body masks for body-level anonymisation (issue 15, item 7).

MediaPipe selfie segmentation is a one-person model: on a street or a basketball court it masks
one or two people and leaves the rest. :class:`MultiPersonSegmenter` instead

1. finds person boxes with a multi-person detector (OpenCV HOG people detector by default, upscaled
   so small people reach its 64 x 128 window; any mmdet model when given);
2. runs the segmenter on each person's crop (each crop has one person, what the model is made for)
   and keeps its mask inside the crop; when the mask covers less than ``min_fill`` of the box, the
   box itself is the person's mask (covering, not trusting an empty mask);
3. adds the segmenter's components on the whole frame (close-ups a window detector misses);
4. always adds the face pass (``faces``: the face level's detector), enlarged boxes rasterised as
   masks: body level hides at least everything face level does.

Every instance's score is put on the anonymiser's common scale
(:func:`~.detectors.calibrated_scores`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .detectors import (PRIVACY_DETECTORS, BaseDetector, Detections, _check_frame, build_detector,
                        calibrated_scores, masks_from_probability)
from .obfuscation import boxes_to_mask

__all__ = ['MultiPersonSegmenter']


@PRIVACY_DETECTORS.register_module()
class MultiPersonSegmenter(BaseDetector):
    """Person boxes -> one mask per person crop, plus whole-frame segments, plus the face pass.

    Args:
        persons: person box detector config (COCO person boxes; default OpenCV HOG, upscaled).
        person_thresholds: its ``(unsure, accept)`` on its own score scale.
        segmenter_min_score: probability threshold of the selfie-segmentation masks.
        crop_margin: each person box grows by this fraction per side before segmenting its crop.
        min_fill: a crop mask covering less than this share of the person box is replaced by the
            box.
        faces: face detector config (None: no face pass); its scores are already on the common
            scale.
        face_enlarge: enlargement of each face box (as the face level's ``enlarge``).
        whole_frame: also segment the whole frame (selfie segmentation components).
    """
    gives_masks = True

    def __init__(self, persons: Optional[dict] = None,
                 person_thresholds: Sequence[float] = (0.55, 0.7),
                 segmenter_min_score: float = 0.3, crop_margin: float = 0.1,
                 min_fill: float = 0.15, faces=None, face_enlarge: float = 0.15,
                 whole_frame: bool = True, dilate: int = 3):
        self.persons = build_detector(persons or dict(
            type='HOGPeopleDetector', target_side=800, scale=1.1, min_score=0.0))
        self.person_thresholds = tuple(float(t) for t in person_thresholds)
        self.segmenter_min_score = float(segmenter_min_score)
        self.crop_margin, self.min_fill = float(crop_margin), float(min_fill)
        self.faces = None if faces is None else build_detector(faces)
        self.face_enlarge, self.whole_frame, self.dilate = float(face_enlarge), bool(whole_frame), \
            int(dilate)
        self._model = None

    @property
    def last_disagreement(self):
        """The face pass's :class:`~.detectors.Disagreement` on the last frame (None without)."""
        return getattr(self.faces, 'last_disagreement', None)

    def reset(self, video_path: Optional[str] = None) -> None:
        for d in (self.persons, self.faces):
            if d is not None and hasattr(d, 'reset'):
                d.reset(video_path)

    def _segment(self, img: np.ndarray) -> np.ndarray:
        if self._model is None:
            import mediapipe as mp
            self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        prob = self._model.process(np.ascontiguousarray(img)).segmentation_mask
        if prob is None:
            from .detectors import MalformedDetections
            raise MalformedDetections('selfie segmentation returned no mask')
        return prob

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        H, W = frame.shape[:2]
        boxes, scores, masks = [], [], []
        persons = self.persons(frame).validated(frame.shape)
        s = calibrated_scores(persons.scores, *self.person_thresholds)
        for (x1, y1, x2, y2), sc in zip(persons.boxes, s):
            if sc < 0:
                continue
            mx, my = self.crop_margin * (x2 - x1), self.crop_margin * (y2 - y1)
            c1, r1 = int(max(0, np.floor(x1 - mx))), int(max(0, np.floor(y1 - my)))
            c2, r2 = int(min(W, np.ceil(x2 + mx))), int(min(H, np.ceil(y2 + my)))
            if c2 - c1 < 2 or r2 - r1 < 2:
                continue
            prob = self._segment(frame[r1:r2, c1:c2])
            m = np.zeros((H, W), bool)
            m[r1:r2, c1:c2] = prob >= self.segmenter_min_score
            box_mask = boxes_to_mask([[x1, y1, x2, y2]], (H, W))
            if (m & box_mask).sum() < self.min_fill * box_mask.sum():
                m |= box_mask
            ys, xs = np.nonzero(m)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            scores.append(float(sc))
            masks.append(m)
        if self.whole_frame:
            seg = masks_from_probability(self._segment(frame), self.segmenter_min_score, 0.0005,
                                         self.dilate)
            # selfie segmentation's probabilities: >= 0.5 accepted, [0.3, 0.5) unsure as before
            for b, sc, m in zip(seg.boxes, seg.scores, seg.masks):
                boxes.append(list(b))
                scores.append(float(sc))
                masks.append(m)
        if self.faces is not None:
            f = self.faces(frame).validated(frame.shape)
            for b, sc in zip(f.boxes, f.scores):
                boxes.append(list(b))
                scores.append(float(sc))
                masks.append(boxes_to_mask(b[None], (H, W), self.face_enlarge))
        if not boxes:
            return Detections.empty((H, W), with_masks=True)
        return Detections(np.asarray(boxes, np.float32), np.clip(np.asarray(scores, np.float32),
                                                                 0, 1), np.stack(masks))
