"""Readers and writer of pre-extracted actor / object features for STAGE (thesis Sec. 3.2.2).

STAGE works on features only (Ch. 3): per keyframe, actor features from a frozen 3D backbone and
object features from a Faster R-CNN trained on Visual Genome. Three on-disk layouts are read:

* ``'vidplugins'``: the project format written by ``tools/data/ava/extract_*_features.py``
  (``write_keyframe``), one HDF5 file per (split, entity kind)::

      attrs: format='vidplugins-stage-features', version=2, backbone, feat_dim, kind[, split]
      /<video_id>/<timestamp:04d>/feats   float32 (N, D)
      /<video_id>/<timestamp:04d>/boxes   float32 (N, 4)  normalised x1, y1, x2, y2
      /<video_id>/<timestamp:04d>/scores  float32 (N,)    detector score, 1.0 for ground truth
      /<video_id>/<timestamp:04d>/is_gt   uint8 (N,)      (actors only) 1: a ground-truth box
      /<video_id>/<timestamp:04d>/labels  int64 (N,)      (objects only, optional) class index

  ``is_gt`` marks the ground-truth boxes that ``extract_actor_features.py --ann-file`` writes
  next to the detections: they serve training (Sec. 3.2.2) and, at validation / test time, only
  the ground-truth-box experiment (Sec. 3.3.2); ``AVAFeatureDataset`` drops them otherwise.
  Version 1 files (no ``is_gt``) are still read; at validation / test time they are refused,
  since their ground-truth boxes cannot be told from the detections.

* ``'stage-i3d'``: the I3D release of the authors (aimagelab/STAGE_action_detection README):
  ``<actors_dir>/<video_id>/<timestamp>.h5`` with ``features`` (N, 1024, t, h, w), ``boxes`` (N, 4)
  and ``labels`` (N, 81) multi-hot (column 0 background), plus one object file with keys
  ``<video_id>_<timestamp without leading zeros>_{features,boxes,cls_prob}``.
* ``'stage-slowfast'``: the SlowFast release of the authors, one HDF5 per split with groups
  ``<clip_number>_<timestamp>`` holding ``boxes``, ``features``, ``labels`` (N, 80, no background).
  The file stores a clip *number*, not a YouTube id: the reader maps number i to the i-th entry of
  ``video_list`` (by default the sorted video ids of the split's annotation csv, the order of
  the official AVA file lists).

Every reader returns, for one keyframe, a dict of numpy arrays ``feats`` (N, D) float32, ``boxes``
(N, 4) float32, ``scores`` (N,) float32 and, when the file stores them, ``labels`` (N,) int64
(object classes) or ``gt_labels`` (N, 81) float32 (actor multi-hot labels of the releases, column 0
background), and, for project-format actors of version >= 2, ``is_gt`` (N,) bool. Bad input
raises ``FeatureFileError`` naming the file and the key.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

FORMAT = 'vidplugins-stage-features'
VERSION = 2
#: versions the reader reads (1: no ``is_gt`` marks of the ground-truth actor boxes)
READ_VERSIONS = (1, 2)
KINDS = ('actors', 'objects')
FEATURE_FORMATS = ('vidplugins', 'stage-i3d', 'stage-slowfast')


class FeatureFileError(ValueError):
    """A feature file or one of its keyframe entries is missing, malformed or holds NaN / inf."""


def _h5py():
    import h5py  # local import: h5py is only needed by code that touches feature files
    return h5py


def keyframe_key(video_id: str, timestamp: int) -> str:
    """Group of one keyframe in the project format: ``'<video_id>/<timestamp:04d>'``."""
    return f'{video_id}/{int(timestamp):04d}'


def validate_entities(path: str, key: str, feats: np.ndarray, boxes: np.ndarray,
                      scores: np.ndarray, feat_dim: Optional[int] = None,
                      check_finite: bool = True) -> None:
    """Check shapes ``feats (N, D)``, ``boxes (N, 4)``, ``scores (N,)`` and finiteness.

    Raises ``FeatureFileError`` naming ``path`` and ``key`` (and the field) on any mismatch.
    """
    where = f'{path}: {key}'
    if feats.ndim != 2:
        raise FeatureFileError(f'{where}/feats: expected (N, D), got shape {feats.shape}')
    n = feats.shape[0]
    if feat_dim is not None and n and feats.shape[1] != feat_dim:
        raise FeatureFileError(
            f'{where}/feats: feature size {feats.shape[1]} != expected {feat_dim}')
    if boxes.shape != (n, 4):
        raise FeatureFileError(f'{where}/boxes: expected ({n}, 4), got shape {boxes.shape}')
    if scores.shape != (n,):
        raise FeatureFileError(f'{where}/scores: expected ({n},), got shape {scores.shape}')
    if check_finite:
        for name, arr in (('feats', feats), ('boxes', boxes), ('scores', scores)):
            if not np.isfinite(arr).all():
                rows = np.flatnonzero(~np.isfinite(arr.reshape(n, -1)).all(axis=1))
                raise FeatureFileError(
                    f'{where}/{name}: {len(rows)} row(s) with NaN/inf (first: row {rows[0]})')


# ------------------------------------------------------------------------------------- writer
def open_feature_file(path: str, kind: str, backbone: str, feat_dim: int, mode: str = 'a',
                      split: Optional[str] = None):
    """Open (create) a project-format file and set / check its attributes.

    ``split`` (e.g. 'train', 'val', 'test'), when given, is stored as an attribute.
    Appending to a file written for another kind, backbone, feature size, split or format
    version raises ``FeatureFileError``: a resumed extraction must not mix features.
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    h5py = _h5py()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    f = h5py.File(path, mode)
    if f.attrs.get('format') is None:
        f.attrs.update(dict(format=FORMAT, version=VERSION, backbone=backbone,
                            feat_dim=int(feat_dim), kind=kind))
        if split is not None:
            f.attrs['split'] = split
    else:
        want = dict(format=FORMAT, version=VERSION, kind=kind, backbone=backbone,
                    feat_dim=int(feat_dim))
        if split is not None:
            want['split'] = split
        for k, v in want.items():
            got = f.attrs.get(k)
            got = got.decode() if isinstance(got, bytes) else got
            if got is not None and k in ('feat_dim', 'version'):
                got = int(got)
            if got != v:
                f.close()
                raise FeatureFileError(f'{path}: attribute {k}={got!r}, cannot append {k}={v!r}')
    return f


