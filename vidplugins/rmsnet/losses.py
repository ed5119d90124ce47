"""RMS-Net losses (thesis Sec. 4.1.1, Eq. 4.1-4.3) as pure functions."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def relative_offset(event_frame, window_start, window_len: int):
    """Normalised offset of an event inside its window: ``r = (t - s) / T`` (Sec. 4.1.1)."""
    return (event_frame - window_start) / window_len


def classification_loss(cls_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 4.1: cross-entropy over C + 1 classes (background included).

    Args:
        cls_logits: (B, C + 1).
        labels: (B,) class indices; background is index C.
    Returns:
        (B,) per-window loss.
    """
    return F.cross_entropy(cls_logits, labels, reduction='none')


def regression_loss(offset_logits: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Eq. 4.2: ``(sigmoid(o) - r)^2`` per window.

    Args:
        offset_logits: (B,) raw regression outputs o.
        offsets: (B,) targets r in [0, 1).
    """
    return (torch.sigmoid(offset_logits) - offsets) ** 2


def spotting_loss(cls_logits: torch.Tensor, offset_logits: torch.Tensor, labels: torch.Tensor,
                  offsets: torch.Tensor, foreground: torch.Tensor,
                  regression_weight: float = 10.0) -> dict:
    """Eq. 4.3: ``L = L_cls + lambda * L_regr`` on foreground windows, ``L_cls`` on background.

    Both terms are averaged over the whole batch (background windows contribute 0 to the
    regression term), so lambda keeps the meaning it has per window in Eq. 4.3.

    Args:
        cls_logits: (B, C + 1); offset_logits: (B,); labels: (B,) long; offsets: (B,) float;
        foreground: (B,) bool, True for windows that contain an event.
    Returns:
        dict with ``loss_cls`` and ``loss_reg`` (scalars, already weighted).
    """
    loss_cls = classification_loss(cls_logits, labels).mean()
    fg = foreground.to(offset_logits.dtype)
    loss_reg = (regression_loss(offset_logits, offsets) * fg).sum() / max(len(fg), 1)
    return dict(loss_cls=loss_cls, loss_reg=regression_weight * loss_reg)
