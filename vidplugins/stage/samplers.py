"""Blocks of consecutive keyframes for STAGE's temporal graph (thesis Sec. 3.1.3 and 3.2.2).

A batch is b consecutive keyframes of a video (b = 6), so that the graph can link each clip to the
previous and next one. As the authors' code does, keyframes sorted by (video, timestamp) are cut
into blocks of b and the blocks are shuffled every epoch; a block may straddle two videos, whose
clips are never linked (the packed batch carries ``clip_video``).

Both samplers order the dataset's items by the ``video_id`` and ``timestamp`` of their data info
(:func:`keyframe_order`), so they also serve mmaction2's ``AVADataset`` (csv order) in the
end-to-end configs. :class:`KeyframeBlockSampler` is for training (shuffled blocks, padded like
mmengine's ``DefaultSampler`` in distributed training); :class:`KeyframeBlockTestSampler` is for
validation / test: every keyframe exactly once, in temporal order, so STAGE's temporal links are
used at test time too.
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS


def keyframe_blocks(num_keyframes: int, block_size: int,
                    order: Optional[np.ndarray] = None) -> List[np.ndarray]:
    """Indices 0..n-1 (or ``order``, a permutation of them) cut into consecutive blocks of
    ``block_size`` (the last may be shorter)."""
    if block_size < 1:
        raise ValueError(f'block_size must be >= 1, got {block_size}')
    idx = np.arange(num_keyframes) if order is None else np.asarray(order)
    return [idx[i:i + block_size] for i in range(0, num_keyframes, block_size)]


def keyframe_keys(dataset) -> Optional[List[Tuple[str, int]]]:
    """``(video_id, timestamp)`` of every item's ``get_data_info(i)``, or None for a dataset
    without ``get_data_info`` (a plain sequence, taken as sorted). A data info without
    ``video_id`` / ``timestamp`` raises ``KeyError`` naming the index."""
    if not hasattr(dataset, 'get_data_info'):
        return None
    keys = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'video_id' not in info or 'timestamp' not in info:
            raise KeyError(f'{type(dataset).__name__} item {i}: data info needs video_id and '
                           f'timestamp to order keyframes, has {sorted(info)}')
        keys.append((str(info['video_id']), int(info['timestamp'])))
    return keys


def keyframe_order(dataset, keys: Optional[List[Tuple[str, int]]] = None) -> np.ndarray:
    """Indices of ``dataset`` sorted by (``video_id``, ``timestamp``) (see :func:`keyframe_keys`;
    ``keys``: those already read)."""
    keys = keyframe_keys(dataset) if keys is None else keys
    if keys is None:
        return np.arange(len(dataset))
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


@DATA_SAMPLERS.register_module()
class KeyframeBlockSampler(Sampler):
    """Yields the dataset's indices block by block; blocks shuffled every epoch.

    The dataloader's ``batch_size`` must equal ``block_size``: then every batch is one block.
    The shorter last block (``n % b`` keyframes) is always yielded last, so it cannot shift the
    following batches off the block boundaries.

    Block borders move every epoch (``shift_borders=True``, default): the sorted keyframes
    are rotated by an offset drawn in [0, b) from the seed and the epoch before they are cut,
    so pairs of consecutive keyframes split by a border in one epoch are linked in others (the
    authors' loader; the thesis only says "batches of 6 consecutive keyframes"). The block that
    wraps around holds the end of the last video and the start of the first: different videos,
    never linked. ``shift_borders=False`` cuts the blocks once, at 0, b, 2b, ...

    Distributed: every rank shuffles with the shared seed and takes every ``world_size``-th full
    block; ranks short of blocks repeat their first ones (as mmengine's DefaultSampler pads).

    Args:
        dataset: items with ``video_id`` / ``timestamp`` in their data info (ordered by
            :func:`keyframe_order`; ``AVAFeatureDataset`` is already sorted).
        block_size: b (6, Sec. 3.2.2).
        shuffle: shuffle the blocks (training) or keep the temporal order (test).
        seed: shuffling seed (None: a random one shared by the ranks).
        shift_borders: move the block borders every epoch (see above; with ``shuffle`` only).
    """

    def __init__(self, dataset, block_size: int = 6, shuffle: bool = True,
                 seed: Optional[int] = None, shift_borders: bool = True):
        self.dataset = dataset
        self.block_size = int(block_size)
        self.shuffle = shuffle
        self.shift_borders = shift_borders
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        self.order = keyframe_order(dataset)
        self.full, self.tail = self._cut(0)
        per_rank = -(-len(self.full) // self.world_size) if self.full else 0
        self.full_per_rank = per_rank
        mine_tail = self.tail and (len(self.full) % self.world_size == self.rank
                                   or self.world_size == 1)
        self.num_samples = per_rank * self.block_size + (len(self.tail[0]) if mine_tail else 0)
        self._mine_tail = bool(mine_tail)

    def border_offset(self, epoch: int) -> int:
        """Where ``epoch``'s first block starts in the sorted keyframes (0 when fixed)."""
        if not (self.shift_borders and self.shuffle) or len(self.order) <= self.block_size:
            return 0
        return int(np.random.default_rng([self.seed, epoch, 1]).integers(self.block_size))

    def _cut(self, epoch: int) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Full blocks and the shorter tail block of ``epoch`` (borders at its offset)."""
        order = np.roll(self.order, -self.border_offset(epoch))
        blocks = keyframe_blocks(len(order), self.block_size, order)
        return ([b for b in blocks if len(b) == self.block_size],
                [b for b in blocks if len(b) < self.block_size])

    def epoch_blocks(self, epoch: int) -> List[np.ndarray]:
        """This rank's blocks for ``epoch``, in the order they are yielded."""
        full, tail = self._cut(epoch)
        order = np.arange(len(full))
        if self.shuffle:
            order = np.random.default_rng(self.seed + epoch).permutation(order)
        mine = [full[i] for i in order[self.rank::self.world_size]]
        while len(mine) < self.full_per_rank:  # pad like DefaultSampler
            mine.append(mine[len(mine) % max(1, len(mine))] if mine else full[0])
        if self._mine_tail:
            mine.append(tail[0])
        return mine

    def __iter__(self) -> Iterator[int]:
        blocks = self.epoch_blocks(self.epoch)
        return iter(np.concatenate(blocks).tolist() if blocks else [])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def video_blocks(order: np.ndarray, videos: Sequence[str], block_size: int) -> List[np.ndarray]:
    """Sorted indices ``order`` cut into blocks of at most ``block_size`` keyframes of one video.

    ``videos[i]`` is the video of item i; each video's keyframes are cut from its first one, so
    only a video's last block may be shorter.
    """
    if block_size < 1:
        raise ValueError(f'block_size must be >= 1, got {block_size}')
    blocks, run = [], []
    for i in order:
        if run and (len(run) == block_size or videos[i] != videos[run[0]]):
            blocks.append(np.asarray(run))
            run = []
        run.append(int(i))
    if run:
        blocks.append(np.asarray(run))
    return blocks


@DATA_SAMPLERS.register_module()
class KeyframeBlockTestSampler(Sampler):
    """Validation / test: every keyframe exactly once, in (video, timestamp) order, by blocks.

    Every batch is a block of consecutive keyframes, so STAGE links each clip to its neighbours
    (same video, within the temporal radius) at test time as in training (mmaction2's AVA
    pipeline tests one keyframe per batch, where these links are never used). Two ways to batch:

    * ``per_video=False``: blocks of exactly b keyframes of the sorted list (the last shorter),
      which may hold the end of a video and the start of the next (never linked:
      ``clip_video``); use with ``batch_size=b`` (feature datasets).
    * ``per_video=True``: blocks of at most b keyframes of one video; use with
      ``batch_sampler=dict(type='KeyframeBlockBatchSampler')``, which makes each block a batch
      (the end-to-end configs: keyframes of one video have the same frame size, so no padding
      of the batch changes the backbone's features).

    Distributed: the blocks are split into ``world_size`` contiguous runs, one per rank
    (rank r: blocks ``[r * B // W, (r + 1) * B // W)``), without padding, so the ranks together
    hold every keyframe exactly once. mmengine's ``collect_results`` (``zip_longest`` over the
    ranks' results, ``None`` dropped, then the first ``len(dataset)``) keeps every prediction
    once; per-keyframe metrics (``AVAMetric``, ``STAGEAVAMetric``) do not depend on the order.

    Args:
        dataset: items with ``video_id`` / ``timestamp`` in their data info.
        block_size: b (equal to the dataloader's ``batch_size``).
        per_video: cut blocks at video boundaries.
        seed: unused (the runner passes one to every sampler).
    """

    def __init__(self, dataset, block_size: int = 6, per_video: bool = False,
                 seed: Optional[int] = None):
        self.dataset = dataset
        self.block_size = int(block_size)
        self.per_video = per_video
        self.rank, self.world_size = get_dist_info()
        keys = keyframe_keys(dataset)
        order = keyframe_order(dataset, keys)
        if per_video:
            if keys is None:
                raise TypeError('per_video=True needs a dataset with get_data_info (video_id)')
            blocks = video_blocks(order, [video for video, _ in keys], self.block_size)
        else:
            blocks = keyframe_blocks(len(dataset), self.block_size, order)
        lo = self.rank * len(blocks) // self.world_size
        hi = (self.rank + 1) * len(blocks) // self.world_size
        self.blocks = blocks[lo:hi]
        self.indices = np.concatenate(self.blocks).tolist() if self.blocks else []

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """Nothing to reshuffle (kept for the runner's interface)."""


@DATA_SAMPLERS.register_module()
class KeyframeBlockBatchSampler(Sampler):
    """Batches = the blocks of a :class:`KeyframeBlockTestSampler` (one block, one batch).

    Built by mmengine's runner from ``batch_sampler=dict(type='KeyframeBlockBatchSampler')`` with
    the dataloader's ``sampler`` and ``batch_size`` (which must equal the sampler's
    ``block_size``).
    """

    def __init__(self, sampler: KeyframeBlockTestSampler, batch_size: int,
                 drop_last: bool = False):
        if not isinstance(sampler, KeyframeBlockTestSampler):
            raise TypeError(f'KeyframeBlockBatchSampler needs a KeyframeBlockTestSampler, got '
                            f'{type(sampler).__name__}')
        if int(batch_size) != sampler.block_size:
            raise ValueError(f'batch_size={batch_size} != the sampler\'s block_size='
                             f'{sampler.block_size}')
        if drop_last:
            raise ValueError('drop_last=True would leave keyframes unpredicted')
        self.sampler = sampler
        self.batch_size = int(batch_size)

    def __iter__(self) -> Iterator[List[int]]:
        return (b.tolist() for b in self.sampler.blocks)

    def __len__(self) -> int:
        return len(self.sampler.blocks)
