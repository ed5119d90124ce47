"""Privacy audit of (anonymised) videos and the dataset statistics of thesis Fig. 5.3.

:func:`audit_video` runs a face and a body detector on every ``stride``-th frame of a video and counts
instances. Run on anonymised output with detectors independent of the anonymiser's decision, every
face found is a residual: a face the anonymiser left recognisable. Default face auditor
(:data:`AUDIT_DETECTORS`): model families different from the anonymiser's (BlazeFace and dlib HOG):
MTCNN (facenet-pytorch, its own image pyramid down to 16 px, O-Net probability >= 0.9; below 0.99
verified by the landmark model below) united with
OpenCV Haar cascades (frontal, alt2, profile) whose candidates are kept only if mediapipe's
face-mesh landmark model finds a face on the crop upscaled to 128 px. :func:`calibrate` measures its
recall on real annotated faces (all 18 of ``../shared/data/faces_annotated``: recall 1.0),
reported by ``tools/privacy_audit.py --gt``; :func:`gt_residuals` counts annotated faces still visible in
anonymised copies. For people, OpenCV's HOG detector.

:func:`class_statistics` aggregates per-video audits by class (Fig. 5.3): the share of videos with at
least one face / body in any audited frame (left plot) and the mean number of instances per frame
(right plot); :func:`plot_statistics` draws both as bar plots.
"""
from __future__ import annotations

import os.path as osp
from typing import Iterable, Optional

import numpy as np

from .anonymizer import VideoReadError, list_videos, probe_video, read_frames
from .detectors import build_detector

__all__ = ['AUDIT_DETECTORS', 'audit_video', 'calibrate', 'gt_residuals', 'audit_dataset',
           'class_statistics',
           'draw_flagged_frames',
           'plot_statistics', 'classes_from_list', 'classes_from_folders']

#: Default auditors: model families different from the anonymiser defaults (BlazeFace, dlib HOG):
#: MTCNN (facenet-pytorch's cascaded CNNs, own pyramid down to 16 px) united with OpenCV Haar
#: cascades whose candidates a face-landmark model verifies. Its recall on real annotated faces is
#: measured by :func:`calibrate` (``tools/privacy_audit.py --gt``).
AUDIT_DETECTORS = dict(
    face=dict(type='UnionDetector', detectors=[
        # O-Net probability in [0.9, 0.99): kept only when the landmark model agrees (a blurred
        # blob the anonymiser left can score 0.9-0.97 as a face shape, no real face fails it)
        dict(type='MTCNNFaceDetector', min_face=16, min_score=0.9, verify='landmarks',
             verify_below=0.99),
        dict(type='CascadeFaceDetector',
             cascades=['haarcascade_frontalface_default.xml', 'haarcascade_frontalface_alt2.xml',
                       'haarcascade_profileface.xml'],
             min_neighbors=3, min_size=16, verify='landmarks')]),
    body=dict(type='HOGPeopleDetector', upscale=1.5, min_score=0.6),
)


def audit_video(path: str, face_detector=None, body_detector=None, stride: int = 1,
                min_score: float = 0.5, keep_boxes: bool = False) -> dict:
    """Count faces / bodies in a video.

    Args:
        path: the video. face_detector, body_detector: config dicts or callables (None: the
            :data:`AUDIT_DETECTORS` default; pass ``False`` to skip a level).
        stride: audit every ``stride``-th frame.
        min_score: detections below it are not counted.
        keep_boxes: also return ``face_boxes``: ``{frame index: [[x1, y1, x2, y2], ...]}``.

    Returns:
        ``{'frames': audited frames, 'frames_total', 'faces': total instances,
        'frames_with_faces', 'faces_per_frame', 'has_face', 'bodies', ...}``.
    """
    probe_video(path)  # unreadable input: VideoReadError naming the file, before any detector
    dets = {}
    for level, d in (('face', face_detector), ('body', body_detector)):
        if d is False:
            continue
        dets[level] = build_detector(AUDIT_DETECTORS[level] if d is None else d)
        if hasattr(dets[level], 'reset'):
            dets[level].reset(path)
    counts = {lv: 0 for lv in dets}
    with_any = {lv: 0 for lv in dets}
    boxes = {}
    n_total = n = 0
    for i, frame in enumerate(read_frames(path)):
        n_total += 1
        if i % stride:
            continue
        n += 1
        for lv, det in dets.items():
            if hasattr(det, 'seek'):
                det.seek(i)
            out = det(frame).validated(frame.shape)
            keep = out.scores >= min_score
            k = int(keep.sum())
            counts[lv] += k
            with_any[lv] += int(k > 0)
            if keep_boxes and lv == 'face' and k:
                boxes[i] = out.boxes[keep].round(1).tolist()
    rec = dict(frames=n, frames_total=n_total, stride=stride)
    for lv, name in (('face', 'faces'), ('body', 'bodies')):
        if lv in dets:
            rec[name] = counts[lv]
            rec[f'frames_with_{name}'] = with_any[lv]
            rec[f'{name}_per_frame'] = counts[lv] / max(n, 1)
            rec[f'has_{lv}'] = counts[lv] > 0
    if keep_boxes:
        rec['face_boxes'] = boxes
    return rec


