"""STAGE: spatio-temporal attention on graph entities, for AVA-style action detection (thesis Ch. 3).

Importing this package registers its modules in the host registries (mmaction2's MODELS, DATASETS,
METRICS; mmdet's MODELS for the end-to-end RoI head).
"""
from .graph import box_geometry, box_proximity, clip_links, edge_mask  # noqa: F401
from .layers import (ActorLinear, GraphAttentionHeads, GraphAttentionLayer,  # noqa: F401
                     NonLocalActorLayer, STAGEModule, STOModule)
from .models import STAGE, STO, ActorLinearClassifier  # noqa: F401
from .ava import read_ava_csv, read_ava_ground_truth, read_excluded, read_label_map  # noqa: F401
from .data_preprocessor import STAGEDataPreprocessor, pack_keyframes  # noqa: F401
from .datasets import AVAFeatureDataset, PackSTAGEInputs  # noqa: F401
from .feature_io import build_reader, open_feature_file, write_keyframe  # noqa: F401
from .metric import FrameMAPMetric, STAGEAVAMetric  # noqa: F401
from .samplers import KeyframeBlockSampler  # noqa: F401
from .roi_head import LoadAVAObjectBoxes, STAGERoIHead  # noqa: F401
