"""PersonArt datasets in the real on-disk formats (thesis App. A.2.2).

* CelebA: ``list_attr_celeba.txt`` (count, 40 names, ``file +-1 ...``), ``identity_CelebA.txt``
  (``file id``), ``list_bbox_celeba.txt`` / ``list_landmarks[_align]_celeba.txt`` (count, header,
  rows), ``list_eval_partition.txt`` (``file 0|1|2``), images in ``img_align_celeba/``; the
  style-transferred copy (``tools/personart/stylize.py``) under ``style_dir`` with the same names.
* WikiArt Faces / DeviantArt Faces / WebCaricature / IIIT-D Sketch: folders of identities,
  ``<root>/<real_dir>/<identity>/*.jpg`` and ``<root>/<art_dir>/<identity>/*.jpg``, or one folder
  per identity with the domain in the file-name prefix (WebCaricature: ``P*`` photos, ``C*``
  caricatures: ``prefix_domains=dict(P='real', C='art')``). WikiArt Faces (unpaired) is an
  ``art_dir`` alone.
* Precomputed phi features: ``.npz`` with ``features (N, D_phi)``, ``identity``, ``domain``,
  ``source`` and optionally ``attributes (N, n)`` and ``pair`` (index of the other-domain copy).

Items: ``{'inputs': {'real', 'art'} | {'image'}, 'data_samples': {identity, attributes, domain,
source, index}}``, collated with ``default_collate``.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.registry import DATASETS
from torch.utils.data import Dataset

from .gallery import CELEBA_ATTRIBUTES

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
DOMAINS = {'real': 0, 'art': 1}


def _lines(path: str) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with open(path) as f:
        return [ln.rstrip('\n') for ln in f if ln.strip()]


def read_celeba_attributes(path: str) -> Tuple[List[str], Dict[str, np.ndarray]]:
    """``list_attr_celeba.txt`` -> (40 names, {file: (40,) int8 in {0, 1}})."""
    lines = _lines(path)
    try:
        count = int(lines[0].split()[0])
    except (IndexError, ValueError):
        raise ValueError(f'{path}: line 1 must be the image count, got {lines[:1]}') from None
    names = lines[1].split()
    out = {}
    for no, ln in enumerate(lines[2:], start=3):
        parts = ln.split()
        if len(parts) != len(names) + 1:
            raise ValueError(f'{path}:{no}: expected a file name and {len(names)} values, got '
                             f'{len(parts)} fields')
        vals = np.array([int(v) for v in parts[1:]])
        if not np.isin(vals, (-1, 1)).all():
            raise ValueError(f'{path}:{no}: attribute values must be -1 or 1')
        out[parts[0]] = (vals > 0).astype(np.int8)
    if len(out) != count:
        raise ValueError(f'{path}: header says {count} images, found {len(out)}')
    return names, out


def read_celeba_table(path: str, columns: int, header: bool = True) -> Dict[str, np.ndarray]:
    """Bbox / landmark files (count, header, ``file v1 .. vK``) or, with ``header=False``, the
    identity / partition files (``file v``) -> {file: (K,) int64}."""
    lines = _lines(path)
    start = 2 if header else 0
    if header:
        try:
            count = int(lines[0].split()[0])
        except (IndexError, ValueError):
            raise ValueError(f'{path}: line 1 must be the image count') from None
    out = {}
    for no, ln in enumerate(lines[start:], start=start + 1):
        parts = ln.split()
        if len(parts) != columns + 1:
            raise ValueError(f'{path}:{no}: expected a file name and {columns} numbers, got '
                             f'{len(parts) - 1}')
        try:
            out[parts[0]] = np.array([int(v) for v in parts[1:]], dtype=np.int64)
        except ValueError:
            raise ValueError(f'{path}:{no}: non-integer value in {parts[1:]}') from None
    if header and len(out) != count:
        raise ValueError(f'{path}: header says {count} images, found {len(out)}')
    return out


def load_rgb(path: str, size: Optional[int] = None) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, optionally resized to size x size."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cannot read image {path} (missing or not an image)')
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if size:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


class _Items(Dataset):
    """Shared item building: records with real / art paths, identity, attributes, source."""

    num_attributes = 40

    def __init__(self, img_size: Optional[int], pairs: bool):
        self.img_size, self.pairs = img_size, pairs
        self.records: List[dict] = []   # items mode: path, domain, identity, attributes, source
        self.pair_records: List[tuple] = []  # pairs mode: (real path, art path, identity, attrs)

    def __len__(self):
        return len(self.pair_records) if self.pairs else len(self.records)

    def _attrs(self, a):
        if a is None:
            a = -np.ones(self.num_attributes)
        return torch.as_tensor(a, dtype=torch.long)

    def __getitem__(self, idx):
        if self.pairs:
            real, art, ident, attrs = self.pair_records[idx]
            return dict(inputs=dict(real=to_tensor(load_rgb(real, self.img_size)),
                                    art=to_tensor(load_rgb(art, self.img_size))),
                        data_samples=dict(identity=ident, attributes=self._attrs(attrs)))
        r = self.records[idx]
        return dict(inputs=dict(image=to_tensor(load_rgb(r['path'], self.img_size))),
                    data_samples=dict(identity=r['identity'], domain=r['domain'],
                                      source=r['source'], index=idx,
                                      attributes=self._attrs(r['attributes'])))


@DATASETS.register_module()
class CelebAFaces(_Items):
    """CelebA with its style-transferred copy.

    Args:
        data_root: folder with the annotation files and ``img_dir``.
        style_dir: folder of the style-transferred images (same names); relative to data_root.
        split: 'train' | 'val' | 'test' (``list_eval_partition.txt``) or None for all.
        pairs: training pairs (real, art) instead of single items (real queries + art gallery).
        max_items: keep the first images only (smoke runs).
    """

    def __init__(self, data_root: str, style_dir: str = 'img_style_celeba',
                 img_dir: str = 'img_align_celeba', split: Optional[str] = 'train',
                 pairs: bool = True, img_size: Optional[int] = 224,
                 attr_file: str = 'list_attr_celeba.txt',
                 identity_file: str = 'identity_CelebA.txt',
                 partition_file: str = 'list_eval_partition.txt',
                 max_items: Optional[int] = None):
        super().__init__(img_size, pairs)
        self.attribute_names, attrs = read_celeba_attributes(osp.join(data_root, attr_file))
        ids = read_celeba_table(osp.join(data_root, identity_file), 1, header=False)
        files = sorted(attrs)
        if split is not None:
            part = read_celeba_table(osp.join(data_root, partition_file), 1, header=False)
            code = {'train': 0, 'val': 1, 'test': 2}[split]
            files = [f for f in files if f in part and part[f][0] == code]
        if max_items:
            files = files[:max_items]
        self.skipped = 0
        real_dir, art_dir = osp.join(data_root, img_dir), osp.join(data_root, style_dir)
        for src, f in enumerate(files):
            if f not in ids:
                raise KeyError(f'{osp.join(data_root, identity_file)}: no identity for {f}')
            real, art = osp.join(real_dir, f), osp.join(art_dir, f)
            if not osp.isfile(art):  # not (yet) style-transferred: counted, reported by tools
                self.skipped += 1
                continue
            ident = int(ids[f][0])
            if pairs:
                self.pair_records.append((real, art, ident, attrs[f]))
            else:
                for path, dom in ((real, 0), (art, 1)):
                    self.records.append(dict(path=path, domain=dom, identity=ident,
                                             attributes=attrs[f], source=src))


def scan_identity_folders(root: str) -> List[Tuple[str, str]]:
    """``root/<identity>/<image>`` -> sorted [(identity, path)]."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'identity folder not found: {root}')
    out = []
    for ident in sorted(os.listdir(root)):
        d = osp.join(root, ident)
        if osp.isdir(d):
            for f in sorted(os.listdir(d)):
                if f.lower().endswith(IMG_EXTS):
                    out.append((ident, osp.join(d, f)))
    return out


