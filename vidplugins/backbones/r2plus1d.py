"""R(2+1)D as in Tran et al. (CVPR 2018) and the thesis (Sec. 5.3.1 privacy, Ch. 6 PAS; Table
6.1: 40.8 GFLOPs per 16 x 112 x 112 view, ~31.5M parameters with a 400-way classifier).

mmaction2's ``ResNet2Plus1d`` differs from that network in three places: its forward always applies
the stem max-pool (``with_pool1`` is ignored; 11.9 GFLOPs instead of 40.8), its stem's middle
width comes from the factorisation formula (83) where Tran et al. use 45, and each (2+1)D
convolution of a block gets its own middle width, where Tran et al. give both convolutions of a
block the width computed from the block's input and output planes,
``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))``, and keep the 1x1x1 shortcut a plain 3D
convolution. ``ResNet2Plus1dTran`` builds mmaction2's network and changes exactly those parts.

R3D-18 needs no new code: mmaction2's ``ResNet3d`` with ``with_pool1=False, with_pool2=False``
(see ``configs/_base_/models/r3d_privacy.py``) is Tran et al.'s R3D-18 parameter for parameter.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import kaiming_init

from mmaction.models.backbones.resnet2plus1d import ResNet2Plus1d
from mmaction.models.backbones.resnet3d import BasicBlock3d
from mmaction.registry import MODELS

__all__ = ['factorized_mid_channels', 'Conv2plus1dTran', 'ResNet2Plus1dTran']


def factorized_mid_channels(in_channels: int, out_channels: int,
                            kernel_size: Sequence[int] = (3, 3, 3)) -> int:
    """Tran et al. Sec. 3.5: middle width of a (2+1)D factorisation with (about) the parameters of
    the full t x d x d convolution, ``floor(t d^2 N_in N_out / (d^2 N_in + t N_out))``."""
    t, d1, d2 = kernel_size
    return (t * d1 * d2 * in_channels * out_channels) // (d1 * d2 * in_channels + t * out_channels)


@MODELS.register_module()
class Conv2plus1dTran(nn.Module):
    """A (2+1)D convolution with an explicit middle width: 1 x d x d conv -> BN -> ReLU ->
    t x 1 x 1 conv. Usable as ``conv_cfg=dict(type='Conv2plus1dTran', mid_channels=M)``.

    Args:
        in_channels, out_channels: planes; mid_channels: M (None: :func:`factorized_mid_channels`).
        kernel_size, stride, padding: 3-tuples (t, h, w).
    Shapes: (N, C_in, T, H, W) -> (N, C_out, T', H', W').
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(3, 3, 3), stride=1,
                 padding=0, dilation=1, groups=1, bias=False, mid_channels: int | None = None,
                 norm_cfg=dict(type='BN3d')):
        super().__init__()
        k, s, p = (tuple(v) if isinstance(v, (tuple, list)) else (v,) * 3
                   for v in (kernel_size, stride, padding))
        if mid_channels is None:
            mid_channels = factorized_mid_channels(in_channels, out_channels, k)
        self.in_channels, self.out_channels, self.mid_channels = \
            in_channels, out_channels, mid_channels
        self.conv_s = nn.Conv3d(in_channels, mid_channels, (1, k[1], k[2]), (1, s[1], s[2]),
                                (0, p[1], p[2]), bias=bias)
        _, self.bn_s = build_norm_layer(norm_cfg, mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(mid_channels, out_channels, (k[0], 1, 1), (s[0], 1, 1),
                                (p[0], 0, 0), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))


@MODELS.register_module()
class ResNet2Plus1dTran(ResNet2Plus1d):
    """R(2+1)D of Tran et al.: mmaction2's ``ResNet2Plus1d`` with the stem, block widths,
    shortcuts and stem max-pool of the original network (module docstring).

    Args:
        stem_mid_channels: middle width of the stem (Tran et al.: 45; scale it down for tiny
            models).
        with_pool1: the stem max-pool (Tran et al.: none; default False).
        **kwargs: ``ResNet2Plus1d`` / ``ResNet3d`` arguments (BasicBlock depths 18 / 34 only).
    Shapes: (N, 3, T, H, W) -> (N, 8 * base_channels, T / 8, H / 16, W / 16) with the default
    strides (1, 2, 2, 2) in space and time and stem stride (1, 2, 2).
    """

    def __init__(self, stem_mid_channels: int = 45, with_pool1: bool = False, **kwargs):
        kwargs.setdefault('conv_cfg', dict(type='Conv2plus1d'))
        super().__init__(with_pool1=with_pool1, **kwargs)
        if self.block is not BasicBlock3d:
            raise ValueError('ResNet2Plus1dTran follows Tran et al.\'s R(2+1)D-18/34 (basic '
                             f'blocks); depth={self.depth} uses {self.block.__name__}')
        norm = self.norm_cfg
        # Stem: 1 x 7 x 7 spatial conv to stem_mid_channels, then a 3 x 1 x 1 temporal conv.
        stem = self.conv1.conv
        self.conv1.conv = Conv2plus1dTran(
            stem.in_channels, stem.out_channels, self.conv1_kernel,
            (self.conv1_stride_t, self.conv1_stride_s, self.conv1_stride_s),
            tuple((k - 1) // 2 for k in self.conv1_kernel), mid_channels=stem_mid_channels,
            norm_cfg=norm)
        for layer_name in self.res_layers:
            for block in getattr(self, layer_name):
                conv1, conv2 = block.conv1.conv, block.conv2.conv
                # One middle width per block, from the block's input and output planes.
                mid = factorized_mid_channels(conv1.in_channels, conv1.out_channels)
                block.conv1.conv = Conv2plus1dTran(
                    conv1.in_channels, conv1.out_channels, 3,
                    (conv1.conv_t.stride[0], conv1.conv_s.stride[1], conv1.conv_s.stride[2]),
                    1, mid_channels=mid, norm_cfg=norm)
                block.conv2.conv = Conv2plus1dTran(
                    conv2.in_channels, conv2.out_channels, 3, 1, 1, mid_channels=mid,
                    norm_cfg=norm)
                if block.downsample is not None:
                    short = block.downsample.conv
                    block.downsample.conv = nn.Conv3d(
                        short.in_channels, short.out_channels, 1,
                        (short.conv_t.stride[0], short.conv_s.stride[1], short.conv_s.stride[2]),
                        bias=False)
                    kaiming_init(block.downsample.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) -> (N, C, T', H', W'); the stem max-pool only if ``with_pool1``."""
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return x
