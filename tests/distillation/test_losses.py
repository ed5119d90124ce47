"""KD (Eq. 5.5-5.7) and relational KD (Eq. 5.8-5.10) against values computed by hand."""
import math

import pytest
import torch
import torch.nn.functional as F

import vidplugins  # noqa: F401  (registers the losses)
from mmaction.registry import MODELS
from vidplugins.distillation.losses import (huber, kl_divergence, normalized_distances,
                                            relational_distance_loss)


def test_kl_divergence_by_hand():
    # Teacher logits (T ln 3, 0) -> s = (3/4, 1/4) at any T; student (0, 0) -> s_hat = (1/2, 1/2).
    # Eq. 5.7: 3/4 ln(3/2) + 1/4 ln(1/2) = 0.1308120...
    for t in (1.0, 5.0):
        teacher = torch.tensor([[t * math.log(3), 0.0]])
        student = torch.zeros(1, 2)
        kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
        assert kl == pytest.approx(0.1308120, abs=1e-7)
        assert kl_divergence(student, teacher, t, 'batchmean').item() == pytest.approx(kl, 1e-6)
        assert kl_divergence(student, teacher, t, 'sum').item() == pytest.approx(kl, 1e-6)
        # 'mean' (our default): over the B x C = 2 entries.
        assert kl_divergence(student, teacher, t, 'mean').item() == pytest.approx(kl / 2, 1e-6)
    # Two samples, the second with identical distributions (KL 0): per-sample values.
    student = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    teacher = torch.tensor([[5 * math.log(3), 0.0], [1.0, 2.0]])
    per = kl_divergence(student, teacher, 5.0, 'none')
    assert per[0].item() == pytest.approx(0.1308120, abs=1e-6) and per[1].item() == pytest.approx(0)
    assert kl_divergence(student, teacher, 5.0, 'mean').item() == pytest.approx(0.1308120 / 4,
                                                                                abs=1e-7)


def test_kl_matches_torch_kldivloss_default_reduction():
    """The chosen reduction is torch.nn.KLDivLoss()'s default ('mean' over all entries)."""
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    ref = torch.nn.KLDivLoss()(F.log_softmax(s / 5, 1), F.softmax(t / 5, 1))
    assert kl_divergence(s, t, 5.0).item() == pytest.approx(ref.item(), rel=1e-5)


def test_kl_gradient_is_lambda_over_c_t_times_the_probability_gap():
    """d(lambda * KL_mean)/dz_s = lambda / (B C T) (s_hat - s): the size argument of the losses
    module docstring (Kinetics-400: 12,500 / (400 * 5) = 6.25 per sample)."""
    g = torch.Generator().manual_seed(1)
    s = torch.randn(3, 400, generator=g, requires_grad=True)
    t = torch.randn(3, 400, generator=g)
    loss = MODELS.build(dict(type='KLDivergenceKDLoss', loss_weight=12500.0, temperature=5.0))
    loss(s, t).backward()
    expected = 12500.0 / (3 * 400 * 5) * (F.softmax(s.detach() / 5, 1) - F.softmax(t / 5, 1))
    assert torch.allclose(s.grad, expected, atol=1e-6)
    assert 12500.0 / (400 * 5) == 6.25


def test_kd_loss_teacher_gets_no_gradient_and_weight_applies():
    s = torch.zeros(1, 2, requires_grad=True)
    t = torch.tensor([[math.log(3), 0.0]], requires_grad=True)
    loss = MODELS.build(dict(type='KLDivergenceKDLoss', loss_weight=12500.0, temperature=1.0))
    value = loss(s, t)
    assert value.item() == pytest.approx(12500 * 0.1308120 / 2, rel=1e-5)   # 817.575
    value.backward()
    assert t.grad is None or torch.all(t.grad == 0)


def test_normalized_distances_by_hand():
    # Teacher logits at (0,0), (3,0), (0,4): distances 3, 4, 5; mu = (3 + 4 + 5) / 3 = 4 (Eq. 5.8).
    p = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    psi = normalized_distances(p)
    expected = torch.tensor([[0, 0.75, 1.0], [0.75, 0, 1.25], [1.0, 1.25, 0]])
    assert torch.allclose(psi, expected, atol=1e-6)


def test_relational_loss_by_hand():
    # Student logits on a line (0, 1, 2): distances 1, 2, 1, mu = 4/3 -> psi 0.75, 1.5, 0.75.
    # Teacher psi (above) 0.75, 1.0, 1.25: gaps 0, 0.5, 0.5 -> Huber 0, 0.125, 0.125; each pair
    # twice in the n^2 = 9 terms of Eq. 5.9: (2 * 0.25) / 9 = 0.0555...
    teacher = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    student = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert relational_distance_loss(student, teacher).item() == pytest.approx(0.5 / 9, abs=1e-6)
    loss = MODELS.build(dict(type='RelationalKDLoss', loss_weight=10.0))
    assert loss(student, teacher).item() == pytest.approx(10 * 0.5 / 9, abs=1e-5)
    # Invariant to a common scale of either network's logits (mu normalises it away).
    assert relational_distance_loss(7 * student, 0.1 * teacher).item() == \
        pytest.approx(0.5 / 9, abs=1e-6)


def test_huber_both_branches():
    """Eq. 5.10 with delta = 1: 0.5 x^2 inside, |x| - 0.5 outside."""
    x = torch.tensor([0.5, -0.5, 3.0, -2.0])
    assert torch.allclose(huber(x, torch.zeros(4)), torch.tensor([0.125, 0.125, 2.5, 1.5]))


def test_relational_loss_matches_the_mmrazor_distance_wise_formula():
    """Cross-check with the formula of mmrazor's DistanceWiseRKD (open-mmlab/mmrazor,
    mmrazor/models/losses/relational_kd.py), written here independently: pairwise Euclidean
    distances with a zero diagonal, each divided by the mean of the positive ones, then
    smooth L1 averaged over all n^2 entries; without its optional L2 normalisation of the inputs
    (the thesis compares raw logits)."""
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)

    def psi(p):
        d = torch.cdist(p, p)
        d.fill_diagonal_(0)
        return d / d[d > 0].mean()

    ref = F.smooth_l1_loss(psi(s), psi(t), reduction='mean', beta=1.0)
    assert relational_distance_loss(s, t).item() == pytest.approx(ref.item(), rel=1e-5)


def test_relational_gradient_is_finite_for_duplicate_samples():
    s = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    t = torch.tensor([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    relational_distance_loss(s, t).backward()
    assert torch.isfinite(s.grad).all()


@pytest.mark.parametrize('bad', [dict(temperature=0.0), dict(reduction='avg')])
def test_kl_rejects_bad_arguments(bad):
    kwargs = dict(temperature=5.0, reduction='mean')
    kwargs.update(bad)
    with pytest.raises(ValueError):
        kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3), **kwargs)


def test_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match='same'):
        kl_divergence(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='B >= 2'):
        relational_distance_loss(torch.zeros(1, 3), torch.zeros(1, 3))