def classes_from_folders(rel_paths: Iterable[str]) -> dict:
    """Class of each video = its parent folder's name (``'.'`` for files at the root)."""
    return {r: (osp.basename(osp.dirname(r)) or '.') for r in rel_paths}


def classes_from_list(list_file: str, class_names: Optional[list] = None) -> dict:
    """Classes from an mmaction2 video list (``<relative path> <label>`` per line); labels are
    mapped through ``class_names`` when given. Malformed lines raise naming file and line."""
    out = {}
    with open(list_file) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) < 2:
                raise ValueError(f'{list_file}:{n}: expected "<path> <label>", got {line.strip()!r}')
            label = parts[-1]
            if class_names is not None:
                label = class_names[int(label)]
            out[' '.join(parts[:-1])] = label
    return out


def audit_dataset(root: str, classes: Optional[dict] = None, stride: int = 1,
                  face_detector=None, body_detector=None, videos: Optional[list] = None,
                  progress: bool = True, keep_boxes: bool = False) -> dict:
    """Audit every video under ``root``. Returns ``{'videos': {rel: record}, 'skipped': [...],
    'classes': class_statistics(...), 'summary': {...}}``; unreadable videos are counted skips."""
    rels = videos if videos is not None else list_videos(root)
    classes = classes if classes is not None else classes_from_folders(rels)
    face = build_detector(AUDIT_DETECTORS['face'] if face_detector is None else face_detector) \
        if face_detector is not False else False
    body = build_detector(AUDIT_DETECTORS['body'] if body_detector is None else body_detector) \
        if body_detector is not False else False
    bar = None
    if progress and rels:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(rels))
    records, skipped = {}, []
    for rel in rels:
        try:
            records[rel] = audit_video(osp.join(root, rel), face, body, stride,
                                       keep_boxes=keep_boxes)
        except VideoReadError as e:
            skipped.append(dict(video=rel, error=str(e)))
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    missing = [r for r in records if r not in classes]
    if missing:
        raise KeyError(f'no class for {len(missing)} audited videos, e.g. {missing[0]!r}')
    summary = dict(videos=len(rels), audited=len(records), skipped=len(skipped),
                   frames=sum(r['frames'] for r in records.values()))
    for name in ('faces', 'bodies'):
        if any(name in r for r in records.values()):
            summary[name] = sum(r.get(name, 0) for r in records.values())
            summary[f'videos_with_{name}'] = sum(r.get(name, 0) > 0 for r in records.values())
    return dict(root=osp.abspath(root), stride=stride, summary=summary, videos=records,
                skipped=skipped, classes=class_statistics(records, classes))


def class_statistics(records: dict, classes: dict) -> dict:
    """Fig. 5.3 per class: ``{class: {'videos', 'pct_videos_with_faces', 'faces_per_frame',
    'pct_videos_with_bodies', 'bodies_per_frame'}}``.

    ``pct_videos_with_X`` = 100 * #videos with >= 1 X in an audited frame / #videos of the class;
    ``X_per_frame`` = mean over the class's videos of (instances / audited frames) (each video
    weighs the same, as a per-video average of Kinetics' 10 s clips does).
    """
    out: dict = {}
    for rel, rec in records.items():
        out.setdefault(classes[rel], []).append(rec)
    stats = {}
    for c in sorted(out):
        recs = out[c]
        s = dict(videos=len(recs))
        for name in ('faces', 'bodies'):
            if all(name in r for r in recs):
                s[f'pct_videos_with_{name}'] = 100.0 * sum(r[name] > 0 for r in recs) / len(recs)
                s[f'{name}_per_frame'] = float(np.mean([r[f'{name}_per_frame'] for r in recs]))
        stats[c] = s
    return stats


