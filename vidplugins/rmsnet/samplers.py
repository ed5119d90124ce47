"""Per-epoch balanced window sampling for RMS-Net (Sec. 4.1.3 and the challenge variant, Sec. 4.3)."""
from __future__ import annotations

import math
from typing import Iterator, Optional, Sequence

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS


def challenge_class_counts(spots_per_class: Sequence[int], divide_above: int = 10000,
                           divisor: int = 5, multiply_below: int = 100,
                           multiplier: int = 10) -> np.ndarray:
    """Windows drawn per epoch for each class, SoccerNet-v2 challenge rule (Sec. 4.3).

    As many windows as the class has spots, divided by 5 above 10,000 spots, multiplied by 10
    below 100; background (returned last) gets the mean of the foreground counts.

    Args:
        spots_per_class: (C,) number of ground-truth spots per foreground class.
    Returns:
        (C + 1,) int counts, background last.
    """
    spots = np.asarray(spots_per_class, dtype=np.int64)
    counts = spots.copy()
    counts[spots > divide_above] = spots[spots > divide_above] // divisor
    counts[spots < multiply_below] = spots[spots < multiply_below] * multiplier
    background = int(round(spots.mean())) if len(spots) else 0
    return np.append(counts, background)


def draw(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices from ``pool``: without replacement when it is large enough, else with."""
    if n <= 0 or len(pool) == 0:
        return np.empty(0, dtype=np.int64)
    return rng.choice(pool, size=n, replace=n > len(pool))


@DATA_SAMPLERS.register_module()
class SpottingBalancedSampler(Sampler):
    """Draws a fresh balanced set of windows every epoch.

    ``mode='foreground'`` (Sec. 4.1.3): ``num_foreground`` foreground windows (n_F) and
    ``n_B = n_F * background_ratio`` background ones; ``background_ratio=None`` means 1 / C, so
    each class is about as frequent as background (SoccerNet-v1: 30,000 + 10,000).

    ``mode='per_class'`` (Sec. 4.3, SoccerNet-v2 challenge): per class as many windows as it has
    spots (``challenge_class_counts``: /5 above 10,000, x10 below 100), background the mean.
    Counted from the windows' spots: a spot yields T windows, so spots = windows / T.

    Works with distributed training like mmengine's DefaultSampler: every rank draws the same
    epoch set from the shared seed and takes its own stride of it.

    Args:
        dataset: a ``SoccerNetWindowDataset`` (needs ``foreground_indices``,
            ``background_indices``, ``labels``, ``classes``, ``window_size``).
        num_foreground: n_F; None = every foreground window once.
        background_ratio: n_B / n_F; None = 1 / C.
        mode: ``'foreground'`` or ``'per_class'``.
        shuffle: shuffle the drawn windows (always drawn at random; False only keeps the order).
        seed: base seed; epoch e uses ``seed + e``.
    """

    def __init__(self, dataset, num_foreground: Optional[int] = None,
                 background_ratio: Optional[float] = None, mode: str = 'foreground',
                 shuffle: bool = True, seed: Optional[int] = None):
        if mode not in ('foreground', 'per_class'):
            raise ValueError(f"mode must be 'foreground' or 'per_class', got {mode!r}")
        self.dataset = dataset
        self.mode = mode
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        C = len(dataset.classes)
        fg, bg = dataset.foreground_indices, dataset.background_indices
        if mode == 'foreground':
            n_f = len(fg) if num_foreground is None else int(num_foreground)
            ratio = 1.0 / C if background_ratio is None else background_ratio
            self.counts = None
            self.total = n_f + int(round(n_f * ratio))
            self.n_f = n_f
        else:
            labels = dataset.labels
            spots = np.bincount(labels[fg], minlength=C + 1)[:C] / dataset.window_size
            self.counts = challenge_class_counts(np.ceil(spots).astype(np.int64))
            self.total = int(self.counts.sum())
        self.num_samples = math.ceil((self.total - self.rank) / self.world_size)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """All ranks' indices for ``epoch`` (deterministic in seed and epoch)."""
        rng = np.random.default_rng(self.seed + epoch)
        ds, C = self.dataset, len(self.dataset.classes)
        if self.mode == 'foreground':
            parts = [draw(ds.foreground_indices, self.n_f, rng),
                     draw(ds.background_indices, self.total - self.n_f, rng)]
        else:
            parts = [draw(np.flatnonzero(ds.labels == c), int(n), rng)
                     for c, n in enumerate(self.counts[:C])]
            parts.append(draw(ds.background_indices, int(self.counts[C]), rng))
        idx = np.concatenate(parts)
        if self.shuffle:
            idx = rng.permutation(idx)
        return idx

    def __iter__(self) -> Iterator[int]:
        idx = self.epoch_indices(self.epoch)
        return iter(idx[self.rank:self.total:self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
