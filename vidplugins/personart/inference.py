"""Batch inference for PersonArt: phi features, predicted items, galleries and queries."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.utils import ProgressBar

from .gallery import FaceGallery
from .model import ART, REAL


def _batches(dataset, batch_size):
    for start in range(0, len(dataset), batch_size):
        yield default_collate([dataset[i] for i in range(start, min(start + batch_size,
                                                                     len(dataset)))])


@torch.no_grad()
def extract_features(embedder, dataset, out_file: str, batch_size: int = 64,
                     progress: bool = True) -> Dict[str, np.ndarray]:
    """phi of every item of an items-mode dataset, written as a ``FaceFeatureSet`` file.

    ``pair`` links each photo to the artistic item of the same ``source`` (the stylised copy).
    """
    feats, ident, dom, src, attrs = [], [], [], [], []
    bar = ProgressBar(len(dataset)) if progress else None
    for batch in _batches(dataset, batch_size):
        x = batch['inputs']['image'].float()
        feats.append(embedder(x).cpu().numpy())
        ds = batch['data_samples']
        ident.append(ds['identity'].numpy())
        dom.append(ds['domain'].numpy())
        src.append(ds['source'].numpy())
        attrs.append(ds['attributes'].numpy())
        if bar:
            for _ in range(len(x)):
                bar.update()
    arrays = dict(features=np.concatenate(feats).astype(np.float32),
                  identity=np.concatenate(ident), domain=np.concatenate(dom),
                  source=np.concatenate(src), attributes=np.concatenate(attrs))
    art_of = {int(s): i for i, (s, d) in enumerate(zip(arrays['source'], arrays['domain']))
              if d == ART}
    arrays['pair'] = np.array([art_of.get(int(s), -1) if d == REAL else -1
                               for s, d in zip(arrays['source'], arrays['domain'])], np.int64)
    tmp = out_file + '.tmp.npz'
    np.savez(tmp, **arrays)
    os.replace(tmp, out_file)
    os.chmod(out_file, 0o644)
    return arrays


@torch.no_grad()
def predict_items(model, dataset, batch_size: int = 64) -> List[dict]:
    """``model.predict`` over an items-mode dataset (eval mode) -> list of per-item dicts."""
    model.eval()
    out = []
    for batch in _batches(dataset, batch_size):
        data = model.data_preprocessor(batch, False)
        out += model.predict(data['inputs'], data['data_samples'])
    return [{k: np.asarray(v) for k, v in item.items()} for item in out]


@torch.no_grad()
def embed_faces(model, crops: Sequence[np.ndarray], domain: int, size: int,
                batch_size: int = 32):
    """Embeddings and attribute probabilities of RGB face crops (any size; resized to ``size``).

    Returns ((N, D) float32, (N, n) float32 or None).
    """
    import cv2
    model.eval()
    embs, probs = [], []
    for start in range(0, len(crops), batch_size):
        chunk = [cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA)
                 for c in crops[start:start + batch_size]]
        x = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).float()
        phi = model.phi(x)
        embs.append(model.embed(phi, domain).numpy())
        a = model.attributes(phi, domain)
        if a is not None:
            probs.append(a.softmax(-1)[..., 1].numpy())
    return (np.concatenate(embs).astype(np.float32),
            np.concatenate(probs).astype(np.float32) if probs else None)


def build_gallery_from_images(model, paths: Sequence[str], detector, size: int,
                              min_size: int = 100, enlarge: float = 0.4,
                              progress: bool = True, work_dir: Optional[str] = None):
    """Detect every face in the painting files, embed them with f_a and index them.

    Returns (FaceGallery, report dict with counts of files, faces, skipped files and faces too
    small). Unreadable files are skipped and counted.
    """
    from .datasets import load_rgb
    from .faces import detect_faces
    crops, meta = [], []
    report = dict(files=len(paths), faces=0, unreadable=[], no_face=[], too_small=0)
    bar = ProgressBar(len(paths)) if progress and paths else None
    for path in paths:
        try:
            rgb = load_rgb(path)
        except ValueError:
            report['unreadable'].append(path)
            if bar:
                bar.update()
            continue
        faces, small = detect_faces(rgb, detector, min_size, enlarge)
        report['too_small'] += small
        if not faces:
            report['no_face'].append(path)
        for j, f in enumerate(faces):
            crops.append(f['crop'])
            meta.append(dict(path=osp.abspath(path), box=f['box'], face=j, score=f['score']))
        if bar:
            bar.update()
    report['faces'] = len(crops)
    if not crops:
        raise ValueError(f'no face of at least {min_size} px found in {len(paths)} gallery files')
    emb, prob = embed_faces(model, crops, ART, size)
    gallery = FaceGallery(emb, None if prob is None else prob > 0.5, meta, work_dir=work_dir)
    return gallery, report
