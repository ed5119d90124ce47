"""The Tran et al. R(2+1)D used by privacy (Sec. 5.3.1) lives with the backbones shared with PAS
(Ch. 6): ``vidplugins/backbones/r2plus1d.py``. Kept so ``vidplugins.privacy.backbones`` imports."""
from ..backbones.r2plus1d import (Conv2plus1dTran, ResNet2Plus1dTran,  # noqa: F401
                                  factorized_mid_channels)

__all__ = ['factorized_mid_channels', 'Conv2plus1dTran', 'ResNet2Plus1dTran']
