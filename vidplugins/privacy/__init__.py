"""Privacy-preserving action recognition (thesis Ch. 5): face / body obfuscation that fails closed,
and privileged knowledge distillation from a teacher that saw the original videos.

Importing this package registers its modules in mmaction2's registries.
"""
from .. import distillation  # noqa: E402,F401  (registers the shared KD losses the KD configs name)
from .backbones import Conv2plus1dTran, ResNet2Plus1dTran  # noqa: E402,F401  (KD helper)
from .datasets import PairedVideoDataset  # noqa: E402,F401  (KD helper)
from .distiller import PrivilegedDistiller  # noqa: E402,F401  (KD helper)
from .pipelines import LoadPairedVideo, PackPairedInputs, PairedDecode  # noqa: E402,F401
from . import obfuscation  # noqa: E402,F401  (OBF helper: pure image functions)
from .detectors import PRIVACY_DETECTORS, Detections, build_detector  # noqa: E402,F401  (OBF)
from .anonymizer import FrameAnonymizer, anonymize_dataset, anonymize_video  # noqa: E402,F401
from .transforms import ObfuscateFrames  # noqa: E402,F401  (OBF: mmaction2 TRANSFORMS)
