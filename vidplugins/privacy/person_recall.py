"""Body-level recall on annotated people (issue 15, item 7: "recall reported with person boxes").

Ground truth: COCO-style JSON, one ``images`` entry per annotated video frame (``file_name``: the
video, relative to a video folder; ``frame_index``: 0-based decoded frame; ``width``, ``height``)
and ``annotations`` with ``bbox`` ``[x, y, w, h]`` (the person's visible extent) and optionally
``head_box`` ``[x, y, w, h]`` (where the head is in the frame), as in
``tests/data/privacy/shared_video_persons.json`` (hand-annotated frames of the shared videos).

Rule (a person is *not identifiable*): with ``R`` the obfuscated region (``FrameResult.region``
united over the temporal carry, or the whole frame),

- head: ``|head & R| / |head| >= head_cover`` (default 0.9, as a face at face level), and
- body: ``|box & R| / |box| >= body_cover`` (default 0.5: most of the box; a person mask leaves
  the background between the limbs, which is part of the box);

people whose box is lower than ``min_height`` px (default: the annotation's ``info.min_height``,
else 40) are not counted. Cost (issue 15, item 9): obfuscated pixels outside the union of the
annotated person boxes, as a multiple of that union's area (median over frames).

Two ways to get ``R``: :func:`anonymizer_person_recall` runs the anonymiser's own decision on the
annotated frames (exact); :func:`output_person_recall` compares anonymised videos with their
originals (``tools/privacy_audit.py --person-gt FILE --originals DIR``): ``R`` is where a pixel
changed by more than ``thr`` levels in some channel, closed over ``close`` px (a blur leaves flat
areas nearly unchanged, so this is a lower bound of what was obfuscated; exact for ``solid``).
"""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import numpy as np

from .recall import covered_fraction, load_coco_json, outside_ratio

__all__ = ['load_person_boxes', 'person_coverage', 'evaluate_person_regions',
           'read_video_frames', 'anonymizer_person_recall', 'changed_region',
           'output_person_recall', 'format_person_recall']


def _xyxy(path: str, k: int, key: str, v) -> list:
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ValueError(f'{path}: annotations[{k}].{key} must be [x, y, w, h], got {v!r}')
    try:
        x, y, w, h = (float(a) for a in v)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{path}: annotations[{k}].{key} is not numeric: {v!r}') from e
    if w <= 0 or h <= 0:
        raise ValueError(f'{path}: annotations[{k}].{key} has a non-positive size: {v!r}')
    return [x, y, x + w, y + h]


def load_person_boxes(path: str) -> dict:
    """``{'frames': [dict(video, frame, width, height, boxes (N, 4), heads (N, 4) x1, y1, x2, y2
    with NaN rows where no head is annotated)], 'min_height': float}``; malformed input raises
    naming the file and the field."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'person ground-truth file {path} not found')
    data = load_coco_json(path)
    frames, by_id = [], {}
    for n, im in enumerate(data['images']):
        for key in ('id', 'file_name', 'frame_index'):
            if key not in im:
                raise ValueError(f'{path}: images[{n}] has no {key!r}')
        by_id[im['id']] = len(frames)
        frames.append(dict(video=im['file_name'], frame=int(im['frame_index']),
                           width=im.get('width'), height=im.get('height'), boxes=[], heads=[]))
    person_ids = {c['id'] for c in data.get('categories', []) if c.get('name') == 'person'}
    for k, a in enumerate(data['annotations']):
        if person_ids and a.get('category_id', next(iter(person_ids))) not in person_ids:
            continue
        if a.get('image_id') not in by_id:
            raise ValueError(f'{path}: annotations[{k}].image_id {a.get("image_id")!r} is not '
                             'an image id')
        fr = frames[by_id[a['image_id']]]
        fr['boxes'].append(_xyxy(path, k, 'bbox', a.get('bbox')))
        fr['heads'].append(_xyxy(path, k, 'head_box', a['head_box']) if a.get('head_box')
                           else [np.nan] * 4)
    for fr in frames:
        fr['boxes'] = np.asarray(fr['boxes'], np.float32).reshape(-1, 4)
        fr['heads'] = np.asarray(fr['heads'], np.float32).reshape(-1, 4)
    return dict(frames=frames, min_height=float(data.get('info', {}).get('min_height', 40)))


def person_coverage(region: np.ndarray, boxes: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """``(N, 2)``: share of each head box (1.0 where no head is annotated: NaN row) and of each
    person box inside ``region`` (H, W) bool."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    heads = np.asarray(heads, np.float32).reshape(-1, 4)
    annotated = ~np.isnan(heads).any(axis=1)
    head = np.ones(len(heads), np.float64)
    head[annotated] = covered_fraction(region, heads[annotated])
    return np.stack([head, covered_fraction(region, boxes)], axis=1)


