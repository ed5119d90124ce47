"""A fixed random feature network with the StyleGAN Inception's TorchScript call signature.

mmagic's FID (``TransFID``, ``inception_style='StyleGAN'``) calls ``net(uint8 (N, 3, H, W),
return_features=True)`` on the network loaded from ``inception_path`` with ``torch.jit.load``.
The real Inception weights are not shipped by any package; this network (random convolutions,
per-layer mean activations, 64-d) runs the same metric code offline for demos and tests, and its
FID still orders sets by how far their texture statistics are from the reference set.
"""
from __future__ import annotations

import os

import torch

__all__ = ['RandomFeatures', 'write_random_feature_net']


class RandomFeatures(torch.nn.Module):
    """``forward(x uint8 (N, 3, H, W), return_features=True) -> (N, 64)`` float features."""

    def __init__(self, seed: int = 0, channels=(16, 24, 24)):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        chans = (3,) + tuple(channels)
        self.convs = torch.nn.ModuleList()
        for a, b in zip(chans[:-1], chans[1:]):
            conv = torch.nn.Conv2d(a, b, 3, stride=2, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) / (9 * a) ** 0.5)
                conv.bias.zero_()
            conv.requires_grad_(False)   # mmagic's FID calls it outside no_grad, then .numpy()
            self.convs.append(conv)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        with torch.no_grad():
            h = x.float() / 127.5 - 1
            feats = []
            for conv in self.convs:
                h = torch.relu(conv(h))
                feats.append(h.mean(dim=(2, 3)))
            out = torch.cat(feats, 1)
        return out


def write_random_feature_net(path: str, seed: int = 0) -> str:
    """Script and save :class:`RandomFeatures` to ``path`` (mode 0644); returns ``path``."""
    tmp = path + '.tmp'
    torch.jit.script(RandomFeatures(seed)).save(tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path
