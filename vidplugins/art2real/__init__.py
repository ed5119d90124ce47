"""Art2Real: semantically-aware painting-to-photo translation (thesis App. A.1; CVPR 2019).

Importing this package registers its modules in mmagic's registries: the contextual loss
(``MultiScaleContextualLoss``, MODELS), the model (``Art2RealCycleGAN``, MODELS), the mask
transforms (``LoadClassMask``, ``ResizeLabelMap``, TRANSFORMS) and the mask-update hook
(``Art2RealMaskUpdateHook``, HOOKS). Bank building and search (``banks``, ``patches``,
``segmenters``) need neither mmagic nor a model.
"""
from mmagic.registry import MODELS

from .banks import PatchBanks, build_banks  # noqa: F401
from .contextual_loss import (MultiScaleContextualLoss, affinity, contextual_loss,  # noqa: F401
                              cosine_distance, nearest_patch_distance, relative_distance)
from .hooks import Art2RealMaskUpdateHook  # noqa: F401
from .model import Art2RealCycleGAN  # noqa: F401
from .patches import THESIS_SCALES, Scale, class_coverage, extract_patches, parse_scales  # noqa: F401
from .segmenters import build_segmenter, read_label_map, read_rgb  # noqa: F401
from .transforms import LoadClassMask, ResizeLabelMap  # noqa: F401

MODELS.register_module(module=MultiScaleContextualLoss)

__all__ = ['Art2RealCycleGAN', 'MultiScaleContextualLoss', 'Art2RealMaskUpdateHook',
           'LoadClassMask', 'ResizeLabelMap', 'PatchBanks', 'build_banks', 'THESIS_SCALES']
