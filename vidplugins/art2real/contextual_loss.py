"""Multi-scale contextual loss against patch memory banks (thesis App. A.1, Eq. A.1-A.6).

Per scale s and class c present in the painting's mask: the generated patches ``K^c`` (patches of
G(x) with >= ``assign_threshold`` of their pixels in class c; a patch may count for several
classes) are compared with bank ``B^c``; both are centred on the bank mean. The k nearest bank
patches of every generated patch come from the bank's faiss index, and their distances are then
recomputed exactly in torch from the stored rows, so the gradient w.r.t. G(x) is exact for the
neighbours used. Two neighbour sets (``neighbour_set``):

* ``'knn'``: row i of the affinity matrix holds only patch i's own k neighbours;
* ``'union'``: every row holds the union of all rows' neighbours (the authors' code).

With k >= |B^c| both are the dense Eq. A.1-A.4 over the whole bank.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .banks import PatchBanks
from .patches import Scale, class_coverage, extract_patches, parse_scales

__all__ = ['cosine_distance', 'relative_distance', 'affinity', 'contextual_loss',
           'MultiScaleContextualLoss', 'nearest_patch_distance']


def cosine_distance(gen: torch.Tensor, bank: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Eq. A.1: ``d_ij = 1 - cos(k_i - mu, b_j - mu)``.

    Args:
        gen: ``(N, D)`` generated patches.
        bank: ``(M, D)`` bank patches shared by every row, or ``(N, M, D)`` one set per row.
        mean: ``(D,)`` the bank mean ``mu``.

    Returns:
        ``(N, M)`` distances.
    """
    g = F.normalize(gen - mean, dim=-1)
    b = F.normalize(bank - mean, dim=-1)
    cos = g @ b.t() if bank.dim() == 2 else torch.einsum('nd,nmd->nm', g, b)
    return 1.0 - cos


def relative_distance(d: torch.Tensor, valid: torch.Tensor | None = None,
                      eps: float = 1e-5) -> torch.Tensor:
    """Eq. A.2: ``d~_ij = d_ij / (min_l d_il + eps)`` over the valid entries. ``(N, M)``"""
    dmin = d if valid is None else d.masked_fill(~valid, float('inf'))
    return d / (dmin.min(dim=1, keepdim=True).values + eps)


