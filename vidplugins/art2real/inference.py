"""Translate images with a trained (Art2Real) CycleGAN: arrays in, arrays out."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ['translate_rgb', 'to_model_tensor', 'from_model_tensor']


def to_model_tensor(rgb: np.ndarray, channel_order: str = 'bgr') -> torch.Tensor:
    """uint8 ``(H, W, 3)`` RGB -> ``(1, 3, H, W)`` in [-1, 1] in the model's channel order."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 127.5 - 1
    return (x.flip(0) if channel_order == 'bgr' else x)[None]


def from_model_tensor(x: torch.Tensor, channel_order: str = 'bgr') -> np.ndarray:
    """``(3, H, W)`` in [-1, 1] in the model's channel order -> uint8 ``(H, W, 3)`` RGB."""
    x = x.detach().clamp(-1, 1)
    if channel_order == 'bgr':
        x = x.flip(0)
    return ((x + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def translate_rgb(model, rgb: np.ndarray, target_domain: str | None = None) -> np.ndarray:
    """Translate one RGB image to ``target_domain`` (default the photo domain).

    The generators downsample twice by 2: sides that are not multiples of 4 are padded by
    reflection and the output cropped back.
    """
    target_domain = target_domain or model.photo_domain
    generator = model.get_module(model.generators)[target_domain]
    device = next(generator.parameters()).device
    order = getattr(model, 'channel_order', 'bgr')
    h, w = rgb.shape[:2]
    x = to_model_tensor(rgb, order).to(device)
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode='reflect')
    was_training = generator.training
    generator.eval()
    try:
        y = generator(x)[0, :, :h, :w]
    finally:
        generator.train(was_training)
    return from_model_tensor(y, order)
