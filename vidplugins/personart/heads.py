"""Attribute branches of PersonArt (thesis App. A.2.1-A.2.2)."""
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class AttributeBranches(nn.Module):
    """``n`` identical branches FC(D_phi, 1024) - FC(512) - FC(64) - FC(2), dropout 0.2 and 0.4
    after the first two layers, ReLU between layers (App. A.2.2, "Attribute prediction").

    The branches are evaluated together as batched matrix products (one weight tensor per layer,
    stacked over branches), which equals running ``n`` separate ``nn.Linear`` stacks.

    Args:
        in_dim: D_phi; num_attributes: n (40 for CelebA).
    Input (B, D_phi) -> output (B, n, 2) logits.
    """

    def __init__(self, in_dim: int, num_attributes: int = 40,
                 hidden: Sequence[int] = (1024, 512, 64), dropout: Sequence[float] = (0.2, 0.4)):
        super().__init__()
        dims = [in_dim, *hidden, 2]
        self.num_attributes = num_attributes
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            w = torch.empty(num_attributes, d_in, d_out)
            b = torch.empty(num_attributes, d_out)
            bound = 1 / math.sqrt(d_in)  # nn.Linear's default initialisation
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        self.dropout = list(dropout) + [0.0] * (len(dims) - 1 - len(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            eq = 'bd,ndk->bnk' if i == 0 else 'bnd,ndk->bnk'
            h = torch.einsum(eq, h, w) + b
            if i < last:
                h = F.relu(h)
                if self.dropout[i] > 0:
                    h = F.dropout(h, self.dropout[i], self.training)
        return h

    def branch(self, k: int) -> nn.Sequential:
        """Branch ``k`` as an ``nn.Sequential`` of Linear layers sharing these weights' values."""
        layers = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(w[k].t())
                lin.bias.copy_(b[k])
            layers.append(lin)
            if i < len(self.weights) - 1:
                layers.append(nn.ReLU())
                if self.dropout[i] > 0:
                    layers.append(nn.Dropout(self.dropout[i]))
        return nn.Sequential(*layers)
