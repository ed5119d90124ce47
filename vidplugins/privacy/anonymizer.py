"""Fail-closed anonymisation of frames, videos and video datasets (thesis Sec. 5.1).

Per frame (:class:`FrameAnonymizer`), a detector finds faces (level ``'face'``) or people (level
``'body'``) and every accepted instance is obfuscated (:func:`~.obfuscation.obfuscate`, the thesis's
normalised box filter by default). The thesis runs detection per frame with no tracking; temporal
``carry`` (:func:`anonymize_frames`; 2 by default with the default detectors) also obfuscates each
frame with the instances of its ``carry`` neighbours on both sides, so a face found in frames
``t - 1`` and ``t + 1`` is covered in ``t``.

Defaults (issue 15, :data:`LEVEL_DEFAULTS`): face level = two independent detector families
(BlazeFace on the whole frame and on pyramid tiles, dlib HOG) whose union is obfuscated, plus a
multi-person head cue (persons with no face box get their head obfuscated, counted as
``head_fallbacks``); frames where the families disagree beyond ``disagree_thr`` are listed in the
report (``disagreement_frames``). Body level = person boxes with a mask per person crop, plus the
face level's detector; the face level's own decision on the same face and person-cue detections
(:meth:`FrameAnonymizer.face_pass_region`, carried across frames as the face level carries it) is
obfuscated first and the body region (which holds it) on top, so the body-level output hides every
pixel the face-level output hides, at least as strongly.

Fail-closed policy
------------------
A frame with no face (or no person) is legitimate: there is nothing to hide. So "no detection" is
not by itself a failure. What is treated as "I am not sure" (each counted in the report by reason):

===================== ================================================ ========================
reason                when                                              action
===================== ================================================ ========================
``detector_error``    the detector (or the person cue) raises           whole frame
``malformed``         its output has wrong shapes, NaN / inf, scores    whole frame
                      outside [0, 1] or inverted boxes
``unsure``            an instance scores in ``[unsure_thr, accept_thr)`` whole frame
                      and is not already covered by an accepted one     (``unsure_action='frame'``)
                                                                        or that box only
                                                                        (``'region'``)
``person_no_face``    a ``person_cue`` person scores ``>= person_thr``  the head region (top
                      and, at face level, no accepted face lies in its  ``head_fraction`` of the
                      box (face missed, or seen from behind); at body   person box; at body
                      level, its head region is not already hidden      level the person box;
                      (< ``HEAD_HIDDEN`` of it obfuscated)              ``'head'``) or whole
                                                                        frame (``'frame'``)
===================== ================================================ ========================

Scores ``>= accept_thr`` are obfuscated; scores ``< unsure_thr`` are the detector's noise floor and
ignored. A video whose share of whole-frame obfuscations exceeds ``max_whole_ratio`` is reported as
``failed`` and not written (the detector is evidently not working on it).

Video I/O (PyAV): frames are decoded to RGB, and written with the input's frame count and frame rate
(constant, the stream's average rate) to a temporary file in the output folder that is renamed over
the output only when complete (``os.replace``), so an interrupted run never leaves a video that looks
finished. :func:`anonymize_dataset` mirrors a folder, runs videos in worker processes, shows progress,
resumes (a finished video has its state file) and writes ``anonymize_report.json``.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from vidplugins.utils.io import dump_json_atomic
from .detectors import (BODY_DETECTOR, FACE_DETECTOR, PERSON_CUE, Detections,
                        MalformedDetections, build_detector)
from .inputs import (IMAGE_EXTENSIONS, RAWFRAME_REGEX, VIDEO_EXTENSIONS, InputItem,
                     classify_path, in_shard, read_image, remove_stale_temporaries, replace_dir,
                     set_default_mode, walk_inputs, write_image)
from .obfuscation import boxes_to_mask, feathered_obfuscate, obfuscate

__all__ = ['FrameResult', 'Policy', 'face_level_policy', 'decide_detections', 'FrameAnonymizer',
           'anonymize_frames', 'VideoReadError', 'probe_video', 'read_frames', 'VideoWriter',
           'anonymize_video', 'anonymize_dataset', 'list_videos',
           'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'LEVEL_DEFAULTS', 'build_anonymizer',
           'anonymize_image', 'anonymize_rawframes']

#: Body level: a person cue's head counts as hidden when this share of it is already obfuscated.
HEAD_HIDDEN = 0.9

#: Defaults per protection level (thesis Sec. 5.1: a face detector, or person masks).
#: Issue 15: two detector families with tiling, a multi-person head cue, temporal carry of 2 frames,
#: unsure boxes obfuscated as regions (whole frames only when a detector fails); see detectors.py.
LEVEL_DEFAULTS = {
    'face': dict(detector=FACE_DETECTOR, accept_thr=0.5, unsure_thr=0.3, enlarge=0.05,
                 unsure_action='region', person_cue=PERSON_CUE, person_thr=0.7,
                 head_fraction=0.25, carry=2),
    # the face level's person cue too: a person it finds whose head the body level left visible
    # gets its box obfuscated (body level hides at least what face level hides)
    'body': dict(detector=BODY_DETECTOR, accept_thr=0.5, unsure_thr=0.3, enlarge=0.05,
                 unsure_action='region', person_cue=PERSON_CUE, person_thr=0.7,
                 head_fraction=0.25, carry=2, feather=10),
}


@dataclass
class FrameResult:
    """What the policy decided for one frame.

    Attributes:
        region: ``(H, W)`` bool, the pixels of the instances to obfuscate (before temporal carry).
        whole: the frame is obfuscated whole; ``reason`` says why.
        instances: accepted instances; unsure: instances in the unsure band;
        head_fallbacks: persons without a face whose head region was added.
        disagreement, disagree: the detector families' disagreement ratio
            (:class:`~.detectors.FamilyUnionDetector`) and whether it exceeds ``disagree_thr``.
        alone: accepted faces that one family found alone, whatever the others are built to find
            (mostly profiles the frontal family does not see; counted, not flagged).
        face_region: body level only, ``(H, W)`` bool: the region the face level decides on the
            same frame (:meth:`FrameAnonymizer.face_pass_region`, from the same face and person-cue
            detections), obfuscated first as the face level does it, then ``region`` (which
            holds it) on top; None at face level or without a face pass.
    """
    region: np.ndarray
    whole: bool = False
    reason: Optional[str] = None
    instances: int = 0
    unsure: int = 0
    head_fallbacks: int = 0
    error: Optional[str] = None
    disagreement: float = 0.0
    disagree: bool = False
    alone: int = 0
    face_region: Optional[np.ndarray] = None


@dataclass(frozen=True)
class Policy:
    """The fail-closed policy's settings (module docstring; :class:`FrameAnonymizer` explains
    each): ``level`` ``'face'`` or ``'body'``, the score thresholds, box ``enlarge``, what to do
    with unsure instances and with cue persons, the head share of a person box."""
    level: str
    accept_thr: float
    unsure_thr: float
    enlarge: float
    unsure_action: str
    unsure_covered: float
    person_thr: float
    person_action: str
    head_fraction: float


def face_level_policy() -> Policy:
    """The policy of ``FrameAnonymizer(level='face')`` (its :data:`LEVEL_DEFAULTS` and argument
    defaults), which the body level's face pass applies (:meth:`FrameAnonymizer.face_pass_region`)."""
    d = LEVEL_DEFAULTS['face']
    return Policy('face', d['accept_thr'], d['unsure_thr'], d['enlarge'], d['unsure_action'],
                  0.5, d['person_thr'], 'head', d['head_fraction'])


