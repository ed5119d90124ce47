"""Contextual loss (Eq. A.1-A.6) against hand-computed numbers and a dense brute force."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from vidplugins.art2real.banks import PatchBanks
from vidplugins.art2real.contextual_loss import (MultiScaleContextualLoss, affinity,
                                                 contextual_loss, cosine_distance,
                                                 relative_distance)
from vidplugins.art2real.patches import Scale, class_coverage, extract_patches


def test_equations_a1_to_a4_by_hand():
    # Bank mean (0, 0); generated k1 = (1, 0), k2 = (0, 1); bank b1 = (1, 0), b2 = (-1, 1).
    gen = torch.tensor([[1., 0.], [0., 1.]])
    bank = torch.tensor([[1., 0.], [-1., 1.]])
    d = cosine_distance(gen, bank, torch.zeros(2))                  # Eq. A.1
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(d.numpy(), [[0, 1 + s], [1, 1 - s]], atol=1e-6)
    dt = relative_distance(d, eps=1e-5)                              # Eq. A.2
    np.testing.assert_allclose(dt.numpy(), [[0, (1 + s) / 1e-5],
                                            [1 / (1 - s + 1e-5), (1 - s) / (1 - s + 1e-5)]],
                               rtol=1e-5)
    a = affinity(dt, bandwidth=1.0)                                  # Eq. A.3
    e = np.exp(1 - dt.numpy().astype(np.float64))
    np.testing.assert_allclose(a.numpy(), e / e.sum(1, keepdims=True), atol=1e-6)
    loss = contextual_loss(a)                                        # Eq. A.4
    expect = -np.log((a.numpy().max(1)).mean())
    assert abs(loss.item() - expect) < 1e-6
    # row 1: ~1 on its exact match; row 2: d~ = (1/(1-s), 1) -> softmax of (1 - 3.414, 0)
    assert a[0, 0] > 0.999 and abs(a[1, 1].item() - 1 / (1 + np.exp(-1 / (1 - s) + 1))) < 1e-4


def brute_force_loss(fake, labels, bank_dir, scales, threshold=0.5, h=1.0, eps=1e-5):
    """Eq. A.1-A.6 over whole banks (float64, dense), written independently of the module."""
    total = 0.0
    banks = PatchBanks(bank_dir)
    for s in scales:
        x = fake[0].double()
        rows_img = []
        lab_cov = {}
        for y in range(0, x.shape[1] - s.size + 1, s.stride):
            for xx in range(0, x.shape[2] - s.size + 1, s.stride):
                rows_img.append(x[:, y:y + s.size, xx:xx + s.size].reshape(-1))
                win = labels[0, y:y + s.size, xx:xx + s.size]
                for c in torch.unique(labels).tolist():
                    lab_cov.setdefault(c, []).append((win == c).double().mean().item())
        rows_img = torch.stack(rows_img)
        for c, cov in lab_cov.items():
            sel = torch.tensor(cov) >= threshold
            if not sel.any() or not banks.has(s, c):
                continue
            info = banks.meta['banks'][s.name][str(c)]
            b = torch.from_numpy(np.fromfile(osp.join(bank_dir, info['bin']), dtype='<f4')
                                 .reshape(-1, s.dim())).double()
            mu = b.mean(0)
            k = rows_img[sel] - mu
            bc = b - mu
            cos = (k / k.norm(dim=1, keepdim=True)) @ (bc / bc.norm(dim=1, keepdim=True)).t()
            d = 1 - cos
            dt = d / (d.min(1, keepdim=True).values + eps)
            a = torch.softmax((1 - dt) / h, 1)
            total = total - torch.log(a.max(1).values.mean())
    return total


@pytest.fixture(scope='module')
def painting(demo_images):
    rgb = np.asarray(Image.open(osp.join(demo_images, 'trainA', 'trainA_0000.png')))
    lab = np.asarray(Image.open(osp.join(demo_images, 'masksA', 'trainA_0000.png')))
    fake = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
    return fake, torch.from_numpy(lab.astype(np.int64))[None]


@pytest.mark.parametrize('mode', ['knn', 'union'])
def test_index_loss_equals_brute_force_when_k_covers_the_bank(demo_banks, painting, mode):
    fake, labels = painting
    banks = PatchBanks(demo_banks)
    biggest = max(v['rows'] for b in banks.meta['banks'].values() for v in b.values())
    loss_fn = MultiScaleContextualLoss(banks, k=biggest, neighbour_set=mode, loss_weight=1.0)
    ours_in = fake.clone().requires_grad_(True)
    ours = loss_fn(ours_in, labels)
    ref_in = fake.clone().double().requires_grad_(True)
    ref = brute_force_loss(ref_in, labels, demo_banks, banks.scales)
    assert ref.item() > 0.1
    assert abs(ours.item() - ref.item()) < 1e-5
    ours.backward()
    ref.backward()
    g1, g2 = ours_in.grad.double(), ref_in.grad
    assert g2.abs().max() > 1e-3
    assert (g1 - g2).abs().max() < 1e-5 * max(1.0, g2.abs().max().item())


def test_knn_rows_use_exactly_the_k_nearest_bank_patches(demo_banks, painting):
    fake, labels = painting
    banks = PatchBanks(demo_banks)
    s = Scale(4, 4)
    loss_fn = MultiScaleContextualLoss(banks, scales='4:4', k=3, loss_weight=1.0)
    patches = extract_patches(fake, s)[0]
    cov = class_coverage(labels, s, [3])[0, 0]
    gen = patches[cov >= 0.5]
    rows, mean, valid = loss_fn.neighbours(gen, s, 3)
    info = banks.meta['banks'][s.name]['3']
    b = np.fromfile(osp.join(demo_banks, info['bin']), dtype='<f4').reshape(-1, 48)
    mu = b.mean(0)
    cos = ((gen.numpy() - mu) / np.linalg.norm(gen.numpy() - mu, axis=1, keepdims=True)) @ \
        ((b - mu) / np.linalg.norm(b - mu, axis=1, keepdims=True)).T
    top = np.sort(-cos, 1)[:, :3]
    got = -np.einsum('nd,nkd->nk', (gen.numpy() - mu) / np.linalg.norm(gen.numpy() - mu, axis=1,
                                                                         keepdims=True),
                     (rows.numpy() - mu) / np.linalg.norm(rows.numpy() - mu, axis=2,
                                                          keepdims=True))
    np.testing.assert_allclose(np.sort(got, 1), top, atol=1e-5)
    assert valid is None


def test_banks_smaller_than_k_and_missing_classes(demo_banks, painting):
    fake, labels = painting
    labels = labels.clone()
    labels[0, :4, :4] = 7                       # a class no bank has: counted, not an error
    loss_fn = MultiScaleContextualLoss(demo_banks, k=10 ** 6, loss_weight=0.1)
    loss = loss_fn(fake, labels)
    assert torch.isfinite(loss) and loss.item() > 0
    assert 7 in loss_fn.missing_classes
    with pytest.raises(ValueError, match='no bank for scale 16:6'):
        MultiScaleContextualLoss(demo_banks, scales='16:6')(fake, labels)
    with pytest.raises(ValueError, match='do not match'):
        loss_fn(fake, labels[:, :16])
