"""Blocks of consecutive keyframes for STAGE's temporal graph (thesis Sec. 3.1.3 and 3.2.2).

A batch is b consecutive keyframes of a video (b = 6), so that the graph can link each clip to the
previous and next one. As the authors' code does, keyframes sorted by (video, timestamp) are cut
into blocks of b and the blocks are shuffled every epoch; a block may straddle two videos, whose
clips are never linked (the packed batch carries ``clip_video``).
"""
from __future__ import annotations

from typing import Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS


def keyframe_blocks(num_keyframes: int, block_size: int) -> List[np.ndarray]:
    """Indices 0..n-1 cut into consecutive blocks of ``block_size`` (the last may be shorter)."""
    if block_size < 1:
        raise ValueError(f'block_size must be >= 1, got {block_size}')
    idx = np.arange(num_keyframes)
    return [idx[i:i + block_size] for i in range(0, num_keyframes, block_size)]


@DATA_SAMPLERS.register_module()
class KeyframeBlockSampler(Sampler):
    """Yields the dataset's indices block by block; blocks shuffled every epoch.

    The dataloader's ``batch_size`` must equal ``block_size``: then every batch is one block.
    The shorter last block (``n % b`` keyframes) is always yielded last, so it cannot shift the
    following batches off the block boundaries.

    Distributed: every rank shuffles with the shared seed and takes every ``world_size``-th full
    block; ranks short of blocks repeat their first ones (as mmengine's DefaultSampler pads).

    Args:
        dataset: items sorted by (video, timestamp) (``AVAFeatureDataset`` is).
        block_size: b (6, Sec. 3.2.2).
        shuffle: shuffle the blocks (training) or keep the temporal order (test).
        seed: shuffling seed (None: a random one shared by the ranks).
    """

    def __init__(self, dataset, block_size: int = 6, shuffle: bool = True,
                 seed: Optional[int] = None):
        self.dataset = dataset
        self.block_size = int(block_size)
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        blocks = keyframe_blocks(len(dataset), self.block_size)
        self.full = [b for b in blocks if len(b) == self.block_size]
        self.tail = [b for b in blocks if len(b) < self.block_size]
        per_rank = -(-len(self.full) // self.world_size) if self.full else 0
        self.full_per_rank = per_rank
        mine_tail = self.tail and (len(self.full) % self.world_size == self.rank
                                   or self.world_size == 1)
        self.num_samples = per_rank * self.block_size + (len(self.tail[0]) if mine_tail else 0)
        self._mine_tail = bool(mine_tail)

    def epoch_blocks(self, epoch: int) -> List[np.ndarray]:
        """This rank's blocks for ``epoch``, in the order they are yielded."""
        order = np.arange(len(self.full))
        if self.shuffle:
            order = np.random.default_rng(self.seed + epoch).permutation(order)
        mine = [self.full[i] for i in order[self.rank::self.world_size]]
        while len(mine) < self.full_per_rank:  # pad like DefaultSampler
            mine.append(mine[len(mine) % max(1, len(mine))] if mine else self.full[0])
        if self._mine_tail:
            mine.append(self.tail[0])
        return mine

    def __iter__(self) -> Iterator[int]:
        blocks = self.epoch_blocks(self.epoch)
        return iter(np.concatenate(blocks).tolist() if blocks else [])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
