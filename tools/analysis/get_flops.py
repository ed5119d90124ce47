"""Parameters and FLOPs of a config's model on its documented input.

    python tools/analysis/get_flops.py CONFIG [--shape T D] [--cfg-options ...]

Prints ``Params: <integer>`` and ``FLOPs: <number>G``, counted by mmengine's analysis tools
(``mmengine.analysis.get_model_complexity_info``; one multiply-add = one FLOP, as in the
OpenMMLab model zoos). The input is the config's ``flops_input_shape`` when it has one (without the
batch dimension), else ``--shape``; for an RMS-Net config, one window ``(T, D)``.
"""
import argparse

import torch

import vidplugins  # noqa: F401
from mmengine.analysis import get_model_complexity_info
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


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    model.eval()
    shape = input_shape(cfg, args.shape)
    inputs = torch.zeros((1, ) + shape)
    # mode='tensor' runs the network alone (no loss, no post-processing).
    analysis = get_model_complexity_info(model, inputs=(inputs, None, 'tensor'),
                                         show_table=False, show_arch=False)
    params = sum(p.numel() for p in model.parameters())
    print(f'Input shape: {shape}')
    print(f'Params: {params}')
    print(f'FLOPs: {analysis["flops"] / 1e9:.6g}G')


if __name__ == '__main__':
    main()
