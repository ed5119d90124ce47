"""Choosing the hypothesis of a PAS iteration (thesis Sec. 6.1.2).

Eq. 6.3 (the default): the best top-1 accuracy, ties broken by top-5, valid while every operator
cuts the FLOPs by about the same factor. When one departs from the others (e.g. ``t`` below the
network's total temporal stride saves less than half), Eq. 6.1 ranks by FLOPs saved per accuracy
point lost, both measured against the base network B.

Threshold (the thesis gives none): the FLOPs ratios ``C(eps_j(R)) / C(R)`` are "about constant"
when each is within +-25 % of their median (``RATIO_TOLERANCE``): with gamma ~ 2 that separates
0.5 from <= 0.37 or >= 0.63.
"""
from __future__ import annotations

import math
from statistics import median
from typing import Dict, List, Sequence, Tuple

__all__ = ['RATIO_TOLERANCE', 'flops_ratios_uneven', 'efficiency_score', 'select_hypothesis']

RATIO_TOLERANCE = 0.25


def flops_ratios_uneven(gflops: Sequence[float], parent_gflops: float,
                        tolerance: float = RATIO_TOLERANCE) -> bool:
    """True when some ``C(h) / C(R_{tau-1})`` is off their median by more than ``tolerance``."""
    ratios = [g / parent_gflops for g in gflops]
    if len(ratios) < 2:
        return False
    m = median(ratios)
    return any(abs(r / m - 1) > tolerance for r in ratios)


def efficiency_score(gflops: float, top1: float, base_gflops: float, base_top1: float) -> float:
    """Eq. 6.1: ``(C(B) - C(h)) / (Acc(B) - Acc(h))``; +inf when h is at least as accurate as B
    (no accuracy lost: any saving is free)."""
    lost = base_top1 - top1
    saved = base_gflops - gflops
    if lost <= 0:
        return math.inf
    return saved / lost


def select_hypothesis(candidates: List[Dict], base: Dict, parent_gflops: float,
                      tolerance: float = RATIO_TOLERANCE) -> Tuple[str, str]:
    """The chosen hypothesis of an iteration.

    Args:
        candidates: dicts with ``name``, ``top1``, ``top5``, ``gflops`` (trained and tested).
        base: B's ``top1`` and ``gflops``.
        parent_gflops: C(R_{tau-1}).
    Returns:
        (name, rule) with rule ``'Eq. 6.3'`` or ``'Eq. 6.1'``.
    """
    if not candidates:
        raise ValueError('select_hypothesis: no trained hypothesis to choose from')
    if flops_ratios_uneven([c['gflops'] for c in candidates], parent_gflops, tolerance):
        def key(c):
            score = efficiency_score(c['gflops'], c['top1'], base['gflops'], base['top1'])
            # among "free" hypotheses (score inf) the larger saving, then accuracy
            return (score, base['gflops'] - c['gflops'], c['top1'], c['top5'])
        return max(candidates, key=key)['name'], 'Eq. 6.1'
    return max(candidates, key=lambda c: (c['top1'], c['top5']))['name'], 'Eq. 6.3'
