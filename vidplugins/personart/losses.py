"""PersonArt losses (thesis App. A.2.1)."""
from typing import Optional

import torch
import torch.nn.functional as F


def hardest_negative_hinge(f_r: torch.Tensor, f_a: torch.Tensor,
                           identities: Optional[torch.Tensor] = None,
                           margin: float = 0.1, reduction: str = 'mean') -> torch.Tensor:
    """Hinge triplet ranking loss with the hardest in-batch negative, both ways (Eq. A.19, VSE++).

    ``(f_r[i], f_a[i])`` is a matching real / artistic pair. For the real anchor ``i`` the negative
    is the most similar artistic face of another identity; for the artistic anchor ``i`` the most
    similar real face of another identity. Items of the same identity are never negatives (without
    ``identities`` only the diagonal is excluded). An anchor with no negative in the batch adds 0.

    Args:
        f_r: (B, D) real embeddings; f_a: (B, D) artistic embeddings; identities: (B,) ints.
        reduction: 'mean' over the batch (Adam makes the scale immaterial) or 'sum' (VSE++).
    Returns:
        scalar loss.
    """
    sim = f_r @ f_a.t()  # (B, B): sim[i, j] = s(R_i, A_j)
    pos = sim.diagonal()
    b = sim.shape[0]
    if identities is None:
        same = torch.eye(b, dtype=torch.bool, device=sim.device)
    else:
        identities = identities.view(-1)
        same = identities[:, None] == identities[None, :]
    neg_inf = torch.finfo(sim.dtype).min
    masked = sim.masked_fill(same, neg_inf)
    hardest_a = masked.max(dim=1).values  # for each real anchor: hardest artistic negative
    hardest_r = masked.max(dim=0).values  # for each artistic anchor: hardest real negative
    has_neg = (~same).any(dim=1)
    loss_r = F.relu(margin - pos + hardest_a) * has_neg
    loss_a = F.relu(margin - pos + hardest_r) * (~same).any(dim=0)
    total = loss_r + loss_a
    return total.sum() if reduction == 'sum' else total.mean()


def attribute_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each attribute branch, averaged over branches and items.

    Args:
        logits: (B, n, 2) branch outputs; labels: (B, n) in {0, 1}, -1 where unknown (ignored).
    """
    return F.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1).long(), ignore_index=-1)