def evaluate_person_regions(regions: Sequence[np.ndarray], frames: Sequence[dict],
                            head_cover: float = 0.9, body_cover: float = 0.5,
                            min_height: float = 40) -> dict:
    """Recall of obfuscated ``regions`` ((H, W) bool per annotated frame) against ``frames``
    (:func:`load_person_boxes`'s entries) under the module's rule. Returns ``{'persons',
    'covered', 'recall', 'missed': [dict(video, frame, box, head, body)], 'outside_median',
    'per_video': {video: [covered, persons]}}``."""
    n = hit = 0
    missed, outside, per_video = [], [], {}
    for r, fr in zip(regions, frames):
        r = np.asarray(r, bool)
        b, h = fr['boxes'], fr['heads']
        big = (b[:, 3] - b[:, 1]) >= min_height
        cov = person_coverage(r, b[big], h[big])
        ok = (cov[:, 0] >= head_cover) & (cov[:, 1] >= body_cover)
        pv = per_video.setdefault(fr['video'], [0, 0])
        pv[0] += int(ok.sum())
        pv[1] += int(big.sum())
        n, hit = n + int(big.sum()), hit + int(ok.sum())
        missed += [dict(video=fr['video'], frame=fr['frame'], box=[round(float(v)) for v in bb],
                        head=round(float(c[0]), 2), body=round(float(c[1]), 2))
                   for bb, c, o in zip(b[big], cov, ok) if not o]
        if len(b):
            outside.append(outside_ratio(r, b))
    return dict(persons=n, covered=hit, recall=hit / n if n else float('nan'), missed=missed,
                outside_median=float(np.median(outside)) if outside else float('nan'),
                outside_per_frame=[round(o, 3) for o in outside], per_video=per_video)


def read_video_frames(path: str, indices: Sequence[int]) -> dict:
    """``{index: (H, W, 3) uint8 RGB}`` for the wanted 0-based ``indices`` (decoded in order,
    stopping after the last); raises naming the file when one lies past the end."""
    from .anonymizer import read_frames
    want, out = set(int(i) for i in indices), {}
    last = max(want) if want else -1
    for i, f in enumerate(read_frames(path)):
        if i in want:
            out[i] = f
        if i >= last:
            break
    lost = sorted(want - set(out))
    if lost:
        raise ValueError(f'{path}: frames {lost} are past the end of the video')
    return out


def anonymizer_person_recall(anonymizer, gt_path: str, video_root: str, carry: int = 0,
                             head_cover: float = 0.9, body_cover: float = 0.5,
                             min_height: Optional[float] = None,
                             videos: Optional[Sequence[str]] = None) -> dict:
    """Run ``anonymizer`` (:class:`~.anonymizer.FrameAnonymizer`) on every annotated frame of
    ``gt_path`` (and its ``carry`` neighbours on each side, whose regions are united as
    :func:`~.anonymizer.anonymize_frames` applies them; a frame obfuscated whole counts as all
    obfuscated) and evaluate with :func:`evaluate_person_regions`. ``videos``: only these files.
    Adds ``frames`` (annotated frames evaluated) and ``whole_frames``."""
    gt = load_person_boxes(gt_path)
    frames = [fr for fr in gt['frames'] if videos is None or fr['video'] in videos]
    regions, whole = [], 0
    for video in sorted({fr['video'] for fr in frames}):
        path = osp.join(video_root, video)
        mine = [fr for fr in frames if fr['video'] == video]
        need = sorted({j for fr in mine for j in range(max(0, fr['frame'] - carry),
                                                        fr['frame'] + carry + 1)})
        try:
            imgs = read_video_frames(path, need)
        except ValueError:  # a neighbour past the end: the annotated frames themselves only
            imgs = read_video_frames(path, sorted({fr['frame'] for fr in mine}))
        if hasattr(anonymizer, 'reset'):
            anonymizer.reset(path)
        decided = {}
        for j in sorted(imgs):
            res = anonymizer.decide(imgs[j], j)
            decided[j] = np.ones(imgs[j].shape[:2], bool) if res.whole else res.region
            whole += int(res.whole)
        for fr in mine:
            r = decided[fr['frame']].copy()
            for j in range(fr['frame'] - carry, fr['frame'] + carry + 1):
                if j in decided and decided[j].shape == r.shape:
                    r |= decided[j]
            regions.append((fr, r))
    rep = evaluate_person_regions([r for _, r in regions], [fr for fr, _ in regions], head_cover,
                                  body_cover, gt['min_height'] if min_height is None
                                  else min_height)
    rep.update(frames=len(regions), whole_frames=whole)
    return rep


