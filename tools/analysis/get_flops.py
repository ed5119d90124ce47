"""Parameters and FLOPs of a config's model on its documented input.

    python tools/analysis/get_flops.py CONFIG [--shape T D] [--cfg-options ...]

Prints ``Params: <integer>`` and ``FLOPs: <number>G``, counted by mmengine's analysis tools
(``mmengine.analysis.get_model_complexity_info``; one multiply-add = one FLOP, as in the
OpenMMLab model zoos). The input is the config's ``flops_input_shape`` when it has one (without the
batch dimension), else ``--shape``; for an RMS-Net config, one window ``(T, D)``.

Models whose input is not one tensor (e.g. STAGE's packed batch of actors and objects) are measured
on ``model.dummy_inputs(**cfg.flops_inputs)``: with ``flops_inputs=dict(num_actors=4,
num_objects=25)`` in the config, one clip of 4 actors and 25 objects. When the config also sets
``flops_linear_only=True``, a last line ``FLOPs (nn.Linear layers): <number>G`` counts only the
``nn.Linear`` modules: the convention that reproduces published counts made with module-hook
counters, which do not see products with bare parameters (see configs/stage/README.md).
"""
import argparse

import torch

import vidplugins  # noqa: F401
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS


def parse_args():
    parser = argparse.ArgumentParser(description='Count parameters and FLOPs of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='input shape without batch (default: from the config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value pairs)')
    return parser.parse_args()


def input_shape(cfg, shape):
    if shape:
        return tuple(shape)
    if cfg.get('flops_input_shape'):
        return tuple(cfg.flops_input_shape)
    model = cfg.model
    if model.get('type') == 'RMSNet' and model.get('backbone') is None:
        return (model.get('window_size', 41), model.head.get('in_channels', 512))
    raise SystemExit('no input shape: pass --shape or set flops_input_shape in the config')


def linear_flops(model, inputs) -> int:
    """FLOPs of the ``nn.Linear`` modules alone (each counted once, not through its parents)."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_module = analyzer.by_module()
    return sum(by_module.get(name, 0) for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear))


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    model.eval()
    if cfg.get('flops_inputs') is not None and not args.shape:
        if not hasattr(model, 'dummy_inputs'):
            raise SystemExit(f'{args.config}: flops_inputs is set but {type(model).__name__} '
                             'has no dummy_inputs() method')
        inputs = model.dummy_inputs(**cfg.flops_inputs)
        description = 'Input: ' + ', '.join(f'{k}={v}' for k, v in cfg.flops_inputs.items())
    else:
        shape = input_shape(cfg, args.shape)
        inputs = torch.zeros((1, ) + shape)
        description = f'Input shape: {shape}'
    # mode='tensor' runs the network alone (no loss, no post-processing).
    analysis = get_model_complexity_info(model, inputs=(inputs, None, 'tensor'),
                                         show_table=False, show_arch=False)
    params = sum(p.numel() for p in model.parameters())
    print(description)
    print(f'Params: {params}')
    print(f'FLOPs: {analysis["flops"] / 1e9:.6g}G')
    if cfg.get('flops_linear_only', False):
        flops = linear_flops(model, (inputs, None, 'tensor'))
        print(f'FLOPs (nn.Linear layers): {flops / 1e9:.6g}G')


if __name__ == '__main__':
    main()