def _instances_mask(det: Detections, shape, policy: Policy) -> np.ndarray:
    if policy.level == 'body' and det.masks is not None:
        return det.masks.any(axis=0) if len(det) else np.zeros(shape[:2], bool)
    return boxes_to_mask(det.boxes, shape[:2], policy.enlarge)


def decide_detections(det: Detections, persons, shape, policy: Policy,
                      faces: Optional[Detections] = None) -> FrameResult:
    """The fail-closed policy (module docstring) on one frame's detections: the one function
    behind both :meth:`FrameAnonymizer.decide` and :meth:`FrameAnonymizer.face_pass_region`.

    Args:
        det: the level's instances, validated for ``shape``: ``boxes`` (N, 4), ``scores`` (N,),
            ``masks`` (N, H, W) bool or None (body level uses them when given).
        persons: the person cue's detections of the frame (validated), None (no cue), or a
            callable returning them, called only when the policy gets to the cue (after the
            unsure instances); if it raises, the frame is whole (``detector_error``).
        shape: ``(H, W, ...)`` of the frame.
        policy: the level's settings.
        faces: body level: the face detections of the face pass (``face_region``, the face
            level's own decision on them and on ``persons``, held by ``region``); None: none.

    Returns:
        :class:`FrameResult` with ``region`` (H, W) bool, ``whole`` / ``reason``, the counts and
        ``face_region``; the detector-family fields (``disagreement`` ...) left at their defaults.
    """
    accepted = det.select(det.scores >= policy.accept_thr)
    unsure = det.select((det.scores >= policy.unsure_thr) & (det.scores < policy.accept_thr))
    region = _instances_mask(accepted, shape, policy)
    res = FrameResult(region, instances=len(accepted), unsure=len(unsure))
    doubtful, duplicates = [], []
    for i in range(len(unsure)):
        m = _instances_mask(unsure.select([i]), shape, policy)
        area = m.sum()
        if area and (m & region).sum() >= policy.unsure_covered * area:
            duplicates.append(m)  # mostly inside an accepted instance: not a doubt
            continue
        doubtful.append(m)
    if doubtful and policy.unsure_action == 'frame':
        res.whole, res.reason = True, 'unsure'
        return res
    if policy.unsure_action == 'region':
        # a duplicate's part outside the accepted instance is hidden too (a face box half
        # inside a person mask must not stay half visible)
        for m in doubtful + duplicates:
            region |= m

    if callable(persons):
        try:
            persons = persons()
        except Exception as e:  # noqa: BLE001 - a failing cue fails closed
            res.whole, res.reason, res.error = True, 'detector_error', \
                f'person cue: {type(e).__name__}: {e}'
            return res
    if faces is not None:
        # body level hides at least what face level hides, by construction: the face level's
        # own decision on the same detections, obfuscated first (apply), and inside region
        # (added after the body level's own person cue, which judges its own instances)
        res.face_region = decide_detections(faces, persons, shape, face_level_policy()).region
    if persons is not None:
        persons = persons.select(persons.scores >= policy.person_thr)
        centres = (accepted.boxes[:, :2] + accepted.boxes[:, 2:]) / 2
        for x1, y1, x2, y2 in persons.boxes:
            head = [x1, y1, x2, y1 + policy.head_fraction * (y2 - y1)]
            if policy.level == 'body':
                # the body level's own instances already hide this head: nothing to add
                hm = boxes_to_mask([head], shape[:2], 0.0)
                if (hm & region).sum() >= HEAD_HIDDEN * max(hm.sum(), 1):
                    continue
            else:
                inside = ((centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1)
                          & (centres[:, 1] <= y2)).any() if len(centres) else False
                if inside:
                    continue
            if policy.person_action == 'frame':
                res.whole, res.reason = True, 'person_no_face'
                return res
            # body level: the whole person box, face level: its head region
            box = [x1, y1, x2, y2] if policy.level == 'body' else head
            region |= boxes_to_mask([box], shape[:2], policy.enlarge)
            res.head_fallbacks += 1
    if res.face_region is not None:
        region |= res.face_region
    return res