@DATASETS.register_module()
class IdentityFolderFaces(_Items):
    """Folders of identities: WikiArt Faces, DeviantArt Faces, WebCaricature, IIIT-D Sketch.

    Args:
        data_root: dataset folder.
        real_dir / art_dir: sub-folders of identity folders per domain (either may be None).
        prefix_domains: one folder per identity under ``data_root``, domain by file-name prefix,
            e.g. ``dict(P='real', C='art')`` (WebCaricature); overrides real_dir / art_dir.
        pairs: training pairs (each art image with a real image of its identity, in turn).
    """

    def __init__(self, data_root: str, real_dir: Optional[str] = 'real',
                 art_dir: Optional[str] = 'art', prefix_domains: Optional[dict] = None,
                 pairs: bool = False, img_size: Optional[int] = 224):
        super().__init__(img_size, pairs)
        entries = []  # (identity name, path, domain)
        if prefix_domains:
            for ident, path in scan_identity_folders(data_root):
                base = osp.basename(path)
                for prefix, dom in prefix_domains.items():
                    if base.startswith(prefix):
                        entries.append((ident, path, DOMAINS[dom]))
                        break
        else:
            for sub, dom in ((real_dir, 0), (art_dir, 1)):
                if sub is not None:
                    entries += [(i, p, dom) for i, p in
                                scan_identity_folders(osp.join(data_root, sub))]
        if not entries:
            raise ValueError(f'{data_root}: no images found in identity folders')
        names = sorted({e[0] for e in entries})
        self.identity_names = names
        index = {n: i for i, n in enumerate(names)}
        for src, (ident, path, dom) in enumerate(entries):
            self.records.append(dict(path=path, domain=dom, identity=index[ident],
                                     attributes=None, source=src))
        if pairs:
            reals: Dict[int, List[str]] = {}
            for r in self.records:
                if r['domain'] == 0:
                    reals.setdefault(r['identity'], []).append(r['path'])
            turn: Dict[int, int] = {}
            for r in self.records:
                if r['domain'] == 1 and r['identity'] in reals:
                    k = turn.get(r['identity'], 0)
                    cands = reals[r['identity']]
                    self.pair_records.append((cands[k % len(cands)], r['path'], r['identity'],
                                              None))
                    turn[r['identity']] = k + 1


