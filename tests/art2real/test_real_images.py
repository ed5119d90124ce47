"""Banks and contextual loss on the real photos and paintings of ../shared/data/images.

The label maps come from a crude colour rule written here (1: blue-dominant pixels, sky / water;
2: green-dominant, vegetation; 0: the rest), so the multi-class path runs on real pixels.
"""
import os
import os.path as osp

import numpy as np
import torch
from PIL import Image

from tests.conftest import shared
from vidplugins.art2real.banks import PatchBanks, build_banks
from vidplugins.art2real.contextual_loss import MultiScaleContextualLoss
from vidplugins.art2real.patches import Scale, class_coverage, extract_patches, image_to_tensor
from vidplugins.art2real.segmenters import read_rgb


def colour_rule(rgb):
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    lab = np.zeros(rgb.shape[:2], np.uint8)
    lab[(b > r + 10) & (b > g)] = 1
    lab[(g > r + 10) & (g > b)] = 2
    return lab


def small(path, side=160):
    im = Image.fromarray(read_rgb(path))
    s = side / min(im.size)
    return np.asarray(im.resize((round(im.width * s), round(im.height * s)), Image.BILINEAR))


def test_banks_and_loss_on_real_images(tmp_path):
    photos = shared('images', 'photos')
    labels = tmp_path / 'labels'
    labels.mkdir()
    names = sorted(os.listdir(photos))
    for n in names:
        Image.fromarray(colour_rule(read_rgb(osp.join(photos, n)))).save(
            labels / (osp.splitext(n)[0] + '.png'))
    out = tmp_path / 'banks'
    meta = build_banks(photos, str(out), scales='4:4,8:5,16:6', progress=False,
                       segmenter=dict(type='labelmap', label_dir=str(labels)),
                       logger=lambda *a: None)
    assert meta['images'] == len(names) and not meta['skipped']
    # Every class of the rule is present in the photos (sea and sky, forest) and has banks.
    for s in ('4x4s4', '8x8s5', '16x16s6'):
        assert sorted(meta['banks'][s]) == ['0', '1', '2']
    # The 4:4 bank sizes follow from the label maps: count patches with >= 20 % of a class.
    expect = 0
    for n in names:
        lab = torch.from_numpy(colour_rule(read_rgb(osp.join(photos, n))).astype(np.int64))
        expect += int((class_coverage(lab[None], Scale(4, 4), [2])[0, 0] >= 0.2).sum())
    assert meta['banks']['4x4s4']['2']['rows'] == expect

    banks = PatchBanks(str(out))
    painting = small(shared('images', 'paintings', 'starry_night.jpg'))
    mask = torch.from_numpy(colour_rule(painting).astype(np.int64))[None]
    x = image_to_tensor(painting)[None].requires_grad_(True)
    for mode in ('knn', 'union'):
        loss = MultiScaleContextualLoss(banks, k=5, neighbour_set=mode, loss_weight=1.0)(x, mask)
        assert torch.isfinite(loss) and loss.item() > 0
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # The neighbours the loss uses are the exact 5 nearest (cosine after centring) of the bank.
    s = Scale(8, 5)
    gen = extract_patches(x.detach(), s)[0]
    sel = class_coverage(mask, s, [1])[0, 0] >= 0.5
    bank = banks.get(s, 1)
    ids, cos = bank.search(gen[sel].numpy(), 5)
    info = meta['banks'][s.name]['1']
    rows = np.fromfile(out / info['bin'], dtype='<f4').reshape(-1, s.dim())
    np.testing.assert_allclose(bank.mean, rows.mean(0, dtype=np.float64), atol=1e-5)
    mu = bank.mean
    q = gen[sel].numpy() - mu
    r = rows - mu
    full = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (r / np.linalg.norm(r, axis=1,
                                                                             keepdims=True)).T
    np.testing.assert_allclose(cos, -np.sort(-full, 1)[:, :5], atol=1e-4)   # float32 sums