def plot_statistics(stats: dict, path: str, title: str = '') -> None:
    """Fig. 5.3 as a PNG: per-class % of videos with faces / bodies (left) and mean instances per
    frame (right), classes sorted by the body share, written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from vidplugins.utils.io import atomic_write
    classes = sorted(stats, key=lambda c: -stats[c].get('pct_videos_with_bodies',
                                                        stats[c].get('pct_videos_with_faces', 0)))
    x = np.arange(len(classes))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 0.35 * len(classes) + 4), 4))
    for ax, key, ylabel in ((axes[0], 'pct_videos_with_{}', '% videos with >= 1 instance'),
                            (axes[1], '{}_per_frame', 'instances per frame')):
        for k, (name, colour) in enumerate((('bodies', 'tab:orange'), ('faces', 'tab:blue'))):
            vals = [stats[c].get(key.format(name), np.nan) for c in classes]
            if not np.all(np.isnan(vals)):
                ax.bar(x + (k - 0.5) * 0.4, vals, 0.4, label=name, color=colour)
        ax.set_xticks(x)
        ax.set_xticklabels(classes, rotation=90, fontsize=7)
        ax.set_ylabel(ylabel)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=100)
    plt.close(fig)



def draw_flagged_frames(video_path: str, face_boxes: dict, out_dir: str,
                        colour=(255, 0, 0)) -> list:
    """Write every frame the auditor flagged, with its face boxes drawn, for a person to review.

    An automatic auditor errs on the side of flagging (skin-coloured hands can pass it); this
    turns a flag into a picture that settles it.

    Args:
        video_path: the audited video. face_boxes: ``{frame index: [[x1, y1, x2, y2], ...]}``
            (``audit_video(..., keep_boxes=True)['face_boxes']``; JSON string keys work too).
        out_dir: written as ``<out_dir>/<frame index:06d>.jpg`` (each file atomically).

    Returns:
        The paths written, in frame order.
    """
    import cv2

    from vidplugins.utils.io import atomic_write
    wanted = {int(k): v for k, v in face_boxes.items()}
    written = []
    if not wanted:
        return written
    last = max(wanted)
    for i, frame in enumerate(read_frames(video_path)):
        if i in wanted:
            img = np.ascontiguousarray(frame[..., ::-1])  # RGB -> BGR for OpenCV
            for x1, y1, x2, y2 in wanted[i]:
                cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), colour[::-1], 2)
            ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise RuntimeError(f'{video_path}: could not encode frame {i} as JPEG')
            path = osp.join(out_dir, f'{i:06d}.jpg')
            with atomic_write(path, 'wb') as f:
                f.write(buf.tobytes())
            written.append(path)
        if i >= last:
            break
    missing = sorted(set(wanted) - {int(osp.basename(p)[:6]) for p in written})
    if missing:
        raise VideoReadError(f'{video_path}: flagged frames {missing} are beyond its decoded '
                             'frames')
    return written


def _found(boxes: np.ndarray, gt: np.ndarray, shape, min_cover: float = 0.5) -> np.ndarray:
    """``(N,)`` bool: annotated boxes ``gt`` that detections ``boxes`` cover >= ``min_cover``."""
    from .obfuscation import boxes_to_mask
    from .recall import covered_fraction
    return covered_fraction(boxes_to_mask(boxes, shape[:2]), gt) >= min_cover


def calibrate(gt_path: str, face_detector=None, min_score: float = 0.5,
              min_face: float = 16) -> dict:
    """The auditor's own recall on annotated real faces: its detector (default
    :data:`AUDIT_DETECTORS` ``['face']``) on the original images next to ``gt_path`` (dlib XML or
    COCO-WholeBody JSON). A face counts as found when detections cover >= 50 % of its box.

    Returns ``{'gt', 'faces', 'found', 'recall', 'missed': [(image, box), ...]}``."""
    from .recall import load_images_with_boxes
    det = build_detector(AUDIT_DETECTORS['face'] if face_detector is None else face_detector)
    n = hit = 0
    missed = []
    for f, img, gt in load_images_with_boxes(gt_path):
        gt = gt[np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]) >= min_face]
        out = det(img).validated(img.shape)
        ok = _found(out.boxes[out.scores >= min_score], gt, img.shape)
        n, hit = n + len(gt), hit + int(ok.sum())
        missed += [(f, [float(v) for v in b]) for b, k in zip(gt, ok) if not k]
    return dict(gt=gt_path, faces=n, found=hit, recall=hit / n if n else float('nan'),
                missed=missed)


def gt_residuals(root: str, gt_path: str, face_detector=None, min_score: float = 0.5) -> dict:
    """Annotated faces still visible in anonymised images: for each image of ``gt_path`` that has
    a copy under ``root`` (same relative path), the auditor runs on the original and on the copy;
    a face it finds in the original and again in the copy is a residual.

    Returns ``{'images', 'faces', 'found_in_originals', 'residual', 'recall'}``, where recall =
    1 - residual / found_in_originals (the anonymiser's recall as this auditor can see it), and
    ``residual_faces``: ``[(image, box), ...]``."""
    import cv2

    from .recall import load_images_with_boxes
    det = build_detector(AUDIT_DETECTORS['face'] if face_detector is None else face_detector)
    n_img = n = seen = res = 0
    residual = []
    for f, img, gt in load_images_with_boxes(gt_path):
        copy = cv2.imread(osp.join(root, f), cv2.IMREAD_COLOR)
        if copy is None or copy.shape != img.shape:
            continue
        copy = np.ascontiguousarray(copy[..., ::-1])
        n_img, n = n_img + 1, n + len(gt)
        a = det(img).validated(img.shape)
        b = det(copy).validated(copy.shape)
        in_orig = _found(a.boxes[a.scores >= min_score], gt, img.shape)
        in_copy = _found(b.boxes[b.scores >= min_score], gt, img.shape) & in_orig
        seen, res = seen + int(in_orig.sum()), res + int(in_copy.sum())
        residual += [(f, [float(v) for v in g]) for g, k in zip(gt, in_copy) if k]
    return dict(images=n_img, faces=n, found_in_originals=seen, residual=res,
                recall=1 - res / seen if seen else float('nan'), residual_faces=residual)
