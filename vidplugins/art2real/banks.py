"""Per-class, per-scale memory banks of real patches (thesis App. A.1, "Patch memory banks").

``build_banks`` segments every photo, cuts its patches at each scale and appends each patch to the
bank of every class covering >= ``threshold`` (20 %) of its pixels; class 0 is the background bank.
A bank is stored as the Art2Real authors store it: raw float32 rows (``<scale>/class<c>.bin``)
and the per-class mean (``class<c>_mean.npy``), plus one faiss index per class and scale
(``class<c>.index``, see :mod:`vidplugins.utils.knn`). ``meta.json`` describes the folder.

Resumable: rows are appended photo by photo and a checkpoint (``progress.json``: photos done, the
byte length of every row file, running sums for the means) is replaced atomically every few
photos; after a kill the row files are cut back to the checkpoint and the build continues from
the next photo, and indexes already written are not rebuilt. RAM holds one photo's patches
and, while indexing, the index's codes plus one chunk of rows.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import time

import numpy as np
import torch

from ..utils.io import dump_json_atomic
from ..utils.knn import RawRows, build_cosine_index, load_cosine_index
from .patches import Scale, class_coverage, extract_patches, image_to_tensor, parse_scales
from .segmenters import IGNORE, IMAGE_EXTENSIONS, LabelMapSegmenter, build_segmenter, read_rgb

__all__ = ['build_banks', 'PatchBanks', 'list_images', 'patch_rows']

BANK_FORMAT = 1


def list_images(root: str, exclude_suffix: str | None = None) -> list:
    """Image files under ``root`` (recursive, sorted), without hidden files and label maps."""
    if osp.isfile(root):
        return [root]
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root}: no such file or folder')
    out = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for f in sorted(files):
            if f.startswith('.') or not f.lower().endswith(IMAGE_EXTENSIONS):
                continue
            if exclude_suffix and f.endswith(exclude_suffix):
                continue
            out.append(osp.join(dirpath, f))
    return out


def patch_rows(rgb: np.ndarray, labels: np.ndarray, scale: Scale, threshold: float) -> dict:
    """``{class: float32 rows (n, 3 s s)}`` of one image at one scale.

    A patch enters class c's bank when >= ``threshold`` of its pixels are c (background is class 0;
    pixels labelled 255 belong to no bank).
    """
    img = image_to_tensor(rgb)[None]
    lab = torch.from_numpy(labels.astype(np.int64))[None]
    classes = [int(c) for c in np.unique(labels) if c != IGNORE]
    if not classes:
        return {}
    rows = extract_patches(img, scale)[0].numpy()                  # (L, D)
    cov = class_coverage(lab, scale, classes)[0].numpy()            # (C, L)
    out = {}
    for c, frac in zip(classes, cov):
        keep = frac >= threshold - 1e-9
        if keep.any():
            out[c] = np.ascontiguousarray(rows[keep], dtype='<f4')
    return out


def _chmod(path):
    os.chmod(path, 0o644)


def _write_index(index, path):
    import faiss
    tmp = path + '.tmp'
    faiss.write_index(index, tmp)
    _chmod(tmp)
    os.replace(tmp, path)


#: Compressed index of large banks (see ``build_banks``).
BANK_INDEX = 'PCAR{pca},IVF{nlist},SQ8'
#: Ranges of its 8-bit codes: the [q, 1 - q] quantiles of the training residuals, not min / max
#: (real patches, 200k bank, 256 candidates re-ranked: recall@1 0.87 -> 0.96).
BANK_SQ_QUANTILE = 1e-3


def build_banks(photos, out_dir: str, *, scales='4:4,8:5,16:6', segmenter=None,
                threshold: float = 0.2, k: int = 5, checkpoint_every: int = 16,
                exact_max_bytes: int = 256 << 20, index_factory: str | None = BANK_INDEX,
                strict: bool = False, exclude_suffix: str | None = None, logger=print,
                progress: bool = True) -> dict:
    """Build (or resume building) the banks of ``photos`` (a folder, a file or a list) in ``out_dir``.

    Args:
        segmenter: a segmenter config dict (see :func:`build_segmenter`) or a callable
            ``(rgb, path) -> labels``; default label-map PNGs beside the photos.
        threshold: minimum fraction of a patch's pixels of a class (thesis: 20 %).
        k: neighbours the loss will ask for; banks with fewer rows are reported.
        index_factory: faiss factory of banks larger than ``exact_max_bytes`` (placeholders
            ``{nlist}``, ``{pca}``; see ``vidplugins.utils.knn.build_cosine_index``); default
            PCA-R to 128 dims, IVF, 8-bit scalar codes (136 bytes a patch with its id; a scalar
            quantiser's ranges from ``BANK_SQ_QUANTILE`` quantiles), the setting measured by
            ``benchmarks/bench_art2real.py``.
        strict: raise on the first unreadable / too small photo instead of counting a skip.
        exclude_suffix: file names ending so are not photos (default: the label-map suffix of
            a ``labelmap`` segmenter without ``label_dir``).

    Returns:
        the ``meta.json`` dict (``banks``, ``skipped``, ``images``).
    """
    scales = parse_scales(scales)
    seg = build_segmenter(segmenter or dict(type='labelmap'))
    if isinstance(photos, (list, tuple)):
        images = list(photos)
    else:
        excl = exclude_suffix
        if excl is None and isinstance(seg, LabelMapSegmenter) and seg.label_dir is None:
            excl = seg.suffix
        images = list_images(photos, excl)
    if not images:
        raise ValueError(f'{photos}: no images found')
    os.makedirs(out_dir, exist_ok=True)
    settings = dict(scales=[[s.size, s.stride] for s in scales], threshold=threshold,
                    images=[osp.basename(p) for p in images], format=BANK_FORMAT)
    prog_path = osp.join(out_dir, 'progress.json')
    state = dict(settings=settings, next=0, lengths={}, sums={}, skipped=[], indexed={})
    if osp.exists(prog_path):
        with open(prog_path) as f:
            old = json.load(f)
        if old['settings'] != settings:
            raise ValueError(f'{prog_path}: this folder holds banks built with other settings or '
                             'photos; use a new output folder')
        state = old
        logger(f'resuming: {state["next"]}/{len(images)} photos done, '
               f'{len(state["indexed"])} indexes written')
    # Cut every row file back to the checkpoint (a kill may have left rows after it).
    # A row file created after the checkpoint is cut to 0 bytes.
    for s in scales:
        folder = osp.join(out_dir, s.name)
        for f in (sorted(os.listdir(folder)) if osp.isdir(folder) else []):
            rel = osp.join(s.name, f)
            length = state['lengths'].get(rel, 0)
            if f.endswith('.bin') and osp.getsize(osp.join(out_dir, rel)) != length:
                with open(osp.join(out_dir, rel), 'r+b') as fh:
                    fh.truncate(length)
    largest = max(s.size for s in scales)

    def checkpoint():
        dump_json_atomic(state, prog_path)
        _chmod(prog_path)

    bar = None
    if progress and state['next'] < len(images):
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(images) - state['next'])
    for i in range(state['next'], len(images)):
        path = images[i]
        try:
            rgb = read_rgb(path)
            if min(rgb.shape[:2]) < largest:
                raise ValueError(f'{path}: image is {rgb.shape[1]}x{rgb.shape[0]}, smaller than '
                                 f'the largest patch ({largest}x{largest})')
            labels = np.asarray(seg(rgb, path))
            if labels.shape != rgb.shape[:2]:
                raise ValueError(f'{path}: segmenter returned labels of shape {labels.shape}, '
                                 f'the image is {rgb.shape[:2]}')
        except (ValueError, FileNotFoundError) as e:
            if strict:
                raise
            state['skipped'].append(dict(file=path, reason=str(e)))
            logger(f'skipped {path}: {e}')
        else:
            for s in scales:
                for c, rows in patch_rows(rgb, labels, s, threshold).items():
                    rel = osp.join(s.name, f'class{c}.bin')
                    fpath = osp.join(out_dir, rel)
                    os.makedirs(osp.dirname(fpath), exist_ok=True)
                    with open(fpath, 'ab') as f:
                        f.write(rows.tobytes())
                    _chmod(fpath)
                    sums = state['sums'].get(rel)
                    add = rows.astype(np.float64).sum(0)
                    state['sums'][rel] = (add if sums is None else np.asarray(sums) + add).tolist()
                    state['lengths'][rel] = osp.getsize(fpath)
        state['next'] = i + 1
        if bar is not None:
            bar.update()
        if (i + 1) % checkpoint_every == 0 or i + 1 == len(images):
            checkpoint()
    if bar is not None:
        print()
    checkpoint()

    # One index (and mean) per class and scale.
    banks = {}
    for s in scales:
        d = s.dim()
        for rel in sorted(r for r in state['lengths'] if r.startswith(s.name + os.sep)):
            c = int(osp.basename(rel)[len('class'):-len('.bin')])
            n = state['lengths'][rel] // (4 * d)
            mean_rel = rel[:-4] + '_mean.npy'
            index_rel = rel[:-4] + '.index'
            if rel not in state['indexed']:
                t0 = time.time()
                mean = (np.asarray(state['sums'][rel]) / max(n, 1)).astype(np.float32)
                mpath = osp.join(out_dir, mean_rel)
                np.save(mpath + '.tmp.npy', mean)
                _chmod(mpath + '.tmp.npy')
                os.replace(mpath + '.tmp.npy', mpath)
                rows = RawRows(osp.join(out_dir, rel), d, cache_bytes=0)
                # A factory forces a compressed index: only for banks above exact_max_bytes.
                big = n * d * 4 > exact_max_bytes
                sq = big and index_factory.rsplit(',', 1)[-1].startswith('SQ')
                built = build_cosine_index(rows, mean, exact_max_bytes=exact_max_bytes,
                                           factory=index_factory if big else None,
                                           sq_quantile=BANK_SQ_QUANTILE if sq else None)
                _write_index(built.index, osp.join(out_dir, index_rel))
                state['indexed'][rel] = dict(exact=bool(built.exact),
                                             seconds=round(time.time() - t0, 2))
                checkpoint()
                logger(f'indexed {rel}: {n} patches '
                       f'({"exact" if built.exact else "compressed + re-rank"})')
            banks.setdefault(s.name, {})[str(c)] = dict(
                rows=int(n), bin=rel, mean=mean_rel, index=index_rel,
                exact=state['indexed'][rel]['exact'])
            if n < k:
                logger(f'warning: bank {rel} has {n} patches, fewer than k={k}: its rows of the '
                       'affinity matrix use all of them')
    meta = dict(format=BANK_FORMAT, scales=settings['scales'], threshold=threshold,
                channels=3, value_range=[-1, 1], layout='float32 rows, (C, size, size) flattened',
                banks=banks, images=len(images), skipped=state['skipped'],
                small_banks=[f'{sn}/class{c}' for sn, b in banks.items() for c, v in b.items()
                             if v['rows'] < k])
    dump_json_atomic(meta, osp.join(out_dir, 'meta.json'), indent=1)
    _chmod(osp.join(out_dir, 'meta.json'))
    logger(f'banks: {sum(len(b) for b in banks.values())} (class, scale) banks from '
           f'{len(images) - len(state["skipped"])} photos; skipped {len(state["skipped"])}')
    return meta


class PatchBanks:
    """Read side of a bank folder: ``banks.get(scale, c)`` -> :class:`CosineIndex` (lazy)."""

    def __init__(self, root: str, nprobe: int = 32, candidates: int = 64,
                 cache_bytes: int = 64 << 20):
        meta_path = osp.join(root, 'meta.json')
        if not osp.exists(meta_path):
            raise FileNotFoundError(f'{meta_path}: not a bank folder (build it with '
                                    'tools/art2real/build_banks.py)')
        with open(meta_path) as f:
            self.meta = json.load(f)
        self.root, self.nprobe, self.candidates = root, nprobe, candidates
        self.cache_bytes = cache_bytes
        self.scales = parse_scales(self.meta['scales'])
        self._loaded = {}

    def classes(self, scale: Scale) -> list:
        return sorted(int(c) for c in self.meta['banks'].get(scale.name, {}))

    def has(self, scale: Scale, c: int) -> bool:
        return str(int(c)) in self.meta['banks'].get(scale.name, {})

    def get(self, scale: Scale, c: int):
        key = (scale.name, int(c))
        if key not in self._loaded:
            info = self.meta['banks'][scale.name][str(int(c))]
            rows = RawRows(osp.join(self.root, info['bin']), scale.dim(), self.cache_bytes)
            mean = np.load(osp.join(self.root, info['mean']))
            self._loaded[key] = load_cosine_index(osp.join(self.root, info['index']), rows, mean,
                                                  nprobe=self.nprobe, candidates=self.candidates)
        return self._loaded[key]
