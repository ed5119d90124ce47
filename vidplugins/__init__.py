"""vidplugins: OpenMMLab plug-ins for the video methods of M. Tomei's PhD thesis (UNIMORE, 2022).

``import vidplugins`` applies the compatibility fixes of ``vidplugins.compat`` (before any host
package builds its models) and registers every method's modules in the host registries, so a
config only needs ``custom_imports = dict(imports=['vidplugins'])``.
"""
from . import compat  # noqa: F401  (first: fixes imports of the host packages)
from .version import __version__

from . import distillation  # noqa: F401,E402  (shared KD losses)
from . import rmsnet  # noqa: F401,E402  (registers RMS-Net into mmaction2's registries)
from . import stage  # noqa: F401,E402  (STAGE: mmaction2 and mmdet registries)
from . import privacy  # noqa: F401,E402  (obfuscation, privileged distillation)

__all__ = ['__version__']
