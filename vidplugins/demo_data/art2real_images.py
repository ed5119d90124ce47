"""Generated "paintings" and "photos" of the same scenes for the Art2Real demo (thesis App. A.1).

Every scene is a landscape layout of four classes: 1 sky (above a wavy horizon), 2 vegetation
(blobs around the horizon), 3 ground (below it) and 0 background (grey rocks on the ground).

* paintings: flat colour per region, painted over with short brush-like strokes of nearby colours;
* photos: the same classes with photo-like texture (sky gradient with soft clouds, leafy
  high-frequency vegetation, streaked grainy ground, noisy rocks) and photo colours.

Layout under ``root`` (mmagic's ``UnpairedImageDataset`` reads ``trainA``/``trainB``; the label
maps sit in their own folders so that the dataset does not take them for images)::

    trainA/ testA/      paintings  (png)          masksA/ test_masksA/   their label maps
    trainB/ testB/      photos     (png)          labelsB/ test_labelsB/ their label maps

    python -m vidplugins.demo_data.art2real_images data/art2real_demo
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import numpy as np

__all__ = ['generate_art2real', 'CLASSES', 'PHOTO_COLORS', 'PAINT_COLORS']

CLASSES = {0: 'rock (background)', 1: 'sky', 2: 'vegetation', 3: 'ground'}
PHOTO_COLORS = {0: (120, 120, 125), 1: (110, 160, 225), 2: (50, 110, 40), 3: (140, 100, 60)}
PAINT_COLORS = {0: (170, 150, 190), 1: (60, 200, 200), 2: (150, 170, 40), 3: (220, 170, 80)}


def _layout(rng, size):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    horizon = size * rng.uniform(0.35, 0.6) + size * 0.06 * np.sin(
        xx[0] / size * rng.uniform(3, 8) + rng.uniform(0, 6.3))
    labels = np.where(yy < horizon[None, :], 1, 3).astype(np.uint8)
    for _ in range(rng.integers(1, 4)):   # vegetation blobs around the horizon
        cx, cy = rng.uniform(0, size), rng.uniform(0.3, 0.7) * size
        rx, ry = rng.uniform(0.1, 0.25) * size, rng.uniform(0.08, 0.2) * size
        labels[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1] = 2
    for _ in range(rng.integers(0, 3)):   # rocks on the ground
        cx, cy = rng.uniform(0, size), rng.uniform(0.75, 0.95) * size
        r = rng.uniform(0.05, 0.1) * size
        labels[(((xx - cx) / r) ** 2 + ((yy - cy) / (0.7 * r)) ** 2 <= 1) & (labels == 3)] = 0
    return labels


def _blur(x, k):
    import cv2
    return cv2.GaussianBlur(x, (0, 0), k)


def _photo(rng, labels):
    size = labels.shape[0]
    img = np.zeros((size, size, 3), np.float32)
    yy = np.mgrid[0:size, 0:size][0].astype(np.float32) / size
    noise = rng.standard_normal((size, size)).astype(np.float32)
    clouds = _blur(rng.standard_normal((size, size)).astype(np.float32), size / 10)
    clouds = clouds / (np.abs(clouds).max() + 1e-6)
    streaks = _streaks(rng, size)
    tex = {
        1: (np.array(PHOTO_COLORS[1])[None, None] * (1.1 - 0.35 * yy[..., None])
            + 60 * np.clip(clouds, 0, None)[..., None]),
        2: (np.array(PHOTO_COLORS[2])[None, None] * (1 + 0.45 * noise[..., None])
            + 25 * (noise > 1.2)[..., None]),
        3: (np.array(PHOTO_COLORS[3])[None, None] * (1 + 0.25 * streaks[..., None])
            + 12 * noise[..., None]),
        0: np.array(PHOTO_COLORS[0])[None, None] * (1 + 0.2 * _blur(noise, 1.0)[..., None] * 2),
    }
    for c, t in tex.items():
        img[labels == c] = np.broadcast_to(t, img.shape)[labels == c]
    return np.clip(img, 0, 255).astype(np.uint8)


def _streaks(rng, size):
    import cv2
    n = rng.standard_normal((size, size)).astype(np.float32)
    s = cv2.blur(n, (9, 1))
    return s / (np.abs(s).max() + 1e-6)


def _painting(rng, labels):
    import cv2
    size = labels.shape[0]
    strokes = np.zeros((size, size, 3), np.float32)
    for c, col in PAINT_COLORS.items():
        strokes[labels == c] = col
    for _ in range(size * size // 12):   # short brush strokes inside each region
        y, x = rng.integers(0, size, 2)
        c = int(labels[y, x])
        ang = rng.uniform(0, np.pi)
        ln = rng.uniform(2, 6)
        p2 = (int(x + ln * np.cos(ang)), int(y + ln * np.sin(ang)))
        col = np.clip(np.array(PAINT_COLORS[c]) + rng.normal(0, 18, 3), 0, 255)
        cv2.line(strokes, (int(x), int(y)), p2, tuple(float(v) for v in col),
                 int(rng.integers(1, 3)))
    return np.clip(strokes, 0, 255).astype(np.uint8)


def _save(path, arr):
    from PIL import Image
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path)
    os.chmod(path, 0o644)


def generate_art2real(root: str, n_paintings: int = 48, n_photos: int = 48, n_test: int = 16,
                      size: int = 64, seed: int = 0) -> dict:
    """Write the demo set under ``root``; returns the folders. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    folders = dict(trainA='masksA', testA='test_masksA', trainB='labelsB', testB='test_labelsB')
    counts = dict(trainA=n_paintings, testA=n_test, trainB=n_photos, testB=n_test)
    for split, mask_dir in folders.items():
        for i in range(counts[split]):
            labels = _layout(rng, size)
            img = _painting(rng, labels) if split.endswith('A') else _photo(rng, labels)
            name = f'{split}_{i:04d}.png'
            _save(osp.join(root, split, name), img)
            _save(osp.join(root, mask_dir, name), labels)
    return {k: osp.join(root, k) for k in list(folders) + list(folders.values())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root')
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    print(generate_art2real(args.root, size=args.size, seed=args.seed))


if __name__ == '__main__':
    main()
