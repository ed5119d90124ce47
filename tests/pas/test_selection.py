"""Eq. 6.3 / Eq. 6.1 selection on hand-made numbers."""
import math

import pytest

from vidplugins.pas.selection import (efficiency_score, flops_ratios_uneven,
                                      select_hypothesis)

BASE = dict(top1=69.2, gflops=40.8)


def _h(name, top1, top5, gflops):
    return dict(name=name, top1=top1, top5=top5, gflops=gflops)


def test_eq_6_3_best_top1_ties_by_top5():
    # ratios 0.50, 0.52, 0.49, 0.51: even -> Eq. 6.3
    hs = [_h('s', 67.7, 87.0, 20.4), _h('t', 69.0, 88.0, 21.2), _h('f', 69.0, 88.4, 20.0),
          _h('c', 68.5, 88.9, 20.8)]
    assert select_hypothesis(hs, BASE, 40.8) == ('f', 'Eq. 6.3')


def test_eq_6_1_when_a_ratio_departs():
    # parent 5.4 GFLOPs; t saves little (ratio 0.80 vs ~0.5): Eq. 6.1 against B (69.2, 40.8)
    hs = [_h('t', 66.9, 86.0, 4.32), _h('f', 66.0, 86.3, 2.7), _h('s', 65.0, 85.0, 2.76)]
    assert flops_ratios_uneven([h['gflops'] for h in hs], 5.4)
    # scores: t (40.8-4.32)/(2.3) = 15.86; f 38.1/3.2 = 11.91; s 38.04/4.2 = 9.06
    assert efficiency_score(4.32, 66.9, 40.8, 69.2) == pytest.approx(36.48 / 2.3)
    assert select_hypothesis(hs, BASE, 5.4) == ('t', 'Eq. 6.1')
    # a hypothesis at least as accurate as B is free: infinite score, then the larger saving
    hs.append(_h('c', 69.5, 88.7, 2.9))
    assert efficiency_score(2.9, 69.5, 40.8, 69.2) == math.inf
    assert select_hypothesis(hs, BASE, 5.4) == ('c', 'Eq. 6.1')


def test_threshold():
    assert not flops_ratios_uneven([5.0, 6.0, 6.2], 10.0)      # 0.5 vs median 0.6: -17 %
    assert flops_ratios_uneven([4.0, 6.0, 6.2], 10.0)          # 0.4 vs 0.6: -33 %
    with pytest.raises(ValueError):
        select_hypothesis([], BASE, 40.8)