class FrameAnonymizer:
    """Per-frame detection, fail-closed policy (see the module docstring) and obfuscation.

    Args:
        detector: a detector config dict or callable ``(H, W, 3) uint8 -> Detections``.
        level: ``'face'`` (boxes, enlarged by ``enlarge``) or ``'body'`` (masks when the detector
            gives them, else boxes).
        method, method_kwargs: obfuscation (``'box'`` = thesis, ``'gaussian'``, ``'pixelate'``,
            ``'solid'``) and its arguments.
        accept_thr, unsure_thr: score thresholds of the policy (``unsure_thr <= accept_thr``).
        enlarge: fraction of each box side added on both ends.
        unsure_action: ``'frame'`` or ``'region'``.
        unsure_covered: an unsure instance whose box lies at least this much inside the accepted
            region is a duplicate of an accepted one, not a doubt.
        person_cue: person detector: persons without a face (face level) or whose head the
            level's instances leave visible (body level) trigger ``person_action`` (``'head'`` or
            ``'frame'``); None: the level's default (a multi-person HOG detector, the same at both
            levels), False: none.
        person_thr, head_fraction: its score threshold and the share of the person box (from the
            top) treated as the head region.
        disagree_thr: frames whose detector families disagree more than this are reported
            (0: a frame holding one face that a family built to find it missed is reported; see
            :class:`~.detectors.Disagreement`).
        feather: px of soft blend outside the obfuscated region (:func:`~.obfuscation.feathered_obfuscate`; no
            hard blur edge for a face detector to read as a face outline); None: the level's
            default (body 10, face 0), 0: a hard edge.
        Arguments left None take :data:`LEVEL_DEFAULTS` of the level when ``detector`` is the
        level's default (None); with another detector: ``unsure_action='frame'``, no person cue,
        ``person_thr=0.5``, ``head_fraction=0.3``.
    """

    def __init__(self, detector=None, level: str = 'face', method: str = 'box',
                 method_kwargs: Optional[dict] = None, accept_thr: Optional[float] = None,
                 unsure_thr: Optional[float] = None, enlarge: Optional[float] = None,
                 unsure_action: Optional[str] = None, unsure_covered: float = 0.5,
                 person_cue=None, person_thr: Optional[float] = None, person_action: str = 'head',
                 head_fraction: Optional[float] = None, disagree_thr: float = 0.0,
                 feather: Optional[int] = None):
        if level not in LEVEL_DEFAULTS:
            raise ValueError(f'level must be one of {sorted(LEVEL_DEFAULTS)}, got {level!r}')
        d = LEVEL_DEFAULTS[level]
        self.level = level
        self.detector = build_detector(detector if detector is not None else d['detector'])
        self.method, self.method_kwargs = method, dict(method_kwargs or {})
        obfuscate(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), bool), method,
                  **self.method_kwargs)  # fail at construction on a bad method / kwargs
        self.accept_thr = float(d['accept_thr'] if accept_thr is None else accept_thr)
        self.unsure_thr = float(d['unsure_thr'] if unsure_thr is None else unsure_thr)
        if not 0 <= self.unsure_thr <= self.accept_thr <= 1:
            raise ValueError(f'need 0 <= unsure_thr <= accept_thr <= 1, got unsure_thr='
                             f'{self.unsure_thr}, accept_thr={self.accept_thr}')
        self.enlarge = float(d['enlarge'] if enlarge is None else enlarge)
        # the level's default detector comes with its policy (issue 15); another detector keeps
        # the plain policy (unsure -> whole frame, no person cue) unless told otherwise
        pkg = detector is None or detector == d['detector']
        if unsure_action is None:
            unsure_action = d['unsure_action'] if pkg else 'frame'
        default_cue = person_cue is None and pkg and d['person_cue'] is not None
        if person_cue is None:
            person_cue = d['person_cue'] if pkg else None
        person_cue = person_cue or None  # False: no person cue
        person_thr = (d['person_thr'] if default_cue else 0.5) if person_thr is None else person_thr
        if head_fraction is None:
            head_fraction = d['head_fraction'] if default_cue else 0.3
        self.disagree_thr = float(disagree_thr)
        if unsure_action not in ('frame', 'region'):
            raise ValueError(f"unsure_action must be 'frame' or 'region', got {unsure_action!r}")
        if person_action not in ('head', 'frame'):
            raise ValueError(f"person_action must be 'head' or 'frame', got {person_action!r}")
        self.unsure_action, self.unsure_covered = unsure_action, float(unsure_covered)
        self.person_cue = None if person_cue is None else build_detector(person_cue)
        self.person_thr, self.person_action = float(person_thr), person_action
        self.head_fraction = float(head_fraction)
        self.feather = int(d.get('feather', 0) if feather is None else feather)
        if self.feather < 0:
            raise ValueError(f'feather must be >= 0 px, got {self.feather}')

    # -- per video -------------------------------------------------------------------------------
    def reset(self, video_path: Optional[str] = None) -> None:
        for d in (self.detector, self.person_cue):
            if d is not None and hasattr(d, 'reset'):
                d.reset(video_path)

    # -- policy ----------------------------------------------------------------------------------
    @property
    def policy(self) -> 'Policy':
        """This anonymizer's policy settings (:func:`decide_detections`)."""
        return Policy(self.level, self.accept_thr, self.unsure_thr, self.enlarge,
                      self.unsure_action, self.unsure_covered, self.person_thr,
                      self.person_action, self.head_fraction)

    def decide(self, frame: np.ndarray, frame_index: Optional[int] = None) -> FrameResult:
        """Run the detector(s) on ``frame`` (H, W, 3) uint8 RGB and apply the policy
        (:func:`decide_detections`; the person cue runs only when the policy gets to it)."""
        shape = frame.shape
        empty = np.zeros(shape[:2], bool)
        try:
            if frame_index is not None and hasattr(self.detector, 'seek'):
                self.detector.seek(frame_index)
            raw = self.detector(frame)
        except MalformedDetections as e:
            return FrameResult(empty, True, 'malformed', error=str(e))
        except Exception as e:  # noqa: BLE001 - any detector failure must fail closed
            return FrameResult(empty, True, 'detector_error', error=f'{type(e).__name__}: {e}')
        try:
            if not isinstance(raw, Detections):
                raise MalformedDetections(f'expected Detections, got {type(raw).__name__}')
            det = raw.validated(shape)
        except MalformedDetections as e:
            return FrameResult(empty, True, 'malformed', error=str(e))

        def persons() -> Detections:
            if frame_index is not None and hasattr(self.person_cue, 'seek'):
                self.person_cue.seek(frame_index)
            return self.person_cue(frame).validated(shape)

        faces = getattr(self.detector, 'last_faces', None) if self.level == 'body' else None
        res = decide_detections(det, None if self.person_cue is None else persons, shape,
                                self.policy, faces)
        dis = getattr(self.detector, 'last_disagreement', None)
        res.disagreement = 0.0 if dis is None else dis.ratio
        res.disagree = dis is not None and dis.ratio > self.disagree_thr
        res.alone = 0 if dis is None or dis.alone is None else sum(dis.alone)
        return res

    @staticmethod
    def face_pass_region(faces: Detections, persons: Optional[Detections], shape) -> np.ndarray:
        """The region the face level (its :data:`LEVEL_DEFAULTS` policy) decides from face
        detections ``faces`` and person-cue detections ``persons`` (None: no cue) of one frame:
        accepted and unsure faces (enlarged boxes; the face level hides unsure ones as regions)
        and the head region of every cue person holding no accepted face's centre.
        ``-> (H, W) bool``; :func:`decide_detections` under :func:`face_level_policy`, the
        function face-level :meth:`decide` applies to the detections it gets."""
        return decide_detections(faces, persons, shape, face_level_policy()).region

    def apply(self, frame: np.ndarray, region: np.ndarray, whole: bool,
              face_region: Optional[np.ndarray] = None) -> np.ndarray:
        """Obfuscate ``region`` (H, W) bool, or the whole frame; returns a new (H, W, 3) uint8.
        ``face_region`` (body level: the face level's region, :attr:`FrameResult.face_region`)
        is obfuscated first on its own, as the face level obfuscates it, and ``region`` on top:
        every pixel the face level changes is filtered at least as strongly."""
        if whole:
            region = np.ones(frame.shape[:2], bool)
        if not region.any():
            return frame.copy()
        if face_region is not None and face_region.any() and not whole:
            frame = obfuscate(frame, face_region, self.method, **self.method_kwargs)
        if whole or not self.feather:
            return obfuscate(frame, region, self.method, **self.method_kwargs)
        return feathered_obfuscate(frame, region, self.feather, self.method, **self.method_kwargs)

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None):
        """``(H, W, 3) uint8 -> ((H, W, 3) uint8 obfuscated, FrameResult)`` with no carry."""
        res = self.decide(frame, frame_index)
        return self.apply(frame, res.region, res.whole, res.face_region), res


