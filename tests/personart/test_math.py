"""PersonArt equations (App. A.2.1) against brute-force computations."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidplugins.personart import kernels
from vidplugins.personart.feedback import (FeedbackState, feature_space_warping,
                                           query_point_movement, warp_weights)
from vidplugins.personart.heads import AttributeBranches
from vidplugins.personart.losses import attribute_loss, hardest_negative_hinge
from vidplugins.personart.metrics import average_precision, recall_at_k
from vidplugins.personart.similarity import (attribute_mask, attribute_similarity, binarize,
                                             combined_score, identity_similarity, project,
                                             soft_attribute_similarity)


def test_projection_residual_and_literal():
    g = torch.Generator().manual_seed(0)
    phi, w = torch.randn(5, 4, generator=g), torch.randn(4, 4, generator=g)
    f = project(phi, w, residual=True)
    ref = phi + phi @ w
    assert torch.allclose(f, ref / ref.norm(dim=1, keepdim=True), atol=1e-6)
    assert torch.allclose(project(phi, torch.zeros(4, 4)), F.normalize(phi, dim=1))
    w2 = torch.randn(4, 3, generator=g)
    f2 = project(phi, w2, residual=False)
    for i in range(5):  # Eq. A.16 literally, one row at a time
        v = sum(w2[d] * (1 + phi[i, d]) for d in range(4))
        assert torch.allclose(f2[i], v / v.norm(), atol=1e-6)
    with pytest.raises(ValueError, match='square'):
        project(phi, w2, residual=True)


def brute_hinge(f_r, f_a, ids, margin):
    b, total = len(f_r), 0.0
    for i in range(b):
        s_pos = float(f_r[i] @ f_a[i])
        neg_a = [float(f_r[i] @ f_a[j]) for j in range(b) if ids[j] != ids[i]]
        neg_r = [float(f_r[j] @ f_a[i]) for j in range(b) if ids[j] != ids[i]]
        if neg_a:
            total += max(0.0, margin - s_pos + max(neg_a))
        if neg_r:
            total += max(0.0, margin - s_pos + max(neg_r))
    return total / b


def test_hardest_negative_hinge_matches_loops():
    g = torch.Generator().manual_seed(1)
    f_r = F.normalize(torch.randn(8, 6, generator=g), dim=1)
    f_a = F.normalize(f_r + 0.7 * torch.randn(8, 6, generator=g), dim=1)
    ids = torch.tensor([0, 1, 1, 2, 3, 3, 3, 4])
    for margin in (0.1, 0.5):
        got = hardest_negative_hinge(f_r, f_a, ids, margin)
        assert got.item() == pytest.approx(brute_hinge(f_r, f_a, ids.tolist(), margin), abs=1e-6)
    # without identities only the diagonal is a positive
    got = hardest_negative_hinge(f_r, f_a, None, 0.1)
    assert got.item() == pytest.approx(brute_hinge(f_r, f_a, list(range(8)), 0.1), abs=1e-6)
    # one identity in the whole batch: no negatives, zero loss
    assert hardest_negative_hinge(f_r, f_a, torch.zeros(8), 0.1).item() == 0.0
    # identical pairs far from every negative: zero loss
    e = torch.eye(6)
    assert hardest_negative_hinge(e, e, None, 0.1).item() == 0.0


def test_attribute_branches_equal_separate_mlps():
    torch.manual_seed(0)
    heads = AttributeBranches(16, num_attributes=5, hidden=(32, 12, 7))
    heads.eval()
    x = torch.randn(3, 16)
    out = heads(x)
    assert out.shape == (3, 5, 2)
    for k in range(5):
        branch = heads.branch(k).eval()
        assert torch.allclose(out[:, k], branch(x), atol=1e-5)
        # the thesis' layout: FC 1024-512-64-2 with dropout .2 / .4 after the first two
    full = AttributeBranches(8)
    assert [tuple(w.shape) for w in full.weights] == [(40, 8, 1024), (40, 1024, 512),
                                                      (40, 512, 64), (40, 64, 2)]
    assert full.dropout[:2] == [0.2, 0.4]
    drop = [m.p for m in full.branch(0) if isinstance(m, torch.nn.Dropout)]
    assert drop == [0.2, 0.4]
    labels = torch.tensor([[1, 0, -1, 1, 0]] * 3)
    ce = attribute_loss(out, labels)
    known = labels >= 0
    ref = F.cross_entropy(out[known], labels[known])
    assert ce.item() == pytest.approx(ref.item(), abs=1e-6)


def test_scores_eq_a18_a20_a21():
    f_r = F.normalize(torch.randn(3, 4), dim=1)
    f_a = F.normalize(torch.randn(5, 4), dim=1)
    s_i = identity_similarity(f_r, f_a)
    for i, j in itertools.product(range(3), range(5)):
        assert s_i[i, j].item() == pytest.approx(float(f_a[j] @ f_r[i]), abs=1e-6)
    rng = np.random.default_rng(0)
    br, ba = rng.random((3, 40)) > 0.5, rng.random((5, 40)) > 0.5
    s_a = attribute_similarity(br, ba)
    s_a_t = attribute_similarity(torch.from_numpy(br), torch.from_numpy(ba))
    for i, j in itertools.product(range(3), range(5)):
        h = sum(br[i, k] != ba[j, k] for k in range(40))
        assert s_a[i, j] == pytest.approx(1 - h / 40)
        assert s_a_t[i, j].item() == pytest.approx(1 - h / 40)
    s = combined_score(s_i.numpy(), s_a, 0.2)
    assert s[1, 2] == pytest.approx((1 + s_i[1, 2].item()) / 2 + 0.2 * s_a[1, 2], abs=1e-6)
    # the soft version equals Eq. A.20 at binary probabilities
    soft = soft_attribute_similarity(torch.from_numpy(br[:1].astype(np.float32)),
                                     torch.from_numpy(ba[2:3]))
    assert soft.item() == pytest.approx(s_a[0, 2])
    logits = torch.tensor([[[0.0, 1.0], [2.0, -1.0]]])
    assert binarize(logits).tolist() == [[True, False]]
    bits = np.array([[1, 0], [1, 1], [0, 1]], bool)
    assert attribute_mask(bits, {'b': True}, ['a', 'b']).tolist() == [False, True, True]
    assert attribute_mask(bits, {0: True, 1: False}).tolist() == [True, False, False]
    with pytest.raises(KeyError, match='unknown attribute'):
        attribute_mask(bits, {'c': True}, ['a', 'b'])


@pytest.mark.parametrize('fast', [True, False])
def test_feedback_closed_form_equals_explicit_warping(fast):
    """The closed form, by the compiled kernel (fast) and in NumPy, against explicit vectors."""
    if fast and not kernels.available():
        pytest.skip('numba is not installed (requirements/runtime.txt): no compiled kernels')
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[0] * 0.5 + rng.standard_normal(8).astype(np.float32) * 0.3
    state = FeedbackState(x, q, fast=fast)
    gal, qq = x.astype(np.float64), q.astype(np.float64)
    # 12 iterations: past the initial capacity (8) of the per-item query weights
    for p, n in [(3, 7), (3, 11), (20, 7), (5, 40)] * 3:
        f_p, f_n = gal[p].copy(), gal[n].copy()
        new_q = query_point_movement(qq, f_p, f_n)              # Eq. A.22
        assert np.allclose(new_q, 0.8 * qq + 0.1 * f_p - 0.1 * f_n)
        qq = new_q
        gal = feature_space_warping(gal, f_p, f_n, qq)          # Eq. A.23
        sims = state.step(p, n)
        # float32 closed form vs float64 explicit vectors
        assert np.allclose(state.query, qq, atol=1e-5)
        assert np.allclose(state.embeddings(), gal, atol=1e-5)
        assert np.allclose(sims, 1 - ((gal - qq) ** 2).sum(1) / 2, atol=1e-5)
        assert np.allclose(state.norm2, (gal ** 2).sum(1), atol=1e-5)
    # one item by hand: f + eta e^{-c d_p} (q - f) - eta e^{-c d_n} (q - f)
    f, fp, fn, q1 = (rng.standard_normal(3) for _ in range(4))
    ref = f + 0.5 * np.exp(-0.8 * np.linalg.norm(f - fp)) * (q1 - f) \
        - 0.5 * np.exp(-0.8 * np.linalg.norm(f - fn)) * (q1 - f)
    assert np.allclose(feature_space_warping(f[None], fp, fn, q1)[0], ref)
    assert warp_weights(np.array(0.0), np.array(0.0)) == 0.0
    # before feedback the session's similarity is Eq. A.18's cosine
    assert np.allclose(FeedbackState(x, x[3], fast=fast).similarities(), x @ x[3], atol=1e-6)


def test_recall_and_average_precision_by_hand():
    scores = np.array([[0.9, 0.8, 0.1], [0.2, 0.9, 0.5], [0.5, 0.4, 0.3]])
    rel = np.array([[False, True, False], [True, False, False], [False, False, False]])
    r = recall_at_k(scores, rel, (1, 2, 3))
    assert r == {'R@1': 0.0, 'R@2': 50.0, 'R@3': 100.0}  # third query has no relevant item
    # ranking: rel at ranks 2 and 3 -> AP = (1/2 + 2/3) / 2
    assert average_precision(np.array([0.9, 0.5, 0.1]), np.array([False, True, True])) == \
        pytest.approx((1 / 2 + 2 / 3) / 2)
    assert average_precision(np.array([3.0, 2.0]), np.array([True, False])) == 1.0