def write_keyframe(h5file, kind: str, video_id: str, timestamp: int, feats, boxes, scores,
                   labels=None, is_gt=None) -> None:
    """Write one keyframe group ``/<video_id>/<timestamp:04d>`` of the project format.

    Args:
        h5file: an open, writable ``h5py.File`` (see ``open_feature_file``).
        kind: ``'actors'`` or ``'objects'`` (must match the file's ``kind`` attribute if set).
        feats: (N, D) features; N = 0 is a valid empty keyframe.
        boxes: (N, 4) normalised x1, y1, x2, y2.
        scores: (N,) detector scores (1.0 for ground-truth boxes).
        labels: (N,) detector class indices, objects only (optional).
        is_gt: (N,) bool, actors only: True for a ground-truth box (default: all False,
            detections). Objects carry no mark.
    """
    path = getattr(h5file, 'filename', '<h5>')
    file_kind = h5file.attrs.get('kind')
    if file_kind is not None and file_kind != kind:
        raise FeatureFileError(f'{path}: file holds {file_kind!r}, cannot write {kind!r}')
    feats = np.asarray(feats, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if feats.ndim == 1 and feats.size == 0:
        feats = feats.reshape(0, int(h5file.attrs.get('feat_dim', 0)))
    key = keyframe_key(video_id, timestamp)
    dim = h5file.attrs.get('feat_dim')
    validate_entities(path, key, feats, boxes, scores,
                      feat_dim=None if dim is None else int(dim))
    if labels is not None:
        if kind != 'objects':
            raise FeatureFileError(f'{path}: {key}/labels: only object entries carry labels')
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.shape != (feats.shape[0],):
            raise FeatureFileError(
                f'{path}: {key}/labels: expected ({feats.shape[0]},), got {labels.shape}')
    if kind == 'actors':
        is_gt = (np.zeros(feats.shape[0], np.uint8) if is_gt is None
                 else np.asarray(is_gt, dtype=bool).astype(np.uint8).reshape(-1))
        if is_gt.shape != (feats.shape[0],):
            raise FeatureFileError(
                f'{path}: {key}/is_gt: expected ({feats.shape[0]},), got {is_gt.shape}')
    elif is_gt is not None:
        raise FeatureFileError(f'{path}: {key}/is_gt: only actor entries are marked')
    if key in h5file:
        del h5file[key]
    g = h5file.create_group(key)
    g.create_dataset('feats', data=feats)
    g.create_dataset('boxes', data=boxes)
    g.create_dataset('scores', data=scores)
    if labels is not None:
        g.create_dataset('labels', data=labels)
    if kind == 'actors':
        g.create_dataset('is_gt', data=is_gt)


# ------------------------------------------------------------------------------------- readers
class _LazyH5:
    """An HDF5 file opened on first use in each process (safe with forked DataLoader workers)."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._pid = None

    @property
    def file(self):
        if self._file is None or self._pid != os.getpid():
            if not osp.isfile(self.path):
                raise FeatureFileError(f'{self.path}: feature file not found')
            try:
                self._file = _h5py().File(self.path, 'r')
            except OSError as e:
                raise FeatureFileError(f'{self.path}: cannot open as HDF5 ({e})') from None
            self._pid = os.getpid()
        return self._file

    def __getstate__(self):  # never pickle an open handle into a worker
        return dict(path=self.path, _file=None, _pid=None)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def _read(path: str, group, key: str, field: str) -> np.ndarray:
    if field not in group:
        raise FeatureFileError(f'{path}: {key}: missing field {field!r}')
    return np.asarray(group[field][()])


class ProjectFeatureReader:
    """Reader of one project-format file (``format='vidplugins-stage-features'``).

    Args:
        path: the ``.h5`` file.
        kind: expected ``kind`` attribute (``'actors'`` / ``'objects'``), checked when given.
        feat_dim: expected feature size D, checked against the attribute and every entry.
        check_finite: raise on NaN / inf in a keyframe entry.
    """

    def __init__(self, path: str, kind: Optional[str] = None, feat_dim: Optional[int] = None,
                 check_finite: bool = True):
        self.path = path
        self._h5 = _LazyH5(path)
        attrs = dict(self._h5.file.attrs)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        if attrs.get('format') != FORMAT:
            raise FeatureFileError(
                f'{path}: attribute format={attrs.get("format")!r}, expected {FORMAT!r}')
        self.version = int(attrs.get('version', -1))
        if self.version not in READ_VERSIONS:
            raise FeatureFileError(f'{path}: attribute version={attrs.get("version")!r}, '
                                   f'this reader reads versions {READ_VERSIONS}')
        if kind is not None and attrs.get('kind') != kind:
            raise FeatureFileError(
                f'{path}: attribute kind={attrs.get("kind")!r}, expected {kind!r}')
        file_dim = int(attrs['feat_dim'])
        if feat_dim is not None and file_dim != feat_dim:
            raise FeatureFileError(f'{path}: attribute feat_dim={file_dim}, expected {feat_dim}')
        self.kind = attrs.get('kind')
        self.backbone = attrs.get('backbone')
        self.split = attrs.get('split')
        #: the file marks its ground-truth actor boxes (``is_gt``, version >= 2)
        self.marks_gt = self.kind == 'actors' and self.version >= 2
        self.feat_dim = file_dim
        self.check_finite = check_finite

    def keys(self) -> List[Tuple[str, int]]:
        """All (video_id, timestamp) keyframes in the file, sorted."""
        f = self._h5.file
        return sorted((v, int(t)) for v in f.keys() for t in f[v].keys())

    def has(self, video_id: str, timestamp: int) -> bool:
        return keyframe_key(video_id, timestamp) in self._h5.file

    def read(self, video_id: str, timestamp: int) -> Dict[str, np.ndarray]:
        key = keyframe_key(video_id, timestamp)
        f = self._h5.file
        if key not in f:
            raise FeatureFileError(f'{self.path}: no entry for keyframe {key}')
        g = f[key]
        out = dict(feats=_read(self.path, g, key, 'feats').astype(np.float32, copy=False),
                   boxes=_read(self.path, g, key, 'boxes').astype(np.float32, copy=False),
                   scores=_read(self.path, g, key, 'scores').astype(np.float32, copy=False))
        if out['feats'].ndim == 2 and out['feats'].shape[0] == 0:
            out['feats'] = out['feats'].reshape(0, self.feat_dim)
        validate_entities(self.path, key, out['feats'], out['boxes'], out['scores'],
                          self.feat_dim, self.check_finite)
        if 'labels' in g:
            out['labels'] = np.asarray(g['labels'][()], dtype=np.int64)
        if self.marks_gt:
            is_gt = _read(self.path, g, key, 'is_gt').astype(bool).reshape(-1)
            if is_gt.shape != out['scores'].shape:
                raise FeatureFileError(f'{self.path}: {key}/is_gt: expected '
                                       f'{out["scores"].shape}, got {is_gt.shape}')
            out['is_gt'] = is_gt
        return out


def _pool_feature(path: str, key: str, feats: np.ndarray) -> np.ndarray:
    """(N, D, t, h, w) or (N, D) -> (N, D): average over time and space (Sec. 3.2.2)."""
    if feats.ndim > 2:
        feats = feats.reshape(feats.shape[0], feats.shape[1], -1).mean(axis=2)
    if feats.ndim != 2:
        raise FeatureFileError(f'{path}: {key}/features: expected (N, D[, t, h, w]), '
                               f'got shape {feats.shape}')
    return feats.astype(np.float32, copy=False)


class StageI3DActorReader:
    """Actors of the authors' I3D release: ``<actors_dir>/<video_id>/<timestamp>.h5``.

    Keyframe files are named with the timestamp as written by the authors (``0902.h5`` or
    ``902.h5``); both spellings are looked up. Boxes are ground truth plus detections with labels
    already assigned (IoU >= 0.5, Sec. 3.2.2), so ``scores`` are 1.0 and ``gt_labels`` (N, 81) are
    returned as stored.
    """

    def __init__(self, actors_dir: str, feat_dim: Optional[int] = 1024,
                 check_finite: bool = True):
        if not osp.isdir(actors_dir):
            raise FeatureFileError(f'{actors_dir}: actor feature folder not found')
        self.path = actors_dir
        self.feat_dim = feat_dim
        self.check_finite = check_finite

    def _file(self, video_id: str, timestamp: int) -> Optional[str]:
        for name in (f'{int(timestamp):04d}.h5', f'{int(timestamp)}.h5'):
            p = osp.join(self.path, video_id, name)
            if osp.isfile(p):
                return p
        return None

    def keys(self) -> List[Tuple[str, int]]:
        out = []
        for v in sorted(os.listdir(self.path)):
            d = osp.join(self.path, v)
            if osp.isdir(d):
                out.extend((v, int(n[:-3])) for n in os.listdir(d) if n.endswith('.h5'))
        return sorted(out)

    def has(self, video_id: str, timestamp: int) -> bool:
        return self._file(video_id, timestamp) is not None

    def read(self, video_id: str, timestamp: int) -> Dict[str, np.ndarray]:
        p = self._file(video_id, timestamp)
        if p is None:
            raise FeatureFileError(
                f'{osp.join(self.path, video_id, f"{int(timestamp):04d}.h5")}: '
                f'actor feature file not found')
        try:
            with _h5py().File(p, 'r') as f:
                feats = _read(p, f, '/', 'features')
                boxes = _read(p, f, '/', 'boxes').astype(np.float32)
                labels = _read(p, f, '/', 'labels').astype(np.float32)
        except OSError as e:
            raise FeatureFileError(f'{p}: cannot open as HDF5 ({e})') from None
        feats = _pool_feature(p, '/', feats)
        scores = np.ones(len(feats), np.float32)
        validate_entities(p, '/', feats, boxes, scores, self.feat_dim, self.check_finite)
        if labels.shape != (len(feats), 81):
            raise FeatureFileError(f'{p}: /labels: expected ({len(feats)}, 81), got {labels.shape}')
        return dict(feats=feats, boxes=boxes, scores=scores, gt_labels=labels)


class StageObjectReader:
    """Objects of the authors' release: one HDF5 with ``<video_id>_<ts>_{features,boxes,cls_prob}``.

    ``<ts>`` is the timestamp without leading zeros (as the official loader builds it).
    ``labels`` is the arg-max of ``cls_prob`` and ``scores`` its value.
    """

    def __init__(self, path: str, feat_dim: Optional[int] = 2048, check_finite: bool = True):
        self.path = path
        self._h5 = _LazyH5(path)
        self._h5.file  # fail early on a missing / unreadable file
        self.feat_dim = feat_dim
        self.check_finite = check_finite

    @staticmethod
    def prefix(video_id: str, timestamp: int) -> str:
        return f'{video_id}_{int(timestamp)}'

    def keys(self) -> List[Tuple[str, int]]:
        out = []
        for k in self._h5.file.keys():
            if k.endswith('_features'):
                v, t = k[:-len('_features')].rsplit('_', 1)
                out.append((v, int(t)))
        return sorted(out)

    def has(self, video_id: str, timestamp: int) -> bool:
        return self.prefix(video_id, timestamp) + '_features' in self._h5.file

    def read(self, video_id: str, timestamp: int) -> Dict[str, np.ndarray]:
        f, pre = self._h5.file, self.prefix(video_id, timestamp)
        for field in ('features', 'boxes'):
            if f'{pre}_{field}' not in f:
                raise FeatureFileError(f'{self.path}: missing key {pre}_{field}')
        feats = _pool_feature(self.path, pre + '_features', np.asarray(f[pre + '_features'][()]))
        boxes = np.asarray(f[pre + '_boxes'][()], dtype=np.float32)
        out = dict(feats=feats, boxes=boxes)
        if pre + '_cls_prob' in f:
            prob = np.asarray(f[pre + '_cls_prob'][()], dtype=np.float32).reshape(len(feats), -1)
            out['labels'] = prob.argmax(1).astype(np.int64) if prob.size else \
                np.zeros(0, np.int64)
            out['scores'] = prob.max(1) if prob.size else np.zeros(len(feats), np.float32)
        else:
            out['scores'] = np.ones(len(feats), np.float32)
        validate_entities(self.path, pre, out['feats'], out['boxes'], out['scores'],
                          self.feat_dim, self.check_finite)
        return out


class StageSlowFastReader:
    """Actors of the authors' SlowFast release: one HDF5 per split, groups ``<clip>_<timestamp>``.

    Args:
        path: the split's ``.h5``.
        video_list: video ids in clip-number order (clip i is ``video_list[i]``).
        feat_dim: expected feature size (2304 for SlowFast-NL).

    ``labels`` (N, 80) are returned as ``gt_labels`` (N, 81) with an all-zero background column.
    """

    def __init__(self, path: str, video_list: Sequence[str], feat_dim: Optional[int] = 2304,
                 check_finite: bool = True):
        self.path = path
        self._h5 = _LazyH5(path)
        self._h5.file
        self.video_list = list(video_list)
        self.clip_of = {v: i for i, v in enumerate(self.video_list)}
        self.feat_dim = feat_dim
        self.check_finite = check_finite

    def _key(self, video_id: str, timestamp: int) -> str:
        if video_id not in self.clip_of:
            raise FeatureFileError(f'{self.path}: video {video_id!r} is not in the video list '
                                   f'({len(self.video_list)} videos) that numbers the clips')
        return f'{self.clip_of[video_id]}_{int(timestamp)}'

    def keys(self) -> List[Tuple[str, int]]:
        out = []
        for k in self._h5.file.keys():
            c, t = k.split('_')
            if int(c) >= len(self.video_list):
                raise FeatureFileError(f'{self.path}: key {k}: clip number {c} beyond the '
                                       f'{len(self.video_list)} videos of the video list')
            out.append((self.video_list[int(c)], int(t)))
        return sorted(out)

    def has(self, video_id: str, timestamp: int) -> bool:
        return video_id in self.clip_of and self._key(video_id, timestamp) in self._h5.file

    def read(self, video_id: str, timestamp: int) -> Dict[str, np.ndarray]:
        key = self._key(video_id, timestamp)
        f = self._h5.file
        if key not in f:
            raise FeatureFileError(f'{self.path}: no entry {key} ({video_id},{timestamp})')
        g = f[key]
        feats = _pool_feature(self.path, key + '/features', _read(self.path, g, key, 'features'))
        boxes = _read(self.path, g, key, 'boxes').astype(np.float32)
        labels = _read(self.path, g, key, 'labels').astype(np.float32)
        scores = np.ones(len(feats), np.float32)
        validate_entities(self.path, key, feats, boxes, scores, self.feat_dim, self.check_finite)
        if labels.shape != (len(feats), 80):
            raise FeatureFileError(
                f'{self.path}: {key}/labels: expected ({len(feats)}, 80), got {labels.shape}')
        gt = np.concatenate([np.zeros((len(feats), 1), np.float32), labels], axis=1)
        return dict(feats=feats, boxes=boxes, scores=scores, gt_labels=gt)


def check_same_boxes(path_a: str, path_b: str, key: str, entry_a: Dict[str, np.ndarray],
                     entry_b: Dict[str, np.ndarray], box_atol: float = 1e-3) -> None:
    """Check that two entries of one keyframe hold the same boxes and feature size.

    Args:
        entry_a, entry_b: reader outputs with ``feats`` (N, D) and ``boxes`` (N, 4).
        box_atol: largest allowed difference of a box coordinate (normalised units).
    Raises:
        FeatureFileError naming both files and the key when N, D or a box differ.
    """
    fa, fb = entry_a['feats'], entry_b['feats']
    where = f'{path_a} and {path_b}: keyframe {key}'
    if len(fa) != len(fb):
        raise FeatureFileError(f'{where}: {len(fa)} vs {len(fb)} boxes (averaged feature sets '
                               f'must hold the same boxes)')
    if fa.shape[1:] != fb.shape[1:]:
        raise FeatureFileError(f'{where}: feature size {fa.shape[1]} vs {fb.shape[1]}')
    diff = np.abs(entry_a['boxes'].astype(np.float64) - entry_b['boxes'].astype(np.float64))
    if diff.size and diff.max() > box_atol:
        row = int(np.argmax(diff.max(axis=1)))
        raise FeatureFileError(
            f'{where}: box {row} differs by {diff.max():.4g} > box_atol={box_atol} '
            f'({entry_a["boxes"][row].tolist()} vs {entry_b["boxes"][row].tolist()})')


def average_features(feats: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of M feature sets of the same boxes (thesis Sec. 3.3.1, Table 3.3: the SlowFast-NL
    8x8 and 16x8 features "are averaged before being forwarded through STAGE").

    Args:
        feats: M arrays (N, D).
    Returns:
        (N, D) float32, sum / M (accumulated in float64).
    """
    return (np.sum([np.asarray(f, np.float64) for f in feats], axis=0) /
            len(feats)).astype(np.float32)


class MeanFeatureReader:
    """Average of several actor feature sets of the same boxes, keyframe by keyframe.

    Table 3.3 (Sec. 3.3.1): the SlowFast-NL 8x8 and 16x8 features "are averaged before being
    forwarded through STAGE". Every reader must hold the same keyframes with the same boxes (same
    count and order, coordinates within ``box_atol``) and feature size; ``read`` returns the
    first reader's entry (boxes, scores, labels as stored there) with ``feats`` (N, D) the mean
    of the readers' features.

    Args:
        readers: readers of the same entity kind (any of this module's formats, mixed allowed).
        box_atol: tolerance on box coordinates (normalised).

    A keyframe present in some files only, a different box count, box or feature size raises
    ``FeatureFileError`` naming the files and the keyframe.
    """

    def __init__(self, readers: Sequence, box_atol: float = 1e-3):
        if len(readers) < 2:
            raise ValueError(f'MeanFeatureReader needs at least 2 readers, got {len(readers)}')
        self.readers = list(readers)
        self.paths = [r.path for r in self.readers]
        self.path = ' + '.join(self.paths)
        self.box_atol = float(box_atol)
        dims = {r.path: r.feat_dim for r in self.readers if getattr(r, 'feat_dim', None)}
        if len(set(dims.values())) > 1:
            raise FeatureFileError('feature sets to average have different feature sizes: ' +
                                   ', '.join(f'{p}: {d}' for p, d in dims.items()))
        self.feat_dim = next(iter(dims.values()), None)
        # boxes (and their ground-truth marks) are those of the first file
        self.marks_gt = getattr(self.readers[0], 'marks_gt', False)
        self.version = getattr(self.readers[0], 'version', None)

    def keys(self) -> List[Tuple[str, int]]:
        return self.readers[0].keys()

    def has(self, video_id: str, timestamp: int) -> bool:
        """True when every file has the keyframe, False when none has; raises otherwise."""
        have = [r.has(video_id, timestamp) for r in self.readers]
        if any(have) and not all(have):
            yes = [p for p, h in zip(self.paths, have) if h]
            no = [p for p, h in zip(self.paths, have) if not h]
            raise FeatureFileError(
                f'{" and ".join(self.paths)}: keyframe {video_id},{int(timestamp):04d} is in '
                f'{", ".join(yes)} but not in {", ".join(no)} (averaged feature sets must hold '
                f'the same keyframes)')
        return all(have)

    def read(self, video_id: str, timestamp: int) -> Dict[str, np.ndarray]:
        key = f'{video_id},{int(timestamp):04d}'
        first = self.readers[0].read(video_id, timestamp)
        feats = [first['feats']]
        for r in self.readers[1:]:
            entry = r.read(video_id, timestamp)
            check_same_boxes(self.paths[0], r.path, key, first, entry, self.box_atol)
            feats.append(entry['feats'])
        out = dict(first)
        out['feats'] = average_features(feats)
        return out


def export_boxes_as_proposals(reader, out_path: str) -> int:
    """Write every keyframe's boxes of ``reader`` as an mmaction2-style proposal pkl.

    ``{"video_id,timestamp": (N, 5) float32}`` (normalised boxes + score), in the reader's box
    order (``tools/data/ava/export_feature_boxes.py`` on the command line):
    ``tools/data/ava/extract_actor_features.py --proposals OUT.pkl`` (no ``--ann-file``)
    then extracts another backbone's features on exactly these boxes, as
    :class:`MeanFeatureReader` needs (e.g. SlowFast-NL 16x8 on the 8x8 release's boxes).
    Written atomically. Returns the number of keyframes.
    """
    import pickle

    from vidplugins.utils.io import atomic_write
    out = {}
    for video_id, ts in reader.keys():
        e = reader.read(video_id, ts)
        out[f'{video_id},{int(ts):04d}'] = np.concatenate(
            [e['boxes'], e['scores'][:, None]], axis=1).astype(np.float32)
    with atomic_write(out_path, 'wb') as f:
        pickle.dump(out, f)
    return len(out)


def merge_feature_files(out_path: str, paths: Sequence[str]) -> int:
    """Merge project-format files of disjoint keyframes (the shards of one extraction).

    Every input must have the same ``format``, ``version``, ``kind``, ``backbone``,
    ``feat_dim`` and ``split`` attributes; a keyframe in two inputs raises
    ``FeatureFileError`` naming both files. Written to a temporary file then moved over
    ``out_path`` (atomic, mode 0644). Returns the number of keyframes.
    """
    h5py = _h5py()
    if not paths:
        raise ValueError('no input file to merge')
    attrs, owner = None, {}
    for p in paths:
        if not osp.isfile(p):
            raise FeatureFileError(f'{p}: feature file not found')
        with h5py.File(p, 'r') as f:
            a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            a = {k: (int(v) if k in ('version', 'feat_dim') else v) for k, v in a.items()}
            if a.get('format') != FORMAT:
                raise FeatureFileError(f'{p}: attribute format={a.get("format")!r}, expected '
                                       f'{FORMAT!r}')
            if attrs is None:
                attrs = a
            elif a != attrs:
                diff = sorted(k for k in set(a) | set(attrs) if a.get(k) != attrs.get(k))
                raise FeatureFileError(f'{p}: attributes {diff} differ from {paths[0]} '
                                       f'({[(k, a.get(k), attrs.get(k)) for k in diff]})')
            for v in f.keys():
                for t in f[v].keys():
                    key = f'{v}/{t}'
                    if key in owner:
                        raise FeatureFileError(f'keyframe {key} is in {owner[key]} and in {p}: '
                                               f'shards must be disjoint')
                    owner[key] = p
    tmp = f'{out_path}.tmp-{os.getpid()}'
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    try:
        with h5py.File(tmp, 'w') as out:
            out.attrs.update(attrs)
            for p in paths:
                with h5py.File(p, 'r') as f:
                    for v in f.keys():
                        g = out.require_group(v)
                        for t in f[v].keys():
                            f.copy(f[v][t], g, name=t)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return len(owner)


def build_reader(feature_format: str, kind: str, path: str, feat_dim: Optional[int] = None,
                 video_list: Optional[Iterable[str]] = None, check_finite: bool = True):
    """Reader for ``feature_format`` in ``FEATURE_FORMATS`` and entity ``kind``.

    The authors' SlowFast release has no objects: its configs read objects from the I3D release's
    object file (``feature_format='stage-i3d'`` for ``kind='objects'``).
    """
    if feature_format not in FEATURE_FORMATS:
        raise ValueError(f'feature_format must be one of {FEATURE_FORMATS}, got {feature_format!r}')
    if feature_format == 'vidplugins':
        return ProjectFeatureReader(path, kind=kind, feat_dim=feat_dim, check_finite=check_finite)
    if kind == 'objects':
        return StageObjectReader(path, feat_dim=feat_dim, check_finite=check_finite)
    if feature_format == 'stage-i3d':
        return StageI3DActorReader(path, feat_dim=feat_dim, check_finite=check_finite)
    if video_list is None:
        raise ValueError("feature_format='stage-slowfast' needs video_list (clip number -> id)")
    return StageSlowFastReader(path, list(video_list), feat_dim=feat_dim,
                               check_finite=check_finite)
