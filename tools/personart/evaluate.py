"""Evaluate a PersonArt checkpoint: ``python tools/personart/evaluate.py CONFIG CKPT``.

Prints Recall@1/5/10 (Table A.4), attribute accuracy (A.5), weighted retrieval for each lambda
(A.6 / A.7) and AP after 1 / 5 / 10 relevance-feedback iterations, one positive and one negative
per iteration (A.8). ``CKPT`` may be ``none``: the untrained projection (W = 0: phi's own cosine
retrieval), the baseline every training run must beat. The numbers come from the config's
``test_dataloader`` and ``PersonArtRetrievalMetric`` through mmengine's Runner.
"""
import argparse
import json
import os
import os.path as osp
import tempfile

import vidplugins  # noqa: F401  (compat fixes)
from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='PersonArt retrieval evaluation (App. A.2.3)')
    p.add_argument('config')
    p.add_argument('checkpoint', help="checkpoint file, or 'none' for the untrained projection")
    p.add_argument('--work-dir', help='logs (default: a temporary folder)')
    p.add_argument('--out', help='write the metrics as JSON here')
    p.add_argument('--lam', type=float, help='lambda of Eq. A.21 for the feedback AP')
    p.add_argument('--feedback-iterations', type=int, nargs='+')
    p.add_argument('--max-feedback-queries', type=int)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def format_tables(m: dict) -> str:
    p = 'personart/'
    g = lambda k: m.get(p + k, float('nan'))  # noqa: E731
    lines = ['Table A.4  face retrieval      R@1 {:.1f}  R@5 {:.1f}  R@10 {:.1f}'.format(
        g('R@1'), g('R@5'), g('R@10'))]
    if p + 'attr_acc_real' in m:
        lines.append('Table A.5  attribute accuracy  real {:.1f}  artistic {:.1f}'.format(
            g('attr_acc_real'), g('attr_acc_art')))
        lams = sorted({k.split('/')[1][6:] for k in m if k.startswith(p + 'lambda')}, key=float)
        lines.append('Table A.6/A.7  lambda:   ' + '  '.join(f'{x:>6}' for x in lams))
        lines.append('               R@1:      ' + '  '.join(
            f"{g(f'lambda{x}/R@1'):6.1f}" for x in lams))
        lines.append('               attr acc: ' + '  '.join(
            f"{g(f'lambda{x}/attr_acc'):6.1f}" for x in lams))
    fb = sorted((int(k.split('fb')[1]), v) for k, v in m.items() if k.startswith(p + 'AP@fb'))
    if fb:
        lines.append('Table A.8  AP after feedback  ' + '  '.join(
            f'{t} it: {v:.1f}' for t, v in fb))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    ev = cfg.test_evaluator
    if args.lam is not None:
        ev.lam = args.lam
    if args.feedback_iterations:
        ev.feedback_iterations = tuple(args.feedback_iterations)
    if args.max_feedback_queries:
        ev.max_feedback_queries = args.max_feedback_queries
    tmp = None
    if args.work_dir:
        cfg.work_dir = args.work_dir
    else:
        tmp = tempfile.TemporaryDirectory(prefix='personart_eval_')
        cfg.work_dir = tmp.name
    if args.checkpoint.lower() == 'none':
        cfg.load_from = None
    else:
        if not osp.isfile(args.checkpoint):
            raise SystemExit(f'checkpoint not found: {args.checkpoint}')
        cfg.load_from = args.checkpoint
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'val_dataloader', 'val_cfg',
                'val_evaluator', 'param_scheduler'):
        cfg[key] = None
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    print(format_tables(metrics))
    if args.out:
        tmp_out = args.out + '.tmp'
        with open(tmp_out, 'w') as f:
            json.dump(metrics, f, indent=1)
        os.replace(tmp_out, args.out)
        os.chmod(args.out, 0o644)
    print(json.dumps(metrics))
    return metrics


if __name__ == '__main__':
    main()
