"""RMS-Net: regression and masking for soccer event spotting (thesis Ch. 4).

Importing this package registers its modules in mmaction2's registries (MODELS, DATASETS,
TRANSFORMS, DATA_SAMPLERS, METRICS).
"""
from .datasets import SoccerNetGameDataset, SoccerNetWindowDataset
from .metric import SpottingMetric
from .models import RMSNet, SpottingDataPreprocessor, SpottingHead
from .samplers import SpottingBalancedSampler
from .transforms import MaskEventContext, PackSpottingInputs

__all__ = ['SoccerNetWindowDataset', 'SoccerNetGameDataset', 'SpottingMetric', 'RMSNet',
           'SpottingHead', 'SpottingDataPreprocessor', 'SpottingBalancedSampler',
           'MaskEventContext', 'PackSpottingInputs']
