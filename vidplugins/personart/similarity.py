"""Cross-domain similarity of PersonArt (thesis App. A.2.1): small pure functions.

Shapes: ``N`` items, ``D_phi`` face-embedding size, ``D`` joint-space size, ``n`` attributes.
"""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F


def project(phi: torch.Tensor, weight: torch.Tensor, residual: bool = True) -> torch.Tensor:
    """Joint-space projection of face embeddings (Eq. A.16 / A.17).

    The thesis writes ``l2norm(W^T (1 + phi))`` and calls the ``1`` a residual connection. With
    ``residual=True`` (default) the ``1`` is the identity matrix: ``l2norm(phi + W^T phi)``, which
    needs ``D == D_phi`` and makes a zero ``W`` the untrained projection (raw ``phi`` retrieval).
    With ``residual=False`` the formula is read literally, ``1`` the all-ones vector:
    ``l2norm(W^T (1 + phi))`` for any ``D``.

    Args:
        phi: (N, D_phi) face embeddings.
        weight: (D_phi, D) projection matrix ``W``.
    Returns:
        (N, D) unit-norm embeddings.
    """
    if residual:
        if weight.shape[0] != weight.shape[1]:
            raise ValueError(f'residual projection needs a square W, got {tuple(weight.shape)}')
        out = phi + phi @ weight
    else:
        out = (1 + phi) @ weight
    return F.normalize(out, dim=-1)


def identity_similarity(f_r: torch.Tensor, f_a: torch.Tensor) -> torch.Tensor:
    """``s_i(I^R, I^A) = f_a(I^A) . f_r(I^R)`` for all pairs (Eq. A.18).

    Args:
        f_r: (Nr, D) real-branch embeddings; f_a: (Na, D) artistic-branch embeddings.
    Returns:
        (Nr, Na) similarities.
    """
    return f_r @ f_a.t()


def binarize(attr_logits: torch.Tensor) -> torch.Tensor:
    """gamma(.) of Eq. A.20: (N, n, 2) branch logits -> (N, n) bools (present when p1 > p0)."""
    return attr_logits[..., 1] > attr_logits[..., 0]


def attribute_similarity(bits_r, bits_a):
    """``s_a = 1 - H(gamma(I^R), gamma(I^A)) / n`` for all pairs (Eq. A.20).

    Args:
        bits_r: (Nr, n) binary attributes of the queries; bits_a: (Na, n) of the gallery
            (torch or NumPy, bool or {0, 1}).
    Returns:
        (Nr, Na) similarities in [0, 1].
    """
    if isinstance(bits_r, np.ndarray):
        r = bits_r.astype(np.float32)
        a = np.asarray(bits_a).astype(np.float32)
        n = r.shape[1]
        hamming = r @ (1 - a).T + (1 - r) @ a.T
        return 1.0 - hamming / n
    r, a = bits_r.float(), bits_a.float()
    hamming = r @ (1 - a).t() + (1 - r) @ a.t()
    return 1.0 - hamming / r.shape[1]


def soft_attribute_similarity(prob_r: torch.Tensor, bits_a: torch.Tensor) -> torch.Tensor:
    """Differentiable Eq. A.20 for explanations: ``1 - mean_k |p_k(I^R) - gamma_k(I^A)|``.

    Equal to Eq. A.20 when the query probabilities ``p`` are binary; lets Integrated Gradients flow
    through the attribute branch (Eq. A.24 back-propagates through both branches).

    Args:
        prob_r: (N, n) attribute probabilities of the queries; bits_a: (N, n) gallery bits (paired).
    Returns:
        (N,) similarities.
    """
    return 1.0 - (prob_r - bits_a.float()).abs().mean(dim=1)


def combined_score(s_i, s_a, lam: float = 0.2):
    """Final retrieval score ``s = (1 + s_i) / 2 + lambda * s_a`` (Eq. A.21), lambda 0.2."""
    return (1 + s_i) / 2 + lam * s_a


def attribute_mask(bits, constraints: Optional[dict], names=None):
    """Items satisfying every attribute constraint (the app's ticks filter the results).

    Args:
        bits: (N, n) binary attributes (NumPy).
        constraints: {attribute index or name: required bool}.
        names: attribute names when constraints use names.
    Returns:
        (N,) bool mask.
    """
    bits = np.asarray(bits, dtype=bool)
    mask = np.ones(bits.shape[0], dtype=bool)
    for key, want in (constraints or {}).items():
        if isinstance(key, str):
            if names is None or key not in names:
                raise KeyError(f'unknown attribute {key!r}; known: {list(names or [])}')
            key = list(names).index(key)
        mask &= bits[:, int(key)] == bool(want)
    return mask
