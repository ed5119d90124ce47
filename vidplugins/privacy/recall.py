"""Recall of the anonymiser on annotated real faces, and what it costs (issue 15, items 5 and 9).

Ground truth: dlib imglab XML (``<image file=...><box top left width height/>``, e.g. dlib's
``examples/faces/training.xml``) or COCO-WholeBody JSON (``annotations[].face_box`` ``[x, y, w, h]``
with ``face_valid``). Measures, per annotated face box ``g`` and obfuscated region ``R`` (the pixels
the anonymiser changed on purpose, ``FrameResult.region``, or the whole frame):

- covered: ``|g & R| / |g| >= min_cover`` (default 0.9: the face is hidden, not a corner of it);
- recall = covered faces / faces (faces smaller than ``min_face`` px are not counted);
- outside ratio of an image = ``|R \\ union(g)| / |union(g)|``: obfuscated pixels outside the
  annotated faces as a multiple of the faces' area (the goal is a median <= 1);
- whole-frame share: frames obfuscated whole / frames.

:func:`place_in_canvas` puts an image, at its own size, inside a larger grey canvas (1920x1080,
3840x2160): small faces in a large frame, the case a downscaling detector misses
(:func:`place_all_in_canvas`: several images side by side in one canvas).
"""
from __future__ import annotations

import json
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Iterable, Optional, Sequence

import numpy as np

from .obfuscation import boxes_to_mask

__all__ = ['load_coco_json', 'load_face_boxes', 'covered_fraction', 'outside_ratio', 'place_in_canvas',
           'place_all_in_canvas',
           'evaluate_regions', 'anonymizer_recall', 'load_images_with_boxes']


def load_coco_json(path: str) -> dict:
    """The parsed COCO-style JSON at ``path``; raises naming the file when it is not JSON or
    lacks ``images`` / ``annotations``."""
    with open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: not valid JSON ({e})') from e
    if not isinstance(data, dict) or 'images' not in data or 'annotations' not in data:
        raise ValueError(f'{path}: expected COCO JSON with "images" and "annotations"')
    return data


def load_face_boxes(path: str) -> dict:
    """``{image file (relative to the annotation file's folder): (N, 4) float32 x1, y1, x2, y2}``
    from dlib imglab XML or COCO-WholeBody JSON (``face_box`` of annotations with ``face_valid``
    true, or any non-empty ``face_box`` when the flag is absent). Malformed input raises naming
    the file and the element."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'ground-truth file {path} not found')
    if path.lower().endswith('.xml'):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            raise ValueError(f'{path}: not valid XML ({e})') from e
        out = {}
        for n, im in enumerate(root.iter('image')):
            if im.get('file') is None:
                raise ValueError(f'{path}: <image> number {n} has no file attribute')
            boxes = []
            for b in im.iter('box'):
                if b.get('ignore') == '1':
                    continue
                try:
                    x, y = float(b.get('left')), float(b.get('top'))
                    w, h = float(b.get('width')), float(b.get('height'))
                except (TypeError, ValueError) as e:
                    raise ValueError(f'{path}: image {im.get("file")!r}: a <box> lacks numeric '
                                     f'top/left/width/height') from e
                boxes.append([x, y, x + w, y + h])
            out[im.get('file')] = np.asarray(boxes, np.float32).reshape(-1, 4)
        return out
    data = load_coco_json(path)
    files = {im['id']: im['file_name'] for im in data['images']}
    out = {f: [] for f in files.values()}
    for k, a in enumerate(data['annotations']):
        fb = a.get('face_box')
        if not fb or not a.get('face_valid', True) or len(fb) != 4 or fb[2] <= 0 or fb[3] <= 0:
            continue
        if a.get('image_id') not in files:
            raise ValueError(f'{path}: annotations[{k}].image_id {a.get("image_id")!r} is not '
                             'an image id')
        x, y, w, h = (float(v) for v in fb)
        out[files[a['image_id']]].append([x, y, x + w, y + h])
    return {f: np.asarray(b, np.float32).reshape(-1, 4) for f, b in out.items()}


def covered_fraction(region: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(N,)``: share of each annotated box's pixels inside ``region`` (H, W) bool."""
    out = []
    for b in np.asarray(boxes, np.float32).reshape(-1, 4):
        m = boxes_to_mask(b[None], region.shape)
        out.append(float((m & region).sum()) / max(int(m.sum()), 1))
    return np.asarray(out, np.float64)


def outside_ratio(region: np.ndarray, boxes: np.ndarray) -> float:
    """Obfuscated pixels outside the annotated boxes / pixels of the boxes' union."""
    faces = boxes_to_mask(boxes, region.shape)
    return float((region & ~faces).sum()) / max(int(faces.sum()), 1)


