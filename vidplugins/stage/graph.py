"""The equations of STAGE (thesis Sec. 3.1) as small pure functions on tensors.

A batch holds the entities (actors and objects) of K clips, possibly of several videos, packed
without padding: node ``i`` belongs to clip ``node_clip[i]``; clip ``k`` has video index
``clip_video[k]`` and keyframe time ``clip_time[k]`` (seconds). The graph of the batch is one dense
``(N, N)`` matrix (Sec. 3.1.3) whose non-edges are excluded from the attention softmax.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def box_geometry(boxes: torch.Tensor) -> torch.Tensor:
    """Height, width, centre x, centre y of boxes (Sec. 3.2.2, appended to every node feature).

    Args:
        boxes: (N, 4) x1, y1, x2, y2 (normalised coordinates).
    Returns:
        (N, 4) ``h, w, x_c, y_c`` in this order (the authors' code).
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((y2 - y1, x2 - x1, (x1 + x2) / 2, (y1 + y2) / 2), dim=-1)


def box_proximity(centres: torch.Tensor) -> torch.Tensor:
    """Eq. 3.1: ``A_ij = exp(-|| c_i - c_j ||_2)`` between box centres.

    Args:
        centres: (N, 2) box centres (x_c, y_c).
    Returns:
        (N, N) proximities in (0, 1], 1 on the diagonal.
    """
    diff = centres[:, None, :] - centres[None, :, :]
    # sqrt of a sum of squares rather than cdist: exact zeros on the diagonal (no NaN gradient
    # at 0 because the clamp keeps the argument of sqrt positive).
    dist = diff.pow(2).sum(-1).clamp_min(1e-12).sqrt()
    dist = dist.masked_fill(torch.eye(len(centres), dtype=torch.bool, device=centres.device), 0.)
    return torch.exp(-dist)


def feature_proximity(h: torch.Tensor, min_distance: float = 1.0) -> torch.Tensor:
    """Eq. 3.11: ``A_ij = 1 / || h_i - h_j ||_2`` (ablation "w/ nodes Euclidean distance").

    The equation is infinite for ``i = j`` (and for identical nodes); the distance is clamped at
    ``min_distance`` (default 1), so that, like Eq. 3.1, ``A`` lies in (0, 1] with 1 on the
    diagonal. The thesis does not say how it treated the diagonal.

    Args:
        h: (..., N, d) node features (per head: the projected features of Eq. 3.2).
    Returns:
        (..., N, N)
    """
    diff = h[..., :, None, :] - h[..., None, :, :]
    dist = diff.pow(2).sum(-1).clamp_min(min_distance ** 2).sqrt()
    return 1.0 / dist


def clip_links(clip_video: torch.Tensor, clip_time: torch.Tensor,
               temporal_radius: int = 1) -> torch.Tensor:
    """Which clips are linked (Sec. 3.1.3, Fig. 3.3): same video and ``|t_k - t_l| <= radius``.

    The temporal receptive field of one layer is ``2 * radius + 1`` clips (3 in the thesis);
    ``radius = 0`` keeps only the clip itself ("w/o temporal connections", Table 3.8). Clips of
    different videos are never linked, whatever their times.

    Args:
        clip_video: (K,) video index of each clip.
        clip_time: (K,) keyframe time (s) of each clip.
    Returns:
        (K, K) bool, True on the diagonal.
    """
    if temporal_radius < 0:
        raise ValueError(f'temporal_radius must be >= 0, got {temporal_radius}')
    same_video = clip_video[:, None] == clip_video[None, :]
    close = (clip_time[:, None] - clip_time[None, :]).abs() <= temporal_radius
    eye = torch.eye(len(clip_video), dtype=torch.bool, device=clip_video.device)
    return (same_video & close) | eye


def edge_mask(node_clip: torch.Tensor, clip_video: torch.Tensor, clip_time: torch.Tensor,
              is_actor: torch.Tensor, temporal_radius: int = 1, actor_actor: bool = True,
              object_object: bool = True) -> torch.Tensor:
    """The edges of the batch graph (Sec. 3.1.3): the block structure of Fig. 3.3.

    Entities of linked clips (:func:`clip_links`) are connected, all pairs (fully connected within
    a clip, Sec. 3.1.1). ``actor_actor=False`` / ``object_object=False`` remove the edges between
    two actors / two objects, self-loops included (Table 3.8 "w/o actors-actors interactions":
    actors are updated from objects only; the layer's residual keeps their own feature).

    Args:
        node_clip: (N,) clip index of each node.
        clip_video, clip_time: (K,) as in :func:`clip_links`.
        is_actor: (N,) bool, True for actor nodes.
    Returns:
        (N, N) bool.
    """
    links = clip_links(clip_video, clip_time, temporal_radius)
    mask = links[node_clip][:, node_clip]
    if not actor_actor:
        mask = mask & ~(is_actor[:, None] & is_actor[None, :])
    if not object_object:
        mask = mask & ~(~is_actor[:, None] & ~is_actor[None, :])
    return mask


def graph_attention_logits(h: torch.Tensor, a: torch.Tensor,
                           negative_slope: float = 0.2) -> torch.Tensor:
    """Eq. 3.3: ``E_ij = LeakyReLU(a^T [h_i || h_j])`` for every pair, for every head.

    ``a^T [h_i || h_j] = a_1^T h_i + a_2^T h_j``: two (N, 1) products and a broadcast sum instead
    of the (N, N, 2 d_h) concatenation.

    Args:
        h: (H, N, d_h) projected node features of H heads.
        a: (H, 2, d_h) attention vectors (``a_1``: row node i, ``a_2``: column node j).
    Returns:
        (H, N, N)
    """
    src = torch.matmul(h, a[:, 0, :, None])          # (H, N, 1)
    dst = torch.matmul(h, a[:, 1, :, None])          # (H, N, 1)
    return F.leaky_relu(src + dst.transpose(1, 2), negative_slope)


def dot_product_logits(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Eq. 3.10 (ablation "w/ Transformer attention"): ``E = Q K^T / sqrt(d_k)``.

    The value projection V of Eq. 3.10 takes the place of ``h`` in Eq. 3.7.

    Args:
        q, k: (H, N, d_k)
    Returns:
        (H, N, N)
    """
    return torch.matmul(q, k.transpose(1, 2)) / q.shape[-1] ** 0.5


def masked_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 3.6, a row softmax over the edges only.

    Non-edges (``mask`` False) do not take part (the authors' code sets them to -9e15); a row
    without any edge gives all-zero weights (its node then receives nothing, Eq. 3.7 gives
    ``ELU(0) = 0``), never a uniform average over unrelated nodes.

    Args:
        logits: (..., N, M)
        mask: (N, M) or broadcastable bool.
    Returns:
        (..., N, M) rows summing to 1 (or 0 for rows without edges).
    """
    # The lowest finite value rather than -inf: an empty row softmaxes to uniform (no NaN, no
    # data-dependent branch) and the final product with the mask zeroes it.
    logits = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    return torch.softmax(logits, dim=-1) * mask


def spatial_attention(logits: torch.Tensor, adjacency: Optional[torch.Tensor],
                      mask: torch.Tensor) -> torch.Tensor:
    """Eq. 3.5 / 3.9 then Eq. 3.6: ``W = softmax_rows(A (.) E)`` over the edges.

    Args:
        logits: (H, N, N) ``E``.
        adjacency: (N, N) or (H, N, N) ``A``; None for an adjacency of ones on the edges
            (ablation "w/o boxes proximity").
        mask: (N, N) bool edges.
    Returns:
        (H, N, N) attention weights.
    """
    if adjacency is not None:
        logits = adjacency * logits
    return masked_softmax(logits, mask)


def aggregate(weights: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Eq. 3.7: ``h'_i = ELU(sum_j W_ij h_j)``.

    Args:
        weights: (H, N, N)
        h: (H, N, d_h)
    Returns:
        (H, N, d_h)
    """
    return F.elu(torch.matmul(weights, h))