@DATASETS.register_module()
class FaceFeatureSet(Dataset):
    """Precomputed phi features (``tools/personart/extract_features.py`` or the demo).

    Args:
        ann_file: ``.npz`` with ``features``, ``identity``, ``domain``, ``source`` and optionally
            ``attributes`` and ``pair``.
        pairs: training pairs (real item i with art item ``pair[i]``).
    """

    def __init__(self, ann_file: str, pairs: bool = False):
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'feature file not found: {ann_file}')
        with np.load(ann_file, allow_pickle=False) as z:
            for key in ('features', 'identity', 'domain'):
                if key not in z:
                    raise KeyError(f'{ann_file}: missing array {key!r}')
            self.features = torch.from_numpy(z['features'].astype(np.float32))
            self.identity = torch.from_numpy(z['identity'].astype(np.int64))
            self.domain = torch.from_numpy(z['domain'].astype(np.int64))
            n = len(self.features)
            self.source = torch.from_numpy(z['source'].astype(np.int64)) if 'source' in z \
                else torch.arange(n)
            self.attributes = torch.from_numpy(z['attributes'].astype(np.int64)) \
                if 'attributes' in z else -torch.ones(n, 40, dtype=torch.long)
            pair = z['pair'].astype(np.int64) if 'pair' in z else None
        self.pairs = pairs
        if pairs:
            if pair is None:
                raise KeyError(f'{ann_file}: pairs=True needs a "pair" array')
            self.pair_index = [(i, int(pair[i])) for i in range(n)
                               if self.domain[i] == 0 and pair[i] >= 0]

    def __len__(self):
        return len(self.pair_index) if self.pairs else len(self.features)

    def __getitem__(self, idx):
        if self.pairs:
            r, a = self.pair_index[idx]
            return dict(inputs=dict(real=self.features[r], art=self.features[a]),
                        data_samples=dict(identity=self.identity[r],
                                          attributes=self.attributes[r]))
        return dict(inputs=dict(image=self.features[idx]),
                    data_samples=dict(identity=self.identity[idx], domain=self.domain[idx],
                                      source=self.source[idx], index=idx,
                                      attributes=self.attributes[idx]))


__all__ = ['CelebAFaces', 'IdentityFolderFaces', 'FaceFeatureSet', 'read_celeba_attributes',
           'read_celeba_table', 'scan_identity_folders', 'load_rgb', 'CELEBA_ATTRIBUTES']