def changed_region(original: np.ndarray, anonymised: np.ndarray, thr: int = 12,
                   close: int = 7) -> np.ndarray:
    """``(H, W)`` bool: pixels whose largest channel difference exceeds ``thr`` (above the
    re-encoding noise), morphologically closed with a ``close`` px square (the flat inside of a
    blurred region)."""
    import cv2
    if original.shape != anonymised.shape:
        raise ValueError(f'frame sizes differ: original {original.shape}, anonymised '
                         f'{anonymised.shape}')
    d = np.abs(original.astype(np.int16) - anonymised.astype(np.int16)).max(-1) > thr
    if close > 1:
        d = cv2.morphologyEx(d.astype(np.uint8), cv2.MORPH_CLOSE,
                             np.ones((close, close), np.uint8)).astype(bool)
    return d


def output_person_recall(anon_root: str, orig_root: str, gt_path: str, thr: int = 12,
                         close: int = 7, head_cover: float = 0.9, body_cover: float = 0.5,
                         min_height: Optional[float] = None) -> dict:
    """Person recall of anonymised videos (``anon_root/<file_name>``) against their originals
    (``orig_root/<file_name>``) on the annotated frames of ``gt_path``: the obfuscated region is
    :func:`changed_region`. Annotated videos absent under ``anon_root`` are listed in
    ``videos_missing`` (not counted); one absent under ``orig_root`` raises naming it."""
    gt = load_person_boxes(gt_path)
    regions, frames, missing = [], [], []
    for video in sorted({fr['video'] for fr in gt['frames']}):
        mine = [fr for fr in gt['frames'] if fr['video'] == video]
        idx = [fr['frame'] for fr in mine]
        paths = [osp.join(anon_root, video), osp.join(orig_root, video)]
        if not osp.isfile(paths[0]):
            missing.append(video)
            continue
        if not osp.isfile(paths[1]):
            raise FileNotFoundError(f'{gt_path}: original of {video!r} not found as {paths[1]}')
        anon, orig = (read_video_frames(p, idx) for p in paths)
        for fr in mine:
            regions.append(changed_region(orig[fr['frame']], anon[fr['frame']], thr, close))
            frames.append(fr)
    rep = evaluate_person_regions(regions, frames, head_cover, body_cover,
                                  gt['min_height'] if min_height is None else min_height)
    rep.update(frames=len(frames), whole_frames=0, videos_missing=missing)
    return rep


def format_person_recall(rep: dict) -> str:
    """One line per video and a total line, for tools and the closing note."""
    lines = [f'{v}: {c}/{n} persons covered' for v, (c, n) in sorted(rep['per_video'].items())]
    lines.append(f'person recall {rep["covered"]}/{rep["persons"]} = {rep["recall"]:.3f} on '
                 f'{rep["frames"]} annotated frames; obfuscated outside the person boxes '
                 f'{rep["outside_median"]:.2f}x their area (median); {rep["whole_frames"]} '
                 'frames obfuscated whole')
    if rep.get('videos_missing'):
        lines.append(f'{len(rep["videos_missing"])} annotated videos not found, not counted: '
                     + ', '.join(rep['videos_missing']))
    lines += [f'  missed: {m["video"]} frame {m["frame"]} box {m["box"]} (head {m["head"]:.2f}, '
              f'body {m["body"]:.2f} obfuscated)' for m in rep['missed']]
    return '\n'.join(lines)