def anonymize_frames(frames: Iterable[np.ndarray], anonymizer: FrameAnonymizer, carry: int = 0,
                     frame_indices: Optional[Sequence[int]] = None
                     ) -> Iterator[tuple[np.ndarray, FrameResult, bool]]:
    """Anonymise a frame sequence with temporal carry.

    Frame ``t`` is obfuscated in ``region_{t-carry} | ... | region_{t+carry}`` (or whole if its own
    decision says so). Holds ``carry`` frames of look-ahead.

    Yields:
        ``(obfuscated (H, W, 3) uint8, FrameResult, carried)`` per frame, in order; ``carried`` is
        True when a neighbour's region added pixels to this frame's own region.
    """
    if carry < 0:
        raise ValueError(f'carry must be >= 0, got {carry}')
    buf: collections.deque = collections.deque()  # (frame, FrameResult) of indices start, ...
    start = 0  # index of buf[0]
    nxt = 0  # next index to emit

    def emit(t: int, known: int):
        frame, res = buf[t - start]
        if carry == 0 or res.whole:
            return anonymizer.apply(frame, res.region, res.whole, res.face_region), res, False
        union = res.region.copy()
        faces = None if res.face_region is None else res.face_region.copy()
        for j in range(max(start, t - carry), min(known, t + carry + 1)):
            r, f = buf[j - start][1].region, buf[j - start][1].face_region
            if r.shape == union.shape:
                union |= r
            if faces is not None and f is not None and f.shape == faces.shape:
                faces |= f  # the face level's carry of its own regions
        return (anonymizer.apply(frame, union, False, faces), res,
                bool((union & ~res.region).any()))

    known = 0
    for i, frame in enumerate(frames):
        idx = None if frame_indices is None else frame_indices[i]
        buf.append((frame, anonymizer.decide(frame, idx)))
        known = i + 1
        while nxt <= i - carry:  # frame `nxt` has its full look-ahead
            yield emit(nxt, known)
            nxt += 1
            while start < nxt - carry:
                buf.popleft()
                start += 1
    while nxt < known:  # the last frames have a shorter look-ahead
        yield emit(nxt, known)
        nxt += 1


# ---------------------------------------------------------------------------------------------
# Video I/O
# ---------------------------------------------------------------------------------------------
class VideoReadError(RuntimeError):
    """A video cannot be opened or decoded (the message names the file)."""


def probe_video(path: str) -> dict:
    """``{'fps': Fraction, 'frames': declared count (0 if unknown), 'width', 'height',
    'start': first video time in s, 'audio': number of audio streams, 'duration': s or None}``."""
    import av
    if not osp.isfile(path):
        raise VideoReadError(f'{path}: no such file')
    if osp.getsize(path) == 0:
        raise VideoReadError(f'{path}: empty file (0 bytes)')
    try:
        with av.open(path) as c:
            if not c.streams.video:
                raise VideoReadError(f'{path}: no video stream')
            s = c.streams.video[0]
            fps = s.average_rate or s.guessed_rate or s.base_rate
            if not fps:
                raise VideoReadError(f'{path}: frame rate unknown')
            start = float(s.start_time * s.time_base) if (s.start_time is not None
                                                          and s.time_base) else 0.0
            return dict(fps=Fraction(fps), frames=int(s.frames or 0), width=int(s.width),
                        height=int(s.height), start=start, audio=len(c.streams.audio),
                        duration=None if c.duration is None else c.duration / 1e6)
    except VideoReadError:
        raise
    except Exception as e:  # noqa: BLE001 - av raises many error types
        raise VideoReadError(f'{path}: cannot open video ({type(e).__name__}: {e})') from e


