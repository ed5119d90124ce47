"""Logit distillation losses (thesis Sec. 5.2.2-5.2.3, Eq. 5.5-5.10; reused by PAS, Sec. 6.1.3).

Pure functions hold the math; the ``nn.Module`` wrappers registered in mmaction2's ``MODELS`` add
the loss weight so configs can build them (``dict(type='KLDivergenceKDLoss', ...)``).

Reduction of the KL term (the thesis does not state it). The weight lambda = 12,500 is the
"alpha * T^2" recipe with alpha = 500, T = 5 (the same as PAS, Sec. 6.1.3). We average the
element-wise KL terms ``s_k log(s_k / s_hat_k)`` over all B x C entries, i.e. the per-sample KL of
Eq. 5.7 averaged over the batch and divided by the number of classes C; this is what
``torch.nn.KLDivLoss()`` does with its default ``reduction='mean'``, the reading under which
lambda = 12,500 is a sensible size: on Kinetics-400 (C = 400) the per-sample KL weight is
12,500 / 400 = 31.25 and the gradient on a student logit is ``lambda / (C * T) * (s_hat - s)``
= 6.25 * (s_hat - s), the same order as the cross-entropy gradient ``(p - y)``. With the
per-sample ('batchmean') reading the KD gradient would be 2,500 * (s_hat - s), four hundred times
that. ``reduction='batchmean'`` is available for other recipes.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS

__all__ = ['soft_targets', 'kl_divergence', 'pairwise_distances', 'normalized_distances',
           'huber', 'relational_distance_loss', 'KLDivergenceKDLoss', 'RelationalKDLoss']

_KL_REDUCTIONS = ('mean', 'batchmean', 'sum', 'none')


def soft_targets(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 5.6: ``sigma(z / T)``.

    Args:
        logits: (B, C).
        temperature: T > 0.
    Returns:
        (B, C) probabilities.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    return F.softmax(logits / temperature, dim=-1)


def kl_divergence(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  temperature: float = 5.0, reduction: str = 'mean') -> torch.Tensor:
    """Eq. 5.7: ``l_d(s_hat, s) = -sum_k s_k log(s_hat_k / s_k)`` with s, s_hat from Eq. 5.6.

    Args:
        student_logits: (B, C) ``f_s(x)`` (obfuscated clip).
        teacher_logits: (B, C) ``f_t(x*)`` (original clip); treated as a constant target.
        temperature: T of Eq. 5.6 (thesis: 5).
        reduction: ``'mean'`` (default): average of the B x C element-wise terms, i.e. the
            per-sample KL averaged over the batch and divided by C (see the module docstring);
            ``'batchmean'``: per-sample KL averaged over the batch; ``'sum'``; ``'none'``:
            (B,) per-sample KL.
    Returns:
        scalar (or (B,) for ``'none'``).
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError('kl_divergence expects student and teacher logits of the same (B, C) '
                         f'shape, got {tuple(student_logits.shape)} and '
                         f'{tuple(teacher_logits.shape)}')
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f'reduction must be one of {_KL_REDUCTIONS}, got {reduction!r}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    log_s_hat = F.log_softmax(student_logits / temperature, dim=-1)
    log_s = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    # s_k (log s_k - log s_hat_k); s_k log s_k -> 0 where s_k underflows to 0.
    terms = torch.xlogy(log_s.exp(), log_s.exp()) - log_s.exp() * log_s_hat
    if reduction == 'mean':
        return terms.mean()
    if reduction == 'batchmean':
        return terms.sum() / terms.shape[0]
    if reduction == 'sum':
        return terms.sum()
    return terms.sum(dim=-1)


def pairwise_distances(p: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``||p_i - p_j||_2`` for every pair of rows (the distance inside Eq. 5.8).

    Computed from squared norms, clamped at ``eps`` before the square root so that the gradient
    stays finite for coinciding rows; the diagonal is exactly 0.

    Args:
        p: (B, D) logits of a mini-batch.
    Returns:
        (B, B) distances.
    """
    sq = p.pow(2).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2 * p @ p.t()).clamp(min=eps)
    d = d2.sqrt()
    off_diagonal = 1 - torch.eye(len(p), dtype=p.dtype, device=p.device)
    return d * off_diagonal


def normalized_distances(p: torch.Tensor) -> torch.Tensor:
    """Eq. 5.8: ``psi_D(p_i, p_j) = ||p_i - p_j||_2 / mu`` with mu the mean distance over the
    B (B - 1) pairs i != j of the mini-batch (computed per network, teacher and student apart).

    Args:
        p: (B, D), B >= 2.
    Returns:
        (B, B), diagonal 0.
    """
    if p.dim() != 2 or len(p) < 2:
        raise ValueError(f'relational KD needs (B, D) logits with B >= 2, got {tuple(p.shape)}')
    d = pairwise_distances(p)
    n = len(p)
    mu = d.sum() / (n * (n - 1))
    return d / mu.clamp(min=1e-12)


def huber(x: torch.Tensor, y: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Eq. 5.10 (element-wise): ``0.5 (x - y)^2`` if ``|x - y| <= delta`` else
    ``delta (|x - y| - 0.5 delta)``; delta = 1 is the smooth L1 of the thesis."""
    return F.huber_loss(x, y, reduction='none', delta=delta)


def relational_distance_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                             delta: float = 1.0) -> torch.Tensor:
    """Eq. 5.9: ``1 / n^2 sum_i sum_j l_delta(psi_D(p_hat_i, p_hat_j), psi_D(p_i, p_j))``.

    Args:
        student_logits: (B, C) ``f_s(x_i)``.
        teacher_logits: (B, C) ``f_t(x_i*)`` (constant target).
    Returns:
        scalar.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError('relational_distance_loss expects logits of the same shape, got '
                         f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
    psi_s = normalized_distances(student_logits)
    psi_t = normalized_distances(teacher_logits.detach())
    return huber(psi_s, psi_t, delta).mean()


@MODELS.register_module()
class KLDivergenceKDLoss(nn.Module):
    """``loss_weight * kl_divergence(...)``: the lambda term of Eq. 5.5 (thesis: lambda = 12,500,
    T = 5, see the module docstring for the reduction).

    Args:
        loss_weight: lambda.
        temperature: T.
        reduction: see :func:`kl_divergence`.
    """

    def __init__(self, loss_weight: float = 12500.0, temperature: float = 5.0,
                 reduction: str = 'mean'):
        super().__init__()
        if reduction not in _KL_REDUCTIONS:
            raise ValueError(f'reduction must be one of {_KL_REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.temperature = temperature
        self.reduction = reduction

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        """(B, C), (B, C) -> scalar."""
        return self.loss_weight * kl_divergence(student_logits, teacher_logits,
                                                self.temperature, self.reduction)


@MODELS.register_module()
class RelationalKDLoss(nn.Module):
    """``loss_weight * relational_distance_loss(...)``: the beta term of Eq. 5.11
    (thesis: beta = 10).

    Args:
        loss_weight: beta.
        delta: Huber threshold of Eq. 5.10 (thesis: 1, smooth L1).
    """

    def __init__(self, loss_weight: float = 10.0, delta: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight
        self.delta = delta

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        """(B, C), (B, C) -> scalar."""
        return self.loss_weight * relational_distance_loss(student_logits, teacher_logits,
                                                           self.delta)
