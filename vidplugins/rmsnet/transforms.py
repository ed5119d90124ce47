"""RMS-Net data transforms: the masking function M(p, q) (Eq. 4.4) and input packing."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample


def mask_event_context(frames: np.ndarray, event_index: int, background: np.ndarray,
                       side: str = 'before') -> np.ndarray:
    """Replace the frames on one side of an event with background frames (Eq. 4.4).

    ``side='before'`` gives ``(z_1, ..., z_k, x_k+1, ..., x_T)`` in 1-based terms: every frame
    before the event (0-based indices ``0 .. k-1`` for event index k) comes from consecutive frames
    of a background window. ``side='after'`` is the control of Table 4.5: frames ``k+1 .. T-1``.

    Args:
        frames: (T, ...) the window. event_index: k, the event's 0-based index in it.
        background: (T, ...) a background window; its frames at the same indices are used.
    Returns:
        a new (T, ...) array.
    """
    out = np.array(frames, copy=True)
    if side == 'before':
        out[:event_index] = background[:event_index]
    elif side == 'after':
        out[event_index + 1:] = background[event_index + 1:]
    else:
        raise ValueError(f"side must be 'before' or 'after', got {side!r}")
    return out


@TRANSFORMS.register_module()
class MaskEventContext(BaseTransform):
    """Masking function M(p, q) of Eq. 4.4, for training windows only.

    A foreground window whose event lies at relative offset ``r <= q`` is, with probability
    ``p``, given background frames before the event (``side='before'``, the method) or after it
    (``side='after'``, the control experiment of Table 4.5, same condition on r). Background
    windows are never changed; do not put this transform in a test pipeline.

    Needs ``inputs`` (T, ...), ``label``, ``num_classes``, ``offset``, ``start``, ``event_frame``
    and ``background_source`` (a callable ``rng -> (T, ...)`` given by the dataset).

    Args:
        p: masking probability (1/3). q: largest relative offset that may be masked (0.5).
        side: ``'before'`` or ``'after'``.
        seed: optional seed for a private generator (default: NumPy's global RNG, which mmengine
            seeds per worker).
    """

    def __init__(self, p: float = 1 / 3, q: float = 0.5, side: str = 'before',
                 seed: Optional[int] = None):
        if not 0 <= p <= 1 or not 0 <= q <= 1:
            raise ValueError(f'p and q must be in [0, 1], got p={p}, q={q}')
        if side not in ('before', 'after'):
            raise ValueError(f"side must be 'before' or 'after', got {side!r}")
        self.p, self.q, self.side = p, q, side
        self.rng = np.random.default_rng(seed) if seed is not None else None

    def _rng(self) -> np.random.Generator:
        return self.rng if self.rng is not None else np.random.default_rng(
            np.random.randint(0, 2**31 - 1))

    def transform(self, results: dict) -> dict:
        results['masked'] = False
        if results['label'] >= results['num_classes']:          # background: never masked
            return results
        if results['offset'] > self.q:
            return results
        rng = self._rng()
        if rng.random() >= self.p:
            return results
        k = int(results['event_frame'] - results['start'])
        background = results['background_source'](rng)
        results['inputs'] = mask_event_context(results['inputs'], k, background, self.side)
        results['masked'] = True
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(p={self.p:.4g}, q={self.q}, side={self.side!r})'


@TRANSFORMS.register_module()
class PackSpottingInputs(BaseTransform):
    """Pack a window or a half into ``dict(inputs=Tensor, data_samples=ActionDataSample)``.

    Training windows get ``gt_label`` (class, C = background) and ``gt_offset``; halves get
    ``window_starts`` / ``segment_start`` for sliding-window inference. Game, half and file
    names ride along as metainfo.
    """

    META_KEYS = ('game', 'half', 'start', 'feature_path', 'label_path', 'length', 'masked')

    def transform(self, results: dict) -> dict:
        inputs = torch.from_numpy(np.ascontiguousarray(results['inputs']))
        sample = ActionDataSample()
        if 'label' in results:
            sample.set_gt_label(int(results['label']))
            sample.gt_offset = float(results['offset'])
        if 'window_starts' in results:
            sample.window_starts = list(results['window_starts'])
        sample.set_metainfo({k: results[k] for k in self.META_KEYS if k in results})
        sample.set_metainfo(dict(segment_start=int(results.get('segment_start', 0))))
        return dict(inputs=inputs, data_samples=sample)