def affinity(d_tilde: torch.Tensor, bandwidth: float = 1.0,
             valid: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. A.3: row-wise ``softmax_j((1 - d~_ij) / h)``; invalid entries get 0. ``(N, M)``"""
    logits = (1.0 - d_tilde) / bandwidth
    if valid is not None:
        logits = logits.masked_fill(~valid, float('-inf'))
    return torch.softmax(logits, dim=1)


def contextual_loss(aff: torch.Tensor) -> torch.Tensor:
    """Eq. A.4: ``-log(1/N sum_i max_j A_ij)`` of an ``(N, M)`` affinity matrix. Scalar."""
    return -torch.log(aff.max(dim=1).values.mean())


def _class_loss(gen, rows, mean, valid, bandwidth, eps, dtype):
    # Eq. A.2 divides by the smallest distance of a row, which amplifies rounding: compute in
    # ``dtype`` (float64 by default; the matrices are only N_K x k).
    d = cosine_distance(gen.to(dtype), rows.to(dtype), mean.to(dtype))
    d_tilde = relative_distance(d, valid, eps)
    if valid is not None:
        d_tilde = d_tilde.masked_fill(~valid, 0.0)   # keeps inf * 0 out of the graph
    return contextual_loss(affinity(d_tilde, bandwidth, valid)).to(gen.dtype)


class MultiScaleContextualLoss(nn.Module):
    """Eq. A.5 summed over classes, Eq. A.6 summed over scales, averaged over the batch.

    Args:
        banks: a bank folder (``tools/art2real/build_banks.py``) or a :class:`PatchBanks`.
        scales: subset of the bank's scales (``'4:4,8:5'``); default all.
        k: bank neighbours per generated patch (thesis / authors: 5).
        neighbour_set: ``'knn'`` or ``'union'`` (see the module docstring).
        assign_threshold: fraction of a generated patch inside a class mask for the patch to
            count for that class (authors: 0.5).
        bandwidth: ``h`` of Eq. A.3 (1).
        loss_weight: lambda of Eq. A.11 (0.1).
        nprobe, candidates: search effort of compressed banks (lists visited, rows re-ranked).
        dtype: precision of the distance / affinity computation (``'float64'``).
    """

    def __init__(self, banks, scales=None, k: int = 5, neighbour_set: str = 'knn',
                 assign_threshold: float = 0.5, bandwidth: float = 1.0, eps: float = 1e-5,
                 loss_weight: float = 0.1, nprobe: int = 32, candidates: int = 64,
                 ignore_index: int = 255, dtype: str = 'float64'):
        super().__init__()
        self.dtype = getattr(torch, dtype)
        if neighbour_set not in ('knn', 'union'):
            raise ValueError(f"neighbour_set must be 'knn' or 'union', got {neighbour_set!r}")
        # Banks are opened on first use, so a config's model builds before its banks exist.
        self._banks = banks if isinstance(banks, PatchBanks) else None
        self.banks_path, self.nprobe, self.candidates = banks, nprobe, candidates
        self._scales = None if scales is None else parse_scales(scales)
        if self._banks is not None:
            self._check_scales()
        self.k, self.neighbour_set = int(k), neighbour_set
        self.assign_threshold, self.bandwidth, self.eps = assign_threshold, bandwidth, eps
        self.loss_weight, self.ignore_index = loss_weight, ignore_index
        #: classes of the masks that have no bank at some scale (counted, not an error)
        self.missing_classes = {}

    @property
    def banks(self) -> PatchBanks:
        if self._banks is None:
            self._banks = PatchBanks(self.banks_path, nprobe=self.nprobe,
                                     candidates=self.candidates)
            self._check_scales()
        return self._banks

    @property
    def scales(self):
        return self.banks.scales if self._scales is None else self._scales

    def _check_scales(self):
        for s in self.scales:
            if s.name not in self._banks.meta['banks']:
                raise ValueError(f'{self._banks.root}: no bank for scale {s.size}:{s.stride} '
                                 f'(has {[list(x) for x in self._banks.meta["scales"]]})')

    def neighbours(self, gen: torch.Tensor, scale: Scale, c: int):
        """Bank rows for the generated patches ``gen`` ``(N, D)``.

        Returns ``(rows, mean, valid)``: ``(N, k, D)`` / ``(U, D)`` rows ('knn' / 'union'),
        the ``(D,)`` mean, and the ``(N, k)`` validity mask or None.
        """
        bank = self.banks.get(scale, c)
        k = min(self.k, len(bank.rows))
        ids, _ = bank.search(gen.detach().float().cpu().numpy(), k)
        mean = torch.from_numpy(bank.mean).to(gen)
        if self.neighbour_set == 'union':
            uniq = np.unique(ids[ids >= 0])
            return torch.from_numpy(bank.rows.take(uniq)).to(gen), mean, None
        rows = torch.from_numpy(bank.rows.take(ids)).to(gen)
        valid = torch.from_numpy(ids >= 0).to(gen.device)
        return rows, mean, (None if bool(valid.all()) else valid)

    def image_loss(self, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """L_CXMS of one image: ``fake`` ``(3, H, W)`` in [-1, 1], ``labels`` ``(H, W)``."""
        total = fake.new_zeros(())
        present = [int(c) for c in torch.unique(labels).tolist() if c != self.ignore_index]
        for s in self.scales:
            patches = extract_patches(fake[None], s)[0]                  # (L, D)
            cov = class_coverage(labels[None], s, present)[0]            # (C, L)
            for c, frac in zip(present, cov):
                sel = frac >= self.assign_threshold - 1e-9
                if not bool(sel.any()):
                    continue
                if not self.banks.has(s, c):
                    self.missing_classes[c] = self.missing_classes.get(c, 0) + 1
                    continue
                gen = patches[sel]
                rows, mean, valid = self.neighbours(gen, s, c)
                total = total + _class_loss(gen, rows, mean, valid, self.bandwidth, self.eps,
                                            self.dtype)
        return total

    def forward(self, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``fake`` ``(B, 3, H, W)`` in [-1, 1], ``labels`` ``(B, H, W)`` -> weighted scalar."""
        if labels.dim() == 4:
            labels = labels[:, 0]
        if labels.shape[-2:] != fake.shape[-2:]:
            raise ValueError(f'masks of shape {tuple(labels.shape)} do not match the generated '
                             f'images {tuple(fake.shape)}')
        losses = [self.image_loss(f, lab) for f, lab in zip(fake, labels.long())]
        return self.loss_weight * torch.stack(losses).mean()


@torch.no_grad()
def nearest_patch_distance(images: torch.Tensor, labels: torch.Tensor, banks: PatchBanks,
                           scale: Scale, assign_threshold: float = 0.5) -> float:
    """Mean over generated patches of the cosine distance (Eq. A.1) to the nearest patch of their
    class's bank: how close a translation's patches are to real ones (lower is closer)."""
    dists = []
    for img, lab in zip(images, labels.long()):
        present = [int(c) for c in torch.unique(lab).tolist() if banks.has(scale, c)]
        patches = extract_patches(img[None], scale)[0]
        cov = class_coverage(lab[None], scale, present)[0]
        for c, frac in zip(present, cov):
            sel = frac >= assign_threshold - 1e-9
            if bool(sel.any()):
                _, cos = banks.get(scale, c).search(patches[sel].float().cpu().numpy(), 1)
                dists.append(1.0 - cos[:, 0])
    if not dists:
        raise ValueError('no generated patch falls in a class that has a bank')
    return float(np.concatenate(dists).mean())
