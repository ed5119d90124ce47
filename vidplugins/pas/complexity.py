"""Parameters and FLOPs of a config's network, measured as ``tools/analysis/get_flops.py`` does
(mmengine's ``FlopAnalyzer``, the counter behind ``get_model_complexity_info``, on one
``flops_input_shape`` view, one multiply-add = one FLOP, the network alone in ``mode='tensor'``).
Only the FLOPs are traced (``get_model_complexity_info`` traces the network a second time for its
activation count). PAS never assumes an operator's saving.
"""
from __future__ import annotations

from typing import Tuple

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import init_default_scope

__all__ = ['recognizer_config', 'complexity']


def recognizer_config(cfg: Config) -> dict:
    """The network a config tests: the recognizer itself or a distiller's student."""
    model = cfg.model
    return model['student'] if 'student' in model else model


def complexity(cfg: Config) -> Tuple[int, float]:
    """(parameters, GFLOPs per view) of the network ``cfg`` tests.

    Raises:
        KeyError: ``flops_input_shape`` missing (names the config file).
    """
    from mmaction.registry import MODELS
    shape = cfg.get('flops_input_shape')
    if not shape:
        raise KeyError(f'{cfg.filename}: flops_input_shape (the input of one view, without the '
                       'batch dimension) is required to measure FLOPs')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(recognizer_config(cfg))
    model.eval()
    inputs = torch.zeros((1,) + tuple(shape))
    analyzer = FlopAnalyzer(model, (inputs, None, 'tensor'))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    params = sum(p.numel() for p in model.parameters())
    return params, flops / 1e9
