"""Generated clips for the PAS proof on CPU (thesis Ch. 6): real mp4 files in mmaction2's
video-list layout where the class is visible in every frame while fine spatial detail carries it,
so time is redundant (eps_t / eps_f lose nothing) and spatial resolution is not (eps_s blurs it).

Each clip shows, on a noisy background of a random tint, a patch (28 of 32 px) at a random place
(drifting a pixel every 4 frames) filled with a pattern of period 2 px whose *orientation* is the
class:
horizontal lines, vertical lines, a checkerboard, or diagonal lines. All four have the same
mean, so a 1 / 1.4 antialiased resize turns every patch into the same flat grey. Every frame
carries the full class evidence.

Layout under ``root``::

    videos/<split>/<cls>_<i>.mp4
    <split>_list.txt            "<cls>_<i>.mp4 <label>" (data_prefix = videos/<split>)
    generation.json
"""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Dict

import numpy as np

from ..utils.io import atomic_write, dump_json_atomic
from .privacy_videos import write_video

__all__ = ['pattern', 'render_clip', 'generate_pas_videos', 'NUM_CLASSES']

NUM_CLASSES = 4


def pattern(cls: int, size: int) -> np.ndarray:
    """(size, size) in {0, 1}, mean 1/2, period 2 px: 0 horizontal lines, 1 vertical lines,
    2 checkerboard, 3 diagonal lines (period 2 along rows and columns)."""
    y, x = np.mgrid[:size, :size]
    if cls == 0:
        p = y % 2
    elif cls == 1:
        p = x % 2
    elif cls == 2:
        p = (x + y) % 2
    elif cls == 3:
        p = ((x + y) // 2) % 2
    else:
        raise ValueError(f'class {cls} out of range 0..{NUM_CLASSES - 1}')
    return p.astype(np.float32)


def render_clip(rng: np.random.Generator, cls: int, size: int = 32, num_frames: int = 16,
                patch: int = 28, noise: float = 10.0, contrast: float = 90.0) -> np.ndarray:
    """(num_frames, size, size, 3) uint8 RGB frames of one clip of class ``cls``."""
    tint = rng.uniform(60, 190, size=3)
    y0, x0 = rng.integers(0, size - patch, size=2)
    dy, dx = rng.choice([-1, 0, 1], size=2)
    p = pattern(cls, patch + 2)
    frames = []
    for t in range(num_frames):
        img = np.broadcast_to(tint, (size, size, 3)) + rng.normal(0, noise, (size, size, 1))
        y = int(np.clip(y0 + dy * (t // 4), 0, size - patch))
        x = int(np.clip(x0 + dx * (t // 4), 0, size - patch))
        # the pattern's phase follows the patch: the texture moves with it
        img[y:y + patch, x:x + patch] = 128 + contrast * (p[:patch, :patch, None] - 0.5) + \
            rng.normal(0, noise / 2, (patch, patch, 1))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)


def generate_pas_videos(root: str, splits: Dict[str, int] = None, size: int = 32,
                        num_frames: int = 16, seed: int = 0, **render_kwargs) -> Dict[str, str]:
    """Write the clips and lists (``splits``: videos per class per split). Returns
    split -> list file."""
    splits = splits or {'train': 24, 'test': 12}
    rng = np.random.default_rng(seed)
    lists = {}
    for split, per_class in splits.items():
        lines = []
        for cls in range(NUM_CLASSES):
            for i in range(per_class):
                name = f'{cls}_{i}.mp4'
                write_video(osp.join(root, 'videos', split, name),
                            render_clip(rng, cls, size, num_frames, **render_kwargs), fps=16,
                            crf=4)
                lines.append(f'{name} {cls}')
        lists[split] = osp.join(root, f'{split}_list.txt')
        with atomic_write(lists[split]) as f:
            f.write('\n'.join(lines) + '\n')
    dump_json_atomic(dict(splits=splits, size=size, num_frames=num_frames, seed=seed,
                          render=render_kwargs), osp.join(root, 'generation.json'))
    return lists


def main():
    p = argparse.ArgumentParser(description='Generate the PAS demo clips')
    p.add_argument('root')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    generate_pas_videos(args.root, seed=args.seed)


if __name__ == '__main__':
    main()
