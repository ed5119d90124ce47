"""Stop a training whose loss is NaN or infinite, so that the PAS search sees a failed job
(non-zero exit) and retries it, instead of testing a diverged network."""
from __future__ import annotations

import math

from mmengine.hooks import Hook

from mmaction.registry import HOOKS

__all__ = ['StopOnInvalidLossHook']


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Raise ``FloatingPointError`` after a training iteration whose loss is not finite.

    Args:
        interval: check every ``interval`` iterations.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 1):
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if outputs is None or 'loss' not in outputs or not self.every_n_train_iters(
                runner, self.interval):
            return
        loss = float(outputs['loss'])
        if not math.isfinite(loss):
            raise FloatingPointError(f'loss is {loss} at iteration {runner.iter + 1}: stopping '
                                     f'(work dir {runner.work_dir})')
