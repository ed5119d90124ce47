"""Backbones shared by the methods, registered in mmaction2's ``MODELS`` when imported:
Tran et al.'s R(2+1)D (privacy Ch. 5, PAS Ch. 6) and a SlowFast with free fast-path widths (PAS).
"""
from .r2plus1d import Conv2plus1dTran, ResNet2Plus1dTran, factorized_mid_channels  # noqa: F401
from .slowfast import ResNet3dPathwayWidths, ResNet3dSlowFastWidths, fast_path_widths  # noqa: F401

__all__ = ['Conv2plus1dTran', 'ResNet2Plus1dTran', 'factorized_mid_channels',
           'ResNet3dPathwayWidths', 'ResNet3dSlowFastWidths', 'fast_path_widths']
