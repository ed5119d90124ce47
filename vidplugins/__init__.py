"""vidplugins: OpenMMLab plug-ins for the video methods of M. Tomei's PhD thesis (UNIMORE, 2022).

``import vidplugins`` only applies the compatibility fixes of ``vidplugins.compat`` (before any
host package builds its models) and stays light: it imports neither torch nor an OpenMMLab
package. Each method registers its modules in the host registries when its own package is
imported, as mmaction2 does for what a config names::

    custom_imports = dict(imports=['vidplugins.rmsnet'], allow_failed_imports=False)

``vidplugins.rmsnet`` (Ch. 4), ``vidplugins.stage`` (Ch. 3) and ``vidplugins.privacy`` (Ch. 5);
importing one does not import the others. The shipped configs say it in the method's model base
(``configs/_base_/models/``) or in the leaf config.
"""
from . import compat  # noqa: F401  (first: fixes imports of the host packages)
from .version import __version__

__all__ = ['__version__']
