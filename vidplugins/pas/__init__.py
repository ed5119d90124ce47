"""Progressive Architecture Shrinkage (thesis Ch. 6): reduction operators as config -> config
functions, the KD hypothesis model, and a resumable search over ordinary training jobs.

Importing this package registers the shared backbones (Tran et al.'s R(2+1)D, width-free SlowFast),
the shared KD losses and ``PASDistiller`` in mmaction2's registries. The search runner
(``vidplugins.pas.search``) is imported on demand by ``tools/pas_search.py``.
"""
from .. import backbones  # noqa: F401  (shared: R(2+1)D of Tran et al., SlowFast widths)
from .. import distillation  # noqa: F401  (shared: KLDivergenceKDLoss)
from .distiller import PASDistiller, reduce_clip, slice_state_dict  # noqa: F401
from .hooks import StopOnInvalidLossHook  # noqa: F401
from .operators import (GAMMAS, OPERATORS, OperatorNotApplicable, apply_operator,  # noqa: F401
                        apply_operators, operator_delta, write_reduced_config)
