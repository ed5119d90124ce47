"""Multi-person body masks for body-level anonymisation (issue 15, item 7).

MediaPipe selfie segmentation is a one-person model: on a street or a basketball court it masks
one or two people and leaves the rest. :class:`MultiPersonSegmenter` instead

1. finds person boxes with multi-person detectors, by default the union of BlazePose's person
   detector (:class:`BlazePosePersonDetector`, on the whole frame and overlapping tiles; it also
   gives each person's head box) and OpenCV's HOG people detector (upscaled 2x so people from
   ~48 px reach its 64 x 128 window, :class:`SmallPeopleHOG`); any mmdet model when given;
2. runs the segmenter on each person's crop (each crop has one person, what the model is made for)
   and keeps its mask inside the crop; when the mask covers less than ``min_fill`` of the box, the
   box itself is the person's mask (covering, not trusting an empty mask: fail-closed); a box
   lower than ``box_below`` px is its own mask, enlarged by ``small_enlarge`` per side;
3. obfuscates the head box of every person the pose detector found (what the face level's head
   fallback does for a person without a face box; here for every person: a mask per crop may miss
   a head); a pose detection in the unsure band gets its head box only, not a body box;
4. adds the segmenter's components on the whole frame (close-ups a window detector misses);
5. always adds the face pass (``faces``: the face level's detector), enlarged boxes rasterised as
   masks; each accepted face also seeds a person (:func:`face_person`: head with hair and
   headwear, body below, segmented). ``last_faces`` keeps the face pass's detections: the body
   level's :class:`~.anonymizer.FrameAnonymizer` takes the face level's own decision from them
   and obfuscates it first (body level hides at least everything face level does, at least as
   strongly).

Person recall on hand-annotated frames of the shared videos: :mod:`.person_recall`.

Every instance's score is put on the anonymiser's common scale
(:func:`~.detectors.calibrated_scores`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .detectors import (PRIVACY_DETECTORS, BaseDetector, Detections, HOGPeopleDetector,
                        MalformedDetections, _check_frame, build_detector, calibrated_scores,
                        masks_from_probability, overlap_groups, union_box)
from .obfuscation import boxes_to_mask
from .tiling import tile_windows

__all__ = ['MultiPersonSegmenter', 'BlazePosePersonDetector', 'SmallPeopleHOG', 'pose_person_box',
           'group_by_head', 'person_windows', 'detector_windows', 'box_head', 'face_person']

#: mediapipe's pose-detection subgraph (its ``pose_detection_cpu`` graph, registered in the
#: mediapipe library): 224 x 224 letterboxed input in [-1, 1], BlazePose's SSD anchors (2254),
#: sigmoid scores >= 0.5, letterbox removal and weighted NMS (IoU 0.3), no cap on the number of
#: people. Each detection is the person's head box plus 4 keypoints: hip centre, a point on the
#: circle around the whole body, shoulder centre, a point on the circle around the upper body.
_POSE_GRAPH = """
input_stream: "image"
output_stream: "detections"
node {
  calculator: "PoseDetectionCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
"""


def pose_person_box(hip: Sequence[float], circle: Sequence[float], head: Sequence[float],
                    scale: float = 1.0, width: float = 0.6) -> np.ndarray:
    """Person box of a pose detection. BlazePose's detector gives the hip centre and a point on
    the circle around the whole body (radius ``r``, pointing from the hips to the head): the body
    is the rectangle of half-length ``scale * r`` along that axis and half-width ``width * r``
    across it, centred on the hips; its axis-aligned box, grown to hold the head box too. Points
    ``(x, y)``, head ``(x1, y1, x2, y2)``, all in pixels -> ``(4,)``."""
    hip, circle = np.asarray(hip, np.float64), np.asarray(circle, np.float64)
    axis = circle - hip
    r = float(np.hypot(*axis))
    u = axis / r if r > 0 else np.array([0.0, -1.0])
    v = np.array([-u[1], u[0]])
    corners = np.array([hip + a * scale * r * u + b * width * r * v
                        for a in (-1, 1) for b in (-1, 1)])
    box = np.concatenate([corners.min(0), corners.max(0)]).astype(np.float32)
    box[:2] = np.minimum(box[:2], np.asarray(head[:2], np.float32))
    box[2:] = np.maximum(box[2:], np.asarray(head[2:], np.float32))
    return box


def box_head(box: Sequence[float], fraction: float = 0.3, width: float = 0.6) -> np.ndarray:
    """Head region of a person box from a detector that gives no head (a window detector such as
    HOG: the person fills the window's central 60 % x 75 %, the head its top): the top
    ``fraction`` of the box's height, the central ``width`` of its width. ``(4,) -> (4,)``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, hw = (x1 + x2) / 2, width * (x2 - x1) / 2
    return np.array([cx - hw, y1, cx + hw, y1 + fraction * (y2 - y1)], np.float32)


def face_person(face: Sequence[float], up: float = 0.6, side: float = 0.3,
                body_width: float = 3.0, body_height: float = 4.0):
    """A found face as a person seed: the head around it (the face box grown by ``up`` of its
    height upwards, hair and headwear, and by ``side`` of its width on each side) and the body box
    below it (``body_width`` face widths wide, centred, ``body_height`` face heights high, from
    the face's bottom). ``(4,) -> (head (4,), body (4,))``, not clipped to the frame."""
    x1, y1, x2, y2 = (float(v) for v in face)
    w, h, cx = x2 - x1, y2 - y1, (x1 + x2) / 2
    head = np.array([x1 - side * w, y1 - up * h, x2 + side * w, y2], np.float32)
    body = np.array([cx - body_width * w / 2, y2, cx + body_width * w / 2, y2 + body_height * h],
                    np.float32)
    return head, body


def group_by_head(heads: np.ndarray, persons: np.ndarray, scores: np.ndarray,
                  iou: float = 0.3):
    """Merge detections of one person found in several windows: highest score first, every
    detection whose head box overlaps a kept one's by IoU > ``iou`` joins it (head and person
    boxes become the unions, score the larger). ``(N, 4), (N, 4), (N,) -> (K, 4), (K, 4), (K,)``.
    """
    heads = np.asarray(heads, np.float32).reshape(-1, 4)
    persons = np.asarray(persons, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    groups = overlap_groups(heads, scores, iou)
    return (np.asarray([union_box(heads[g]) for g in groups], np.float32).reshape(-1, 4),
            np.asarray([union_box(persons[g]) for g in groups], np.float32).reshape(-1, 4),
            np.asarray([scores[g[0]] for g in groups], np.float32))


def person_windows(h: int, w: int, tile_frac: float = 0.5, min_tile: int = 224,
                   overlap: float = 0.5) -> list[tuple[int, int, int, int]]:
    """The whole frame, then square tiles of side ``max(min_tile, tile_frac * min(h, w))``
    overlapping by ``overlap`` of their side (the detector's 224 px input sees a person of a tile
    at 224 / side of its size: at 960x540, 0.83x instead of 0.23x for the whole frame)."""
    windows = [(0, 0, int(w), int(h))]
    side = int(max(min_tile, round(tile_frac * min(h, w))))
    if side < max(h, w):
        windows += [t for t in tile_windows(h, w, side, int(overlap * side))
                    if t != (0, 0, int(w), int(h))]
    return windows


def detector_windows(shape: Sequence[int], tile_frac: Optional[float], min_tile: int,
                     overlap: float) -> list[tuple[int, int, int, int]]:
    """A windowed person detector's windows for a frame of ``shape`` (H, W, ...):
    :func:`person_windows`, or the whole frame only when ``tile_frac`` is None."""
    h, w = int(shape[0]), int(shape[1])
    if tile_frac is None:
        return [(0, 0, w, h)]
    return person_windows(h, w, tile_frac, min_tile, overlap)


@PRIVACY_DETECTORS.register_module()
class BlazePosePersonDetector(BaseDetector):
    """Multi-person person boxes and head boxes from BlazePose's person detector (the
    ``pose_detection.tflite`` that ships in the mediapipe wheel), run through mediapipe's own
    pose-detection graph (anchors, decoding and NMS as mediapipe does them) on the whole frame and
    on overlapping tiles (:func:`person_windows`); the detections of all windows are grouped per
    person by their head boxes (:func:`group_by_head`).

    The detector finds a person by the head and predicts the circle around the whole body, so it
    finds people seen from behind, seated, cut by the frame border or on a bicycle, where a
    full-body window detector (HOG) does not. Returns person boxes (:func:`pose_person_box`) with
    the detector's scores (>= 0.5); ``last_heads`` holds the ``(N, 4)`` head boxes of the same
    people.

    Args:
        tile_frac, min_tile, overlap: tiles, see :func:`person_windows` (``tile_frac=None``: the
            whole frame only).
        scale, width: person box half-length along the body axis and half-width across it, in
            units of the body-circle radius (:func:`pose_person_box`).
        merge_iou: head boxes of different windows overlapping more than this are one person.
    """

    def __init__(self, tile_frac: Optional[float] = 0.5, min_tile: int = 224,
                 overlap: float = 0.5, scale: float = 1.0, width: float = 0.6,
                 merge_iou: float = 0.3):
        self.tile_frac, self.min_tile, self.overlap = tile_frac, int(min_tile), float(overlap)
        self.scale, self.width, self.merge_iou = float(scale), float(width), float(merge_iou)
        self.last_heads = np.zeros((0, 4), np.float32)
        self._model = None

    def windows(self, shape: Sequence[int]) -> list[tuple[int, int, int, int]]:
        return detector_windows(shape, self.tile_frac, self.min_tile, self.overlap)

    def _build(self):
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase
        cfg = text_format.Parse(_POSE_GRAPH, calculator_pb2.CalculatorGraphConfig())
        return SolutionBase(graph_config=cfg, outputs=['detections'])

    def detect_window(self, img: np.ndarray):
        """``(h, w, 3)`` uint8 -> head boxes (N, 4), person boxes (N, 4), scores (N,) in pixels
        of ``img``."""
        if self._model is None:
            self._model = self._build()
        h, w = img.shape[:2]
        heads, persons, scores = [], [], []
        for d in self._model.process({'image': np.ascontiguousarray(img)}).detections or []:
            bb, kp = d.location_data.relative_bounding_box, d.location_data.relative_keypoints
            if len(kp) < 2:
                raise MalformedDetections(f'pose detection with {len(kp)} keypoints (need 2)')
            head = np.array([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w,
                             (bb.ymin + bb.height) * h], np.float32)
            heads.append(head)
            persons.append(pose_person_box((kp[0].x * w, kp[0].y * h),
                                           (kp[1].x * w, kp[1].y * h), head, self.scale,
                                           self.width))
            scores.append(float(d.score[0]))
        return (np.asarray(heads, np.float32).reshape(-1, 4),
                np.asarray(persons, np.float32).reshape(-1, 4), np.asarray(scores, np.float32))

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        H, W = frame.shape[:2]
        heads, persons, scores = [], [], []
        for x1, y1, x2, y2 in self.windows(frame.shape):
            hb, pb, sc = self.detect_window(frame[y1:y2, x1:x2])
            off = np.array([x1, y1, x1, y1], np.float32)
            heads.append(hb + off)
            persons.append(pb + off)
            scores.append(sc)
        hb, pb, sc = group_by_head(np.concatenate(heads), np.concatenate(persons),
                                   np.concatenate(scores), self.merge_iou)
        lim = np.array([W, H, W, H], np.float32)
        self.last_heads = np.clip(hb, 0, lim)
        return Detections(np.clip(pb, 0, lim), np.clip(sc, 0, 1))


@PRIVACY_DETECTORS.register_module()
class SmallPeopleHOG(HOGPeopleDetector):
    """OpenCV's HOG people detector on the frame upscaled by ``upscale`` (default 2), capped so
    the upscaled longer side is at most ``max_side`` px (never below 1x): its 64 x 128 window
    (a person of ~96 px inside) then finds people from ~48 px high in frames up to
    ``max_side / upscale`` px wide, the pedestrians a 224 px-input person detector sees as a few
    pixels. Cost grows with the upscaled area (x4 at 2x)."""

    def __init__(self, upscale: float = 2.0, max_side: int = 1920, **kwargs):
        super().__init__(upscale=upscale, **kwargs)
        self.max_upscale, self.max_side = float(upscale), int(max_side)

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        self.upscale = max(1.0, min(self.max_upscale, self.max_side / max(frame.shape[:2])))
        return super().__call__(frame)


#: Default person detectors of the body level, united: BlazePose's person detector on the whole
#: frame and tiles (finds people by the head: back views, seated, cut by the border), OpenCV's
#: HOG people detector on the frame upscaled 2x up to a 1920 px longer side (upright full bodies
#: from ~48 px high, :class:`SmallPeopleHOG`) and SSDLite-MobileNetV2 on the whole frame and tiles
#: (full-body boxes of people with no head in view, crowds;
#: :class:`~.ssdlite.SSDLitePersonDetector`). On the 44 annotated people of the shared frames,
#: without temporal carry: BlazePose + HOG 39, all three 42.
PERSON_DETECTORS = [dict(type='BlazePosePersonDetector'),
                    dict(type='SmallPeopleHOG', upscale=2.0, max_side=1920, scale=1.1,
                         min_score=0.0),
                    dict(type='SSDLitePersonDetector')]
#: their ``(unsure, accept)`` on their own scales (BlazePose: its sigmoid score, which mediapipe's
#: graph returns from 0.5 up; HOG: sigmoid of the SVM margin; SSDLite: its sigmoid score, where
#: (0.3, 0.5) found one more annotated person than (0.4, 0.6) but raised the obfuscated area
#: outside the people from 0.95x to 1.06x their area, median over the annotated frames)
PERSON_THRESHOLDS = [(0.5, 0.6), (0.55, 0.7), (0.4, 0.6)]


@PRIVACY_DETECTORS.register_module()
class MultiPersonSegmenter(BaseDetector):
    """Person boxes -> one mask per person crop, head boxes, whole-frame segments, the face pass.

    Args:
        persons: person box detector config(s) (one dict / object or a list, all united; default
            :data:`PERSON_DETECTORS`). A member with a ``last_heads`` attribute (``(N, 4)`` head
            boxes after each call, :class:`BlazePosePersonDetector`) also gets its heads
            obfuscated.
        person_thresholds: ``(unsure, accept)`` on each member's own score scale: one pair for
            all members or one per member.
        segmenter_min_score: probability threshold of the selfie-segmentation masks.
        crop_margin: each person box grows by this fraction per side before segmenting its crop.
        min_fill: a crop mask covering less than this share of the person box is replaced by the
            box.
        box_below: a person box lower than this (px) is its own mask, not segmented (a one-person
            segmenter on a crop of a few dozen pixels misses the head or returns nothing).
        small_enlarge: such a box is enlarged by this fraction of its side per end (a window
            detector places a person of a few dozen pixels within a few pixels: on the annotated
            shared frames 0 / 0.1 / 0.2 / 0.3 / 0.4 covered 36 / 37 / 38 / 39 / 39 of 44 people
            without carry, at 0.73 / 0.80 / 0.87 / 0.94 / 1.02x their area outside them).
        head_fraction, head_width: head region of a person from a member without head boxes
            (:func:`box_head`).
        head_enlarge: enlargement of each head box (fraction of its side per end).
        faces: face detector config (None: no face pass); its scores are already on the common
            scale.
        face_enlarge: enlargement of each face box (as the face level's ``enlarge``).
        whole_frame: also segment the whole frame (selfie segmentation components).
        face_seeds: every accepted face (score >= 0.5) of the face pass is also a person: its
            head (:func:`face_person`, hair and headwear around the face) and the body below it
            (segmented as a person box), for people the person detectors miss (a head cut by the
            frame corner, a seated person).

    After each call ``last_counts`` gives the number of accepted people per member and of head
    boxes added, and ``last_faces`` the face pass's detections (validated; None without a face
    pass), from which the body-level anonymiser also takes the face level's own decision
    (:meth:`~.anonymizer.FrameAnonymizer.face_pass_region`).
    """
    gives_masks = True

    def __init__(self, persons=None, person_thresholds: Optional[Sequence] = None,
                 segmenter_min_score: float = 0.3, crop_margin: float = 0.1,
                 min_fill: float = 0.15, head_enlarge: float = 0.25, faces=None,
                 face_enlarge: float = 0.15, whole_frame: bool = True, dilate: int = 3,
                 box_below: float = 96, head_fraction: float = 0.3, head_width: float = 0.6,
                 face_seeds: bool = True, small_enlarge: float = 0.3):
        members = PERSON_DETECTORS if persons is None else persons
        if isinstance(members, dict) or callable(members):
            members = [members]
        self.persons = [build_detector(d) for d in members]
        if person_thresholds is None:
            person_thresholds = PERSON_THRESHOLDS if persons is None else (0.55, 0.7)
        th = list(person_thresholds)
        if len(th) == 2 and not isinstance(th[0], (list, tuple)):
            th = [th] * len(self.persons)
        if len(th) != len(self.persons):
            raise ValueError(f'MultiPersonSegmenter: {len(self.persons)} person detectors but '
                             f'{len(th)} (unsure, accept) pairs')
        self.person_thresholds = [(float(u), float(a)) for u, a in th]
        self.segmenter_min_score = float(segmenter_min_score)
        self.crop_margin, self.min_fill = float(crop_margin), float(min_fill)
        self.head_enlarge = float(head_enlarge)
        self.faces = None if faces is None else build_detector(faces)
        self.face_enlarge, self.whole_frame, self.dilate = float(face_enlarge), bool(whole_frame), \
            int(dilate)
        self.box_below, self.face_seeds = float(box_below), bool(face_seeds)
        self.small_enlarge = float(small_enlarge)
        self.head_fraction, self.head_width = float(head_fraction), float(head_width)
        self.last_counts: dict = {}
        self.last_faces: Optional[Detections] = None
        self._model = None

    @property
    def last_disagreement(self):
        """The face pass's :class:`~.detectors.Disagreement` on the last frame (None without)."""
        return getattr(self.faces, 'last_disagreement', None)

    def reset(self, video_path: Optional[str] = None) -> None:
        for d in (*self.persons, self.faces):
            if d is not None and hasattr(d, 'reset'):
                d.reset(video_path)

    def seek(self, frame_index: int) -> None:
        for d in (*self.persons, self.faces):
            if d is not None and hasattr(d, 'seek'):
                d.seek(frame_index)

    def _segment(self, img: np.ndarray) -> np.ndarray:
        if self._model is None:
            import mediapipe as mp
            self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        prob = self._model.process(np.ascontiguousarray(img)).segmentation_mask
        if prob is None:
            raise MalformedDetections('selfie segmentation returned no mask')
        return prob

    def _person_mask(self, frame: np.ndarray, box) -> Optional[np.ndarray]:
        """The selfie mask of the person's crop (the box grown by ``crop_margin``), or the box
        itself where the mask fills less than ``min_fill`` of it; None for a degenerate box."""
        H, W = frame.shape[:2]
        x1, y1, x2, y2 = box
        mx, my = self.crop_margin * (x2 - x1), self.crop_margin * (y2 - y1)
        c1, r1 = int(max(0, np.floor(x1 - mx))), int(max(0, np.floor(y1 - my)))
        c2, r2 = int(min(W, np.ceil(x2 + mx))), int(min(H, np.ceil(y2 + my)))
        if c2 - c1 < 2 or r2 - r1 < 2:
            return None
        if y2 - y1 < self.box_below:
            return boxes_to_mask([[x1, y1, x2, y2]], (H, W), self.small_enlarge)
        prob = self._segment(frame[r1:r2, c1:c2])
        m = np.zeros((H, W), bool)
        m[r1:r2, c1:c2] = prob >= self.segmenter_min_score
        box_mask = boxes_to_mask([[x1, y1, x2, y2]], (H, W))
        if (m & box_mask).sum() < self.min_fill * box_mask.sum():
            m |= box_mask
        return m

    def __call__(self, frame: np.ndarray) -> Detections:
        _check_frame(frame)
        H, W = frame.shape[:2]
        boxes, scores, masks = [], [], []
        self.last_faces = None  # never a previous frame's

        def add(m, sc):
            ys, xs = np.nonzero(m)
            if len(xs):
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                scores.append(float(sc))
                masks.append(m)
        counts = dict(persons=[], heads=0, face_seeds=0)
        for det, (u, a) in zip(self.persons, self.person_thresholds):
            found = det(frame).validated(frame.shape)
            s = calibrated_scores(found.scores, u, a)
            heads = getattr(det, 'last_heads', None)
            counts['persons'].append(int((s >= 0.5).sum()))
            for k, (b, sc) in enumerate(zip(found.boxes, s)):
                if sc < 0:
                    continue
                # a person whose detector has heads and is unsure (a bag, a car door scored
                # 0.5-0.6) gets its head box only: a wrong body box would hide a whole region
                if heads is None or sc >= 0.5:
                    m = self._person_mask(frame, b)
                    if m is not None:
                        add(m, sc)
                if heads is not None and k < len(heads):
                    add(boxes_to_mask(np.asarray(heads[k])[None], (H, W), self.head_enlarge), sc)
                    counts['heads'] += 1
                elif heads is None and b[3] - b[1] >= self.box_below:  # a window detector's
                    # segmented box: its top too (the crop's mask may miss the head)
                    add(boxes_to_mask(box_head(b, self.head_fraction, self.head_width)[None],
                                      (H, W), self.head_enlarge), sc)
                    counts['heads'] += 1
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
            self.last_faces = f
            for b, sc in zip(f.boxes, f.scores):
                boxes.append(list(b))
                scores.append(float(sc))
                masks.append(boxes_to_mask(b[None], (H, W), self.face_enlarge))
                if self.face_seeds and sc >= 0.5:
                    head, body = face_person(b)
                    lim = np.array([W, H, W, H], np.float32)
                    add(boxes_to_mask(np.clip(head, 0, lim)[None], (H, W)), sc)
                    body = np.clip(body, 0, lim)
                    m = self._person_mask(frame, body) if body[3] - body[1] >= 2 else None
                    if m is not None:
                        add(m, sc)
                    counts['face_seeds'] += 1
        self.last_counts = counts
        if not boxes:
            return Detections.empty((H, W), with_masks=True)
        return Detections(np.asarray(boxes, np.float32), np.clip(np.asarray(scores, np.float32),
                                                                 0, 1), np.stack(masks))