def read_frames(path: str) -> Iterator[np.ndarray]:
    """Decode every frame of ``path`` as ``(H, W, 3) uint8`` RGB; decoding errors raise
    :class:`VideoReadError` naming the file and the frame reached."""
    import av
    n = 0
    try:
        with av.open(path) as c:
            stream = c.streams.video[0]
            stream.thread_type = 'AUTO'
            for frame in c.decode(stream):
                yield frame.to_ndarray(format='rgb24')
                n += 1
    except VideoReadError:
        raise
    except Exception as e:  # noqa: BLE001
        if isinstance(e, GeneratorExit):
            raise
        raise VideoReadError(f'{path}: decoding failed after {n} frames '
                             f'({type(e).__name__}: {e})') from e
    if n == 0:
        raise VideoReadError(f'{path}: no decodable frames (zero-length or corrupt video)')


_FORMATS = {'.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mov', '.mkv': 'matroska', '.avi': 'avi',
            '.webm': 'webm', '.mpg': 'mpeg', '.mpeg': 'mpeg'}


class VideoWriter:
    """Write RGB frames at a constant ``fps`` to ``path`` atomically.

    Frames go to ``.<name>.<random>.tmp<ext>`` in the same folder; ``close()`` renames it over
    ``path`` (mode as a normally created file: ``0o666`` minus the umask); ``abort()`` (or an
    exception inside ``with``) deletes it. Codec: H.264 (CRF ``crf``) except VP9 for .webm and
    MPEG-1 for .mpg; odd frame sizes use 4:4:4 chroma.

    ``audio_from``: a video whose audio streams are copied unchanged (remuxed packet by packet,
    no re-encoding) into the output, interleaved with the frames by time; ``video_start`` (s) is
    that video's first frame time, subtracted from the audio timestamps so audio and video stay
    in sync when the frames are written from time 0. ``audio_streams`` tells how many were copied.
    """

    def __init__(self, path: str, fps, width: int, height: int, crf: int = 18,
                 audio_from: Optional[str] = None, video_start: float = 0.0):
        import av
        self.path, self.fps = path, Fraction(fps)
        ext = osp.splitext(path)[1].lower()
        if ext not in _FORMATS:
            raise ValueError(f'{path}: unsupported output extension {ext!r}; use one of '
                             f'{sorted(_FORMATS)}')
        folder = osp.dirname(osp.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp' + ext,
                                        dir=folder)
        os.close(fd)
        self._container = av.open(self.tmp, 'w', format=_FORMATS[ext])
        odd = width % 2 or height % 2
        codec = {'.webm': 'libvpx-vp9', '.mpg': 'mpeg1video', '.mpeg': 'mpeg1video'}.get(ext,
                                                                                         'libx264')
        self._stream = self._container.add_stream(codec, rate=self.fps)
        self._stream.width, self._stream.height = int(width), int(height)
        self._stream.pix_fmt = 'yuv444p' if (odd and codec == 'libx264') else 'yuv420p'
        if codec == 'libx264':
            self._stream.options = {'crf': str(crf), 'preset': 'veryfast'}
        elif codec == 'mpeg1video':
            self._stream.bit_rate = 8_000_000
        self._stream.codec_context.time_base = Fraction(1) / self.fps
        self.frames = 0
        self._done = False
        self._audio_in = None
        self._audio_map: dict = {}  # input audio stream index -> (output stream, pts offset)
        self._audio_packets = None
        self._next_audio = None
        self.audio_streams = 0
        if audio_from is not None:
            try:
                self._open_audio(audio_from, video_start)
            except BaseException:
                self.abort()
                raise

    # -- audio remux -----------------------------------------------------------------------------
    def _open_audio(self, src: str, video_start: float) -> None:
        import av
        try:
            self._audio_in = av.open(src)
        except Exception as e:  # noqa: BLE001
            raise VideoReadError(f'{src}: cannot open for its audio ({type(e).__name__}: {e})') \
                from e
        ins = list(self._audio_in.streams.audio)
        if not ins:
            self._audio_in.close()
            self._audio_in = None
            return
        for s in ins:
            add = getattr(self._container, 'add_stream_from_template', None)
            out = add(s) if add is not None else self._container.add_stream(template=s)
            off = int(round(Fraction(video_start) / s.time_base)) if s.time_base else 0
            self._audio_map[s.index] = (out, off)
        self.audio_streams = len(ins)
        self._audio_packets = self._audio_in.demux(*ins)

    def _mux_audio_until(self, t: Optional[Fraction]) -> None:
        """Mux the input's audio packets whose (shifted) time is < ``t`` seconds (None: all)."""
        if self._audio_packets is None:
            return
        while True:
            if self._next_audio is None:
                self._next_audio = next(self._audio_packets, False)
            pkt = self._next_audio
            if pkt is False:
                self._audio_packets = None
                return
            if pkt.size == 0 or (pkt.pts is None and pkt.dts is None):
                self._next_audio = None  # a demuxer flush packet: nothing to copy
                continue
            out, off = self._audio_map[pkt.stream.index]
            ts = pkt.pts if pkt.pts is not None else pkt.dts
            if t is not None and (ts - off) * pkt.time_base >= t:
                return
            if pkt.pts is not None:
                pkt.pts -= off
            if pkt.dts is not None:
                pkt.dts -= off
            pkt.stream = out
            self._container.mux(pkt)
            self._next_audio = None

    def write(self, frame: np.ndarray) -> None:
        import av
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
        vf.pts = self.frames
        vf.time_base = Fraction(1) / self.fps
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames += 1
        self._mux_audio_until(self.frames / self.fps)

    def finish(self) -> None:
        """Flush the encoder, copy the remaining audio and close the temporary file (complete,
        not yet renamed)."""
        if self._done:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._mux_audio_until(None)
        self._container.close()
        self._close_audio()
        self._done = True

    def _close_audio(self) -> None:
        if self._audio_in is not None:
            with contextlib.suppress(Exception):
                self._audio_in.close()
            self._audio_in = None

    def commit(self) -> None:
        """Rename the finished temporary file over ``path``."""
        self.finish()
        set_default_mode(self.tmp)
        os.replace(self.tmp, self.path)

    def close(self) -> None:
        self.commit()

    def abort(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(Exception):
                self._container.close()
        self._close_audio()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ---------------------------------------------------------------------------------------------
# One video
# ---------------------------------------------------------------------------------------------
def _new_stats() -> dict:
    return dict(frames=0, instances=0, frames_with_instances=0, whole_frames=0,
                whole_reasons={}, unsure_instances=0, head_fallbacks=0, carried_frames=0,
                first_error=None)


def _count(stats: dict, res: FrameResult, carried: bool) -> None:
    stats['frames'] += 1
    stats['instances'] += res.instances
    stats['frames_with_instances'] += int(res.instances > 0)
    stats['unsure_instances'] += res.unsure
    stats['head_fallbacks'] += res.head_fallbacks
    stats['carried_frames'] += int(carried)
    if res.disagree:  # the detector families disagree beyond FrameAnonymizer.disagree_thr
        stats.setdefault('disagreement_frames', []).append(stats['frames'] - 1)
    if res.alone:  # a face one family found alone (expected for profiles: counted only)
        stats['one_family_frames'] = stats.get('one_family_frames', 0) + 1
    if res.whole:
        stats['whole_frames'] += 1
        stats['whole_reasons'][res.reason] = stats['whole_reasons'].get(res.reason, 0) + 1
        if stats['first_error'] is None and res.error:
            stats['first_error'] = f'frame {stats["frames"] - 1}: {res.error}'


def anonymize_video(src: str, dst: str, anonymizer: FrameAnonymizer, carry: int = 0,
                    max_whole_ratio: Optional[float] = None, before_rename=None,
                    audio: bool = True) -> dict:
    """Anonymise ``src`` into ``dst`` (same frame count and rate); returns the video's record.

    ``status`` is ``'ok'``, or ``'failed'`` when whole-frame obfuscations exceed
    ``max_whole_ratio`` of the frames (``dst`` is then not written). ``before_rename(record)`` runs
    after the temporary file is complete and before it is renamed to ``dst`` (the dataset runner
    writes its resume state there). ``audio``: copy the audio streams unchanged (remux, see
    :class:`VideoWriter`); False drops them (the record says which: ``audio`` = ``'kept'``,
    ``'dropped'`` or ``'none'``). Raises :class:`VideoReadError` for unreadable input, and for a
    video that decodes to fewer (or more) frames than its container declares (a truncated file:
    nothing is written).
    """
    info = probe_video(src)
    anonymizer.reset(src)
    stats = _new_stats()
    t0 = time.perf_counter()
    writer = VideoWriter(dst, info['fps'], info['width'], info['height'],
                         audio_from=src if (audio and info['audio']) else None,
                         video_start=info['start'])
    try:
        for out, res, carried in anonymize_frames(read_frames(src), anonymizer, carry):
            writer.write(out)
            _count(stats, res, carried)
        if info['frames'] and stats['frames'] != info['frames']:
            raise VideoReadError(
                f'{src}: decoded {stats["frames"]} frames but the container declares '
                f'{info["frames"]} (truncated or corrupt file); not written')
        record = dict(status='ok', kind='video', fps=str(info['fps']),
                      frames_declared=info['frames'], width=info['width'],
                      height=info['height'], seconds=0.0,
                      audio='none' if not info['audio'] else ('kept' if audio else 'dropped'),
                      audio_streams=writer.audio_streams, **stats)
        if max_whole_ratio is not None and stats['whole_frames'] > max_whole_ratio * stats['frames']:
            record['status'] = 'failed'
            record['error'] = (f'{src}: {stats["whole_frames"]} of {stats["frames"]} frames needed '
                               f'whole-frame obfuscation (> max_whole_ratio={max_whole_ratio})')
            writer.abort()
            return record
        writer.finish()
        record['seconds'] = round(time.perf_counter() - t0, 3)
        if before_rename is not None:
            before_rename(record)
        writer.commit()
        return record
    except BaseException:
        writer.abort()
        raise


def anonymize_image(src: str, dst: str, anonymizer: FrameAnonymizer,
                    max_whole_ratio: Optional[float] = None, before_rename=None) -> dict:
    """Anonymise one image file into ``dst`` (same format by extension; metadata not copied).

    The same per-frame pipeline as a video frame (frame index 0). Record and ``status`` as
    :func:`anonymize_video`; raises :class:`VideoReadError` when ``src`` cannot be decoded.
    """
    img = read_image(src)
    anonymizer.reset(src)
    stats = _new_stats()
    t0 = time.perf_counter()
    ((out, res, carried),) = list(anonymize_frames([img], anonymizer, 0, frame_indices=[0]))
    _count(stats, res, carried)
    record = dict(status='ok', kind='image', width=img.shape[1], height=img.shape[0],
                  seconds=0.0, **stats)
    if max_whole_ratio is not None and stats['whole_frames'] > max_whole_ratio:
        record['status'] = 'failed'
        record['error'] = (f'{src}: needed whole-frame obfuscation '
                           f'(> max_whole_ratio={max_whole_ratio})')
        return record
    record['seconds'] = round(time.perf_counter() - t0, 3)
    if before_rename is not None:
        before_rename(record)
    write_image(dst, out)
    return record


def anonymize_rawframes(src: str, frames: Sequence[str], dst: str, anonymizer: FrameAnonymizer,
                        carry: int = 0, max_whole_ratio: Optional[float] = None,
                        before_rename=None) -> dict:
    """Anonymise an mmaction2 rawframes folder (``src/img_00001.jpg ...``, ``frames`` in temporal
    order) into the folder ``dst`` under the same file names, as one video (temporal ``carry``).

    The frames are written into ``.<name>.<random>.tmpdir`` next to ``dst`` and the folder is
    renamed to ``dst`` when complete (:func:`~.inputs.replace_dir`). Record as
    :func:`anonymize_video`; raises :class:`VideoReadError` naming an undecodable frame.
    """
    if not frames:
        raise VideoReadError(f'{src}: no frames')
    anonymizer.reset(src.rstrip('/\\'))
    stats = _new_stats()
    t0 = time.perf_counter()
    folder, name = osp.split(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + name + '.', suffix='.tmpdir', dir=folder)
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        size = None
        images = (read_image(osp.join(src, f)) for f in frames)
        outs = anonymize_frames(images, anonymizer, carry, frame_indices=range(len(frames)))
        for f, (out, res, carried) in zip(frames, outs):
            write_image(osp.join(tmp, f), out, atomic=False)
            size = size or out.shape[:2]
            _count(stats, res, carried)
        record = dict(status='ok', kind='rawframes', width=int(size[1]), height=int(size[0]),
                      seconds=0.0, **stats)
        if max_whole_ratio is not None and \
                stats['whole_frames'] > max_whole_ratio * stats['frames']:
            record['status'] = 'failed'
            record['error'] = (f'{src}: {stats["whole_frames"]} of {stats["frames"]} frames '
                               f'needed whole-frame obfuscation (> max_whole_ratio='
                               f'{max_whole_ratio})')
            shutil.rmtree(tmp, ignore_errors=True)
            return record
        record['seconds'] = round(time.perf_counter() - t0, 3)
        if before_rename is not None:
            before_rename(record)
        replace_dir(tmp, dst)
        return record
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------
# A dataset
# ---------------------------------------------------------------------------------------------
def list_videos(root: str, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[str]:
    """Relative paths of the videos under ``root`` (sorted; hidden files and folders skipped)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith('.'))
        for f in sorted(files):
            if not f.startswith('.') and osp.splitext(f)[1].lower() in extensions:
                out.append(osp.relpath(osp.join(d, f), root))
    return out


def build_anonymizer(settings: dict) -> FrameAnonymizer:
    """A :class:`FrameAnonymizer` from the JSON-able ``settings`` of :func:`anonymize_dataset`."""
    keys = ('detector', 'level', 'method', 'method_kwargs', 'accept_thr', 'unsure_thr', 'enlarge',
            'unsure_action', 'person_cue', 'person_thr', 'person_action', 'head_fraction',
            'disagree_thr')
    return FrameAnonymizer(**{k: settings[k] for k in keys if k in settings})


_WORKER_CACHE: dict = {}


def _work(task):
    """Worker: anonymise one item (video, image or rawframes folder); never raises (errors
    become records)."""
    kind, src, dst, state_path, settings, fingerprint, frames = task
    try:
        key = fingerprint
        if key not in _WORKER_CACHE:
            _WORKER_CACHE.clear()
            _WORKER_CACHE[key] = build_anonymizer(settings)
        anonymizer = _WORKER_CACHE[key]

        def save_state(record):
            dump_json_atomic(dict(fingerprint=fingerprint, record=record), state_path)

        carry, ratio = settings.get('carry', 0), settings.get('max_whole_ratio')
        if kind == 'image':
            return anonymize_image(src, dst, anonymizer, ratio, before_rename=save_state)
        if kind == 'rawframes':
            return anonymize_rawframes(src, frames, dst, anonymizer, carry, ratio,
                                       before_rename=save_state)
        return anonymize_video(src, dst, anonymizer, carry, ratio, before_rename=save_state,
                               audio=settings.get('audio', True))
    except VideoReadError as e:
        return dict(status='skipped', kind=kind, error=str(e))
    except Exception as e:  # noqa: BLE001 - reported per item, the run goes on
        return dict(status='failed', kind=kind, error=f'{src}: {type(e).__name__}: {e}',
                    traceback=traceback.format_exc(limit=3))


def _fingerprint(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _shard_suffix(shard) -> str:
    return '' if shard is None else f'.shard-{shard[0]}-of-{shard[1]}'


def anonymize_dataset(src: str, dst: str, level: str = 'face', detector: Optional[dict] = None,
                      method: str = 'box', method_kwargs: Optional[dict] = None,
                      carry: Optional[int] = None,
                      workers: int = 1, max_whole_ratio: Optional[float] = None,
                      overwrite: bool = False, strict: bool = False, report_path: Optional[str] = None,
                      progress: bool = True, audio: bool = True, shard: Optional[tuple] = None,
                      frame_regex: str = RAWFRAME_REGEX, **policy) -> dict:
    """Write an anonymised copy of a video, an image, a rawframes folder or a folder of them
    (relative paths, names and layout mirrored) and a report.

    Inputs (:func:`~.inputs.walk_inputs`): video files, image files, and mmaction2 rawframes
    folders (``<video>/img_00001.jpg ...``, one video: temporal ``carry`` across its frames, the
    frames written back under the same names). Other files are listed in the report
    (``unknown``) and counted, not processed.

    Args:
        src, dst: a video / image file and its output file, a rawframes folder and its output
            folder, or two folders.
        level, detector, method, method_kwargs, carry, policy: see :class:`FrameAnonymizer` and
            :func:`anonymize_frames` (``detector`` must be a config dict, so workers can build it).
            ``carry`` None: the level's default (2) with the default detector, else 0.
        workers: processes (1 = in this process).
        max_whole_ratio: see :func:`anonymize_video`.
        overwrite: redo finished items (default: resume, skipping them).
        strict: raise on the first unreadable / failed item instead of counting it.
        report_path: default ``dst/anonymize_report.json`` (folder) or ``dst + '.report.json'``;
            with a shard, ``anonymize_report.shard-K-of-N.json`` (``.report.shard-K-of-N.json``).
        audio: copy each video's audio streams unchanged (False: drop them).
        shard: ``(K, N)``: only the items of shard K of N (:func:`~.inputs.in_shard`, a
            deterministic split by relative path); the shards of one output share its resume
            state, so a run without ``shard`` afterwards resumes everything and writes the whole
            report.
        frame_regex: file names of a rawframes folder (group 1: the frame number).

    Returns:
        the report: ``settings``, ``summary`` (counts), ``videos`` (relative path -> record, for
        every kind of item), ``unknown`` (files not processed) and ``report_path``.

    Raises:
        FileNotFoundError: ``src`` does not exist. ValueError: a folder without any input.
    """
    if not osp.exists(src):
        raise FileNotFoundError(f'input {src} does not exist')
    unknown: list = []
    item = classify_path(src, frame_regex)
    single = osp.isfile(src) or (item is not None and item.kind == 'rawframes')
    if single:
        if osp.isfile(src):
            kind = 'image' if osp.splitext(src)[1].lower() in IMAGE_EXTENSIONS else 'video'
            if osp.isdir(dst):
                dst = osp.join(dst, osp.basename(src))
            item = InputItem(osp.basename(src), kind)
        if osp.abspath(dst) == osp.abspath(src):
            raise ValueError(f'output must differ from the input ({src})')
        items = [item]
        pairs = [(item, src, dst)]
        out_root = osp.dirname(osp.abspath(dst))
        report_path = report_path or dst.rstrip('/\\') + '.report' + _shard_suffix(shard) + '.json'
    else:
        if osp.abspath(dst) == osp.abspath(src):
            raise ValueError(f'output folder must differ from the input folder ({src})')
        items, unknown = walk_inputs(src, frame_regex)
        if not items:
            eg = f', e.g. {unknown[0]!r}' if unknown else ''
            raise ValueError(f'{src}: no video, image or rawframes folder found (video '
                             f'extensions {", ".join(VIDEO_EXTENSIONS)}; images '
                             f'{", ".join(IMAGE_EXTENSIONS)}; {len(unknown)} other files{eg})')
        pairs = [(it, osp.normpath(osp.join(src, it.rel)), osp.normpath(osp.join(dst, it.rel)))
                 for it in items]
        out_root = dst
        report_path = report_path or osp.join(dst, f'anonymize_report{_shard_suffix(shard)}.json')
    pairs = [p for p in pairs if in_shard(p[0].rel, shard)]
    settings = dict(level=level, detector=detector or LEVEL_DEFAULTS[level]['detector'],
                    method=method, method_kwargs=method_kwargs or {},
                    carry=int(carry if carry is not None else LEVEL_DEFAULTS[level]['carry']
                              if detector in (None, LEVEL_DEFAULTS[level]['detector']) else 0),
                    max_whole_ratio=max_whole_ratio, audio=bool(audio), **policy)
    build_anonymizer(settings)  # validate the settings before starting workers
    fingerprint = _fingerprint(settings)
    state_root = osp.join(out_root, '.anonymize_state')

    records, tasks = {}, []
    for it, s, d in pairs:
        rel = it.rel
        state_path = osp.join(state_root, ('_root' if rel == '.' else rel) + '.json')
        if not overwrite and osp.exists(d) and osp.isfile(state_path):
            with open(state_path) as f:
                state = json.load(f)
            if state.get('fingerprint') == fingerprint:
                records[rel] = dict(state['record'], resumed=True)
                continue
            raise RuntimeError(f'{d} was written with other settings (fingerprint '
                               f'{state.get("fingerprint")} != {fingerprint}); use overwrite=True '
                               f'(--overwrite) or another output folder')
        # an earlier run of this item killed mid-write (kill -9, power loss) left temporaries;
        # an old state file goes too, so a run killed between writing the new state and
        # renaming the new output can never make the old output look finished
        remove_stale_temporaries(d)
        remove_stale_temporaries(state_path)
        if osp.exists(state_path):
            os.remove(state_path)
        tasks.append((rel, (it.kind, s, d, state_path, settings, fingerprint, it.frames)))

    bar = None
    if progress and tasks:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(tasks))

    def collect(rel, rec):
        records[rel] = rec
        if bar is not None:
            bar.update()
        if strict and rec['status'] != 'ok':
            raise RuntimeError(rec['error'])

    if workers <= 1 or len(tasks) <= 1:
        for rel, t in tasks:
            collect(rel, _work(t))
    else:
        # spawn, never fork: the parent may hold detector threads (mediapipe graphs, the tile and
        # family thread pools, torch's) whose locks a forked child inherits held and waits on
        with multiprocessing.get_context('spawn').Pool(min(workers, len(tasks))) as pool:
            rels = [rel for rel, _ in tasks]
            for i, rec in pool.imap_unordered(_indexed_work, list(enumerate(t for _, t in tasks))):
                collect(rels[i], rec)
    if bar is not None:
        print()

    recs = [records[it.rel] for it, _, _ in pairs]
    ok = [r for r in recs if r['status'] == 'ok']
    kinds: dict = {}
    for it, _, _ in pairs:
        kinds[it.kind] = kinds.get(it.kind, 0) + 1
    summary = dict(
        videos=len(pairs), kinds=kinds, ok=len(ok),
        resumed=sum(bool(r.get('resumed')) for r in recs),
        skipped=sum(r['status'] == 'skipped' for r in recs),
        failed=sum(r['status'] == 'failed' for r in recs),
        unknown=len(unknown),
        frames=sum(r.get('frames', 0) for r in ok),
        whole_frames=sum(r.get('whole_frames', 0) for r in ok),
        instances=sum(r.get('instances', 0) for r in ok),
        head_fallbacks=sum(r.get('head_fallbacks', 0) for r in ok),
        carried_frames=sum(r.get('carried_frames', 0) for r in ok),
        disagreement_frames=sum(len(r.get('disagreement_frames', [])) for r in ok),
        videos_with_disagreement=sum(bool(r.get('disagreement_frames')) for r in ok),
        one_family_frames=sum(r.get('one_family_frames', 0) for r in ok),
        audio_kept=sum(r.get('audio') == 'kept' for r in ok),
        audio_dropped=sum(r.get('audio') == 'dropped' for r in ok))
    reasons: dict = {}
    for r in ok:
        for k, v in r.get('whole_reasons', {}).items():
            reasons[k] = reasons.get(k, 0) + v
    summary['whole_reasons'] = reasons
    report = dict(input=osp.abspath(src), output=osp.abspath(dst), settings=settings,
                  fingerprint=fingerprint,
                  shard=None if shard is None else dict(index=shard[0], count=shard[1]),
                  summary=summary, videos={it.rel: records[it.rel] for it, _, _ in pairs},
                  unknown=unknown)
    remove_stale_temporaries(report_path)
    dump_json_atomic(report, report_path, indent=1)
    report['report_path'] = report_path
    return report


def _indexed_work(item):
    i, task = item
    return i, _work(task)
