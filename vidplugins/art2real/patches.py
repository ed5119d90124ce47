"""Sliding-window patches and their class coverage (thesis App. A.1, "Patch memory banks").

One layout everywhere: a patch of a ``(3, H, W)`` image is the row ``unfold(img)[:, l]``, i.e. the
``(C, size, size)`` block flattened channel first, with values in ``[-1, 1]`` (the authors map
``[0, 1]`` to ``[-1, 1]``; mmagic's generators output that range). Banks and generated images
are cut by the same function, so a bank row and a generated patch are comparable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['Scale', 'parse_scales', 'extract_patches', 'class_coverage', 'image_to_tensor']


@dataclass(frozen=True)
class Scale:
    """A patch size and its stride (``4:4`` is 4x4 patches every 4 pixels)."""
    size: int
    stride: int

    @property
    def name(self) -> str:
        return f'{self.size}x{self.size}s{self.stride}'

    def dim(self, channels: int = 3) -> int:
        return channels * self.size * self.size


#: Thesis App. A.1.2: 4x4 stride 4, 8x8 stride 5, 16x16 stride 6.
THESIS_SCALES = (Scale(4, 4), Scale(8, 5), Scale(16, 6))


def parse_scales(text) -> tuple:
    """``'4:4,8:5,16:6'`` (or a list of ``(size, stride)``) -> tuple of :class:`Scale`."""
    if isinstance(text, str):
        items = []
        for part in text.split(','):
            try:
                size, stride = (int(v) for v in part.split(':'))
            except ValueError:
                raise ValueError(f'scale {part!r}: expected SIZE:STRIDE, e.g. 16:6') from None
            items.append((size, stride))
    else:
        items = [tuple(s) if not isinstance(s, Scale) else (s.size, s.stride) for s in text]
    scales = tuple(Scale(int(a), int(b)) for a, b in items)
    for s in scales:
        if s.size < 1 or s.stride < 1:
            raise ValueError(f'scale {s.size}:{s.stride}: size and stride must be >= 1')
    return scales


def image_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` RGB -> float ``(3, H, W)`` in ``[-1, 1]``."""
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float() / 127.5 - 1.0


def extract_patches(img: torch.Tensor, scale: Scale) -> torch.Tensor:
    """Patches of ``img`` ``(B, C, H, W)`` -> ``(B, L, C * size * size)``, L windows in raster order.

    Differentiable (``F.unfold``), so the contextual loss back-propagates into the generator.
    """
    return F.unfold(img, kernel_size=scale.size, stride=scale.stride).transpose(1, 2)


def class_coverage(labels: torch.Tensor, scale: Scale, classes) -> torch.Tensor:
    """Fraction of each patch's pixels that belong to each class.

    Args:
        labels: ``(B, H, W)`` integer label maps.
        classes: the class ids to measure (sequence of ints, length C).

    Returns:
        ``(B, C, L)`` float coverage in ``[0, 1]``, windows in the order of :func:`extract_patches`.
    """
    onehot = torch.stack([(labels == int(c)) for c in classes], 1).float()  # (B, C, H, W)
    cov = F.avg_pool2d(onehot, kernel_size=scale.size, stride=scale.stride)
    return cov.flatten(2)
