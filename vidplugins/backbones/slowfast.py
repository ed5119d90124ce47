"""SlowFast whose fast-path widths are free (thesis Ch. 6, Table 6.10: ``64 / gamma_c`` slow and
``8 / gamma_c`` fast channels).

mmaction2's ``ResNet3dSlowFast`` derives every lateral connection from the *slow* width:
``slow_width // channel_ratio`` input channels, which equals the fast path's width only when the
slow base width is a multiple of 8 x the fast one. After PAS's channel reduction (64 -> 46 slow,
8 -> 6 fast; rounding in ``vidplugins.pas.operators``) that no longer holds.
``ResNet3dSlowFastWidths`` builds the same network but reads the lateral widths from the fast
path that was actually built: lateral convolution ``i`` maps the fast path's width at fusion point
``i`` (after conv1 and after res2..res4) to ``lateral_infl`` x that width, and the slow stage that
follows takes those extra channels. With mmaction2's default widths (64 / 8) both classes build
parameter-for-parameter the same network (tested), so checkpoints load either way.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmaction.models.backbones.resnet3d_slowfast import (ResNet3dPathway, ResNet3dSlowFast,
                                                         build_pathway)
from mmaction.registry import MODELS

__all__ = ['fast_path_widths', 'ResNet3dPathwayWidths', 'ResNet3dSlowFastWidths']


def fast_path_widths(base_channels: int, expansion: int, num_stages: int = 4) -> List[int]:
    """Channels of a ResNet3d pathway at the SlowFast fusion points: after conv1, then after each
    res stage but the last. ``[b, b * e, 2 b * e, 4 b * e]`` for 4 stages (e = block expansion)."""
    return [base_channels] + [base_channels * 2 ** i * expansion for i in range(num_stages - 1)]


class ResNet3dPathwayWidths(ResNet3dPathway):
    """A slow pathway whose lateral inputs have the given widths.

    Args:
        lateral_widths: fast-path channels at each fusion point (see :func:`fast_path_widths`).
        **kwargs: ``ResNet3dPathway`` arguments (``lateral=True``; ``lateral_inv`` unsupported).
    Shapes: as ``ResNet3dPathway``.
    """

    def __init__(self, lateral_widths: Sequence[int], **kwargs):
        self._lateral_widths = list(lateral_widths)
        if kwargs.get('lateral_inv', False):
            raise ValueError('ResNet3dPathwayWidths: lateral_inv=True is not supported')
        super().__init__(**kwargs)
        if not self.lateral:
            return
        if len(self._lateral_widths) != self.num_stages:
            raise ValueError(f'ResNet3dPathwayWidths: lateral_widths needs {self.num_stages} '
                             f'entries (conv1 + stages 1..{self.num_stages - 1}), got '
                             f'{self._lateral_widths}')
        names = ['conv1_lateral'] + [f'layer{i + 1}_lateral' for i in range(self.num_stages - 1)]
        for i, (name, width) in enumerate(zip(names, self._lateral_widths)):
            if hasattr(self, name) and self.lateral_activate[i]:
                setattr(self, name, self._lateral_conv(width))

    def _lateral_conv(self, width: int) -> ConvModule:
        k = self.fusion_kernel
        return ConvModule(
            width, width * self.lateral_infl, kernel_size=(k, 1, 1),
            stride=(self.speed_ratio, 1, 1), padding=((k - 1) // 2, 0, 0), bias=False,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg if self.lateral_norm else None,
            act_cfg=self.act_cfg if self.lateral_norm else None)

    def _calculate_lateral_inplanes(self, kwargs):
        """Extra input channels of each slow stage: ``lateral_infl`` x the fast width there."""
        self.lateral_inplanes = [
            w * self.lateral_infl if self.lateral and self.lateral_activate[i] else 0
            for i, w in enumerate(self._lateral_widths)]


@MODELS.register_module()
class ResNet3dSlowFastWidths(ResNet3dSlowFast):
    """``ResNet3dSlowFast`` with lateral connections sized from the fast path (module docstring).

    Args: as ``ResNet3dSlowFast`` (``channel_ratio`` is kept for the record only: the fast path's
    ``base_channels`` sets its width). Shapes: (N, 3, T, H, W) -> ((N, C_slow, T / r, H', W'),
    (N, C_fast, T * speed_ratio / r, H', W')) with r = ``resample_rate``.
    """

    def __init__(self, pretrained: Optional[str] = None, resample_rate: int = 8,
                 speed_ratio: int = 8, channel_ratio: int = 8,
                 slow_pathway: Dict = dict(type='resnet3d', depth=50, pretrained=None,
                                           lateral=True, conv1_kernel=(1, 7, 7),
                                           conv1_stride_t=1, pool1_stride_t=1,
                                           inflate=(0, 0, 1, 1)),
                 fast_pathway: Dict = dict(type='resnet3d', depth=50, pretrained=None,
                                           lateral=False, base_channels=8,
                                           conv1_kernel=(5, 7, 7), conv1_stride_t=1,
                                           pool1_stride_t=1),
                 init_cfg=None) -> None:
        BaseModule.__init__(self, init_cfg=init_cfg)
        self.pretrained = pretrained
        self.resample_rate = resample_rate
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        slow = dict(slow_pathway)
        if slow.pop('type', 'resnet3d') != 'resnet3d':
            raise ValueError('ResNet3dSlowFastWidths: only resnet3d pathways are supported')
        # Build order as mmaction2's (slow first) so both classes initialise identically.
        widths = self._fast_widths(fast_pathway)
        if slow.get('lateral', False):
            slow.update(speed_ratio=speed_ratio, channel_ratio=channel_ratio)
        self.slow_path = ResNet3dPathwayWidths(lateral_widths=widths, **slow)
        self.fast_path = build_pathway(fast_pathway)

    @staticmethod
    def _fast_widths(fast_pathway: Dict) -> List[int]:
        depth = fast_pathway.get('depth', 50)
        expansion = 4 if depth >= 50 else 1
        return fast_path_widths(fast_pathway.get('base_channels', 64), expansion,
                                fast_pathway.get('num_stages', 4))
