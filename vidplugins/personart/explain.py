"""Explanation maps for retrieved faces (thesis Eq. A.24).

Integrated Gradients (captum) of the final score s(I^R, I^A) (Eq. A.21) w.r.t. the query pixels,
along the straight path from a black image, back-propagated through the identity and the attribute
branches. The frozen dlib backend has no pixel gradients: an occlusion map (score drop when a
window of the query is blacked out) replaces it, and is labelled ``'occlusion'``.
"""
from typing import Optional, Tuple

import numpy as np
import torch


def integrated_gradients(model, query: torch.Tensor, art_embeddings: torch.Tensor,
                         art_bits: Optional[torch.Tensor] = None, n_steps: int = 32,
                         lam: Optional[float] = None) -> torch.Tensor:
    """Eq. A.24 for K retrieved faces.

    Args:
        model: ``PersonArt`` with a differentiable phi.
        query: (3, H, W) RGB 0-255 query face; art_embeddings: (K, D); art_bits: (K, n).
    Returns:
        (K, 3, H, W) attributions (their sum over pixels ~ s(I^R) - s(black), completeness).
    """
    from captum.attr import IntegratedGradients
    k = art_embeddings.shape[0]
    x = query.float().unsqueeze(0).expand(k, -1, -1, -1).contiguous()

    def forward(inp, emb, bits):
        return model.score(inp, emb, bits, lam)

    ig = IntegratedGradients(forward)
    was_training = model.training
    model.eval()
    try:
        attr = ig.attribute(x, baselines=torch.zeros_like(x),
                            additional_forward_args=(art_embeddings, art_bits),
                            n_steps=n_steps, internal_batch_size=max(k, 1) * n_steps)
    finally:
        model.train(was_training)
    return attr.detach()


def occlusion_map(model, query: torch.Tensor, art_embeddings: torch.Tensor,
                  art_bits: Optional[torch.Tensor] = None, window: int = 0, stride: int = 0,
                  lam: Optional[float] = None) -> torch.Tensor:
    """Score drop when a window of the query is set to black (captum ``Occlusion``).

    Returns (K, 3, H, W) attributions (positive: the region raised the score).
    """
    from captum.attr import Occlusion
    k = art_embeddings.shape[0]
    _, h, w = query.shape
    window = window or max(8, min(h, w) // 6)
    stride = stride or max(4, window // 2)
    x = query.float().unsqueeze(0).expand(k, -1, -1, -1).contiguous()

    def forward(inp, emb, bits):
        with torch.no_grad():
            return model.score(inp, emb, bits, lam)

    occ = Occlusion(forward)
    attr = occ.attribute(x, sliding_window_shapes=(3, window, window),
                         strides=(3, stride, stride), baselines=0,
                         additional_forward_args=(art_embeddings, art_bits))
    return attr.detach()


def explain(model, query, art_embeddings, art_bits=None, **kwargs) -> Tuple[np.ndarray, str]:
    """(K, H, W) maps (channels summed) and the method name: ``'integrated_gradients'`` or,
    for a phi without gradients (dlib), ``'occlusion'``."""
    if model.differentiable:
        attr, method = integrated_gradients(model, query, art_embeddings, art_bits, **kwargs), \
            'integrated_gradients'
    else:
        attr, method = occlusion_map(model, query, art_embeddings, art_bits, **kwargs), 'occlusion'
    return attr.sum(1).cpu().numpy(), method


def heatmap_overlay(image: np.ndarray, attribution: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Colour the positive part of an (H, W) map over an (H, W, 3) uint8 RGB image."""
    import cv2
    pos = np.clip(attribution, 0, None)
    m = pos.max()
    norm = (pos / m * 255).astype(np.uint8) if m > 0 else np.zeros_like(pos, np.uint8)
    norm = cv2.GaussianBlur(norm, (0, 0), max(1.0, image.shape[0] / 64))
    color = cv2.cvtColor(cv2.applyColorMap(norm, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return (image * (1 - alpha) + color * alpha).astype(np.uint8)
