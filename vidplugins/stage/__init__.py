"""STAGE: spatio-temporal attention on graph entities, for AVA-style action detection (thesis Ch. 3).

Importing this package registers its modules in the host registries (mmaction2's MODELS, DATASETS,
METRICS; mmdet's MODELS for the end-to-end RoI head).
"""
from .graph import box_geometry, box_proximity, clip_links, edge_mask  # noqa: F401
from .layers import (ActorLinear, GraphAttentionHeads, GraphAttentionLayer,  # noqa: F401
                     NonLocalActorLayer, STAGEModule, STOModule)
from .models import STAGE, STO, ActorLinearClassifier  # noqa: F401