def place_in_canvas(image: np.ndarray, boxes: np.ndarray, size: Sequence[int],
                    offset: Optional[Sequence[int]] = None, fill: int = 114):
    """Paste ``image`` (h, w, 3) at its own size into a ``size = (W, H)`` canvas of grey ``fill``
    at ``offset = (x, y)`` (default: centred). Returns ``(canvas (H, W, 3) uint8, boxes (N, 4)
    shifted)``."""
    W, H = int(size[0]), int(size[1])
    h, w = image.shape[:2]
    if h > H or w > W:
        raise ValueError(f'image {w}x{h} does not fit in a {W}x{H} canvas')
    x, y = ((W - w) // 2, (H - h) // 2) if offset is None else (int(offset[0]), int(offset[1]))
    canvas = np.full((H, W, 3), fill, np.uint8)
    canvas[y:y + h, x:x + w] = image
    return canvas, np.asarray(boxes, np.float32).reshape(-1, 4) + np.array([x, y, x, y],
                                                                         np.float32)


def place_all_in_canvas(items: Sequence, size: Sequence[int], gap: int = 16, fill: int = 114):
    """Paste several ``(image, boxes)`` at their own size into one ``size = (W, H)`` canvas, left
    to right in rows ``gap`` px apart. Returns ``(canvas, boxes (N, 4) of all images)``; raises
    when they do not fit."""
    W, H = int(size[0]), int(size[1])
    canvas = np.full((H, W, 3), fill, np.uint8)
    out, x, y, row = [], gap, gap, 0
    for img, boxes in items:
        h, w = img.shape[:2]
        if x + w > W - gap:
            x, y, row = gap, y + row + gap, 0
        if x + w > W or y + h > H:
            raise ValueError(f'images do not fit in a {W}x{H} canvas')
        canvas[y:y + h, x:x + w] = img
        out.append(np.asarray(boxes, np.float32).reshape(-1, 4) + np.array([x, y, x, y],
                                                                           np.float32))
        x, row = x + w + gap, max(row, h)
    return canvas, np.concatenate(out) if out else np.zeros((0, 4), np.float32)


def load_images_with_boxes(gt_path: str, image_root: Optional[str] = None) -> list:
    """``[(file, (H, W, 3) uint8 RGB, boxes (N, 4)), ...]`` for every annotated image."""
    import cv2
    root = image_root or osp.dirname(osp.abspath(gt_path))
    out = []
    for f, boxes in sorted(load_face_boxes(gt_path).items()):
        img = cv2.imread(osp.join(root, f), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'{gt_path}: image {f!r} not readable under {root}')
        out.append((f, np.ascontiguousarray(img[..., ::-1]), boxes))
    return out


def evaluate_regions(regions: Iterable[np.ndarray], boxes: Iterable[np.ndarray],
                     whole: Optional[Iterable[bool]] = None, min_face: float = 16,
                     min_cover: float = 0.9) -> dict:
    """Recall and cost of obfuscated ``regions`` ((H, W) bool per frame) against ``boxes``
    ((N, 4) per frame); ``whole`` marks frames obfuscated whole (their region is all True).

    Returns ``{'faces', 'covered', 'recall', 'missed': [(frame, box), ...], 'outside_median',
    'outside_per_frame', 'whole_frames', 'whole_share'}``.
    """
    regions, boxes = list(regions), list(boxes)
    whole = [False] * len(regions) if whole is None else list(whole)
    n = hit = 0
    missed, outside = [], []
    for i, (r, b, wh) in enumerate(zip(regions, boxes, whole)):
        r = np.ones_like(r, bool) if wh else np.asarray(r, bool)
        b = np.asarray(b, np.float32).reshape(-1, 4)
        big = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= min_face
        cov = covered_fraction(r, b[big])
        n += int(big.sum())
        hit += int((cov >= min_cover).sum())
        missed += [(i, [round(float(v), 1) for v in bb]) for bb, c in zip(b[big], cov)
                   if c < min_cover]
        if len(b):
            outside.append(outside_ratio(r, b))
    return dict(faces=n, covered=hit, recall=hit / n if n else float('nan'), missed=missed,
                outside_median=float(np.median(outside)) if outside else float('nan'),
                outside_per_frame=[round(o, 3) for o in outside],
                whole_frames=int(sum(whole)), whole_share=sum(whole) / max(len(regions), 1))


def anonymizer_recall(anonymizer, frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray],
                      carry: int = 0, min_face: float = 16, min_cover: float = 0.9,
                      keep_regions: bool = False) -> dict:
    """Run ``anonymizer`` (:class:`~.anonymizer.FrameAnonymizer`) on ``frames`` as one sequence
    with temporal ``carry`` and evaluate the union of the regions each frame was obfuscated in
    (its own region and its neighbours', as :func:`~.anonymizer.anonymize_frames` applies them)
    with :func:`evaluate_regions`. Also counts head fallbacks and disagreement frames;
    ``keep_regions`` adds ``regions`` ((H, W) bool per frame) and ``whole`` (bool per frame)."""
    results = [anonymizer.decide(f, i) for i, f in enumerate(frames)]
    regions = []
    for t, res in enumerate(results):
        r = res.region.copy()
        for j in range(max(0, t - carry), min(len(results), t + carry + 1)):
            if results[j].region.shape == r.shape:
                r |= results[j].region
        regions.append(r)
    rep = evaluate_regions(regions, boxes, [r.whole for r in results], min_face, min_cover)
    rep.update(head_fallbacks=sum(r.head_fallbacks for r in results),
               disagreement_frames=[i for i, r in enumerate(results) if r.disagree],
               whole_reasons=[r.reason for r in results if r.whole])
    if keep_regions:
        rep.update(regions=regions, whole=[r.whole for r in results])
    return rep
