"""Apply a PAS reduction sequence to any mmaction2 recognizer config (thesis Sec. 6.2.3: similar
networks benefit from the same sequence) and print Params / GFLOPs per step.

    python tools/pas_apply.py CONFIG --ops c,f,t [--out-dir DIR] [--prefix NAME]
        [--name-template '{prefix}-pas{k}-{op}']

With ``--out-dir`` every step is written as a config inheriting the previous one
(``<prefix>-pas<k>-<op>.py`` by default); ``t+f`` is one step of two operators.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import vidplugins  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

import vidplugins.pas  # noqa: E402,F401  (registers the backbones the reduced configs use)
from vidplugins.pas.complexity import complexity  # noqa: E402
from vidplugins.pas.operators import apply_operator, parse_ops, write_reduced_config  # noqa


def parse_args():
    p = argparse.ArgumentParser(description='Apply PAS reduction operators to a config')
    p.add_argument('config')
    p.add_argument('--ops', required=True, help="e.g. 'c,f,t,t,t'")
    p.add_argument('--out-dir', help='write one config per step here')
    p.add_argument('--prefix', help='file name prefix (default: the config name)')
    p.add_argument('--name-template', default='{prefix}-pas{k}-{op}',
                   help='file name of step k (without .py); fields prefix, k, op')
    p.add_argument('--no-flops', action='store_true', help='do not measure (faster)')
    return p.parse_args()


def main():
    args = parse_args()
    ops = parse_ops(args.ops)
    parent = args.config
    cfg = Config.fromfile(parent)
    prefix = args.prefix or osp.splitext(osp.basename(args.config))[0]
    rows = [('B', cfg)]
    for k, op in enumerate(ops, 1):
        if args.out_dir:
            os.makedirs(args.out_dir, exist_ok=True)
            name = args.name_template.format(prefix=prefix, k=k, op=op)
            path = osp.join(args.out_dir, f'{name}.py')
            cfg = write_reduced_config(parent, op, path, cfg)
            parent = path
        else:
            cfg = apply_operator(cfg, op)
        rows.append((op, cfg))
    print(f'{"step":<6}{"op":<6}{"Params":>12}{"GFLOPs":>10}  input')
    for k, (op, c) in enumerate(rows):
        params, gflops = (None, None) if args.no_flops else complexity(c)
        p = '-' if params is None else f'{params:,}'
        g = '-' if gflops is None else f'{gflops:.4g}'
        print(f'{k:<6}{op:<6}{p:>12}{g:>10}  {tuple(c.get("flops_input_shape", ()))}')


if __name__ == '__main__':
    main()
