"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--dump results.pkl] [--show-dir DIR]``.

Thin, as in mmaction2. The checkpoint is loaded with ``weights_only=True`` (mmengine's loader under
torch >= 2.6, with the allow-list of ``vidplugins.compat``).
"""
import argparse
import os
import os.path as osp

import vidplugins  # noqa: F401
from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--dump', type=str,
                        help='dump the model outputs to this pickle file (e.g. results.pkl)')
    parser.add_argument('--show-dir', type=str,
                        help='folder for visual outputs; for spotting models also the '
                        'results_spotting.json files and timeline plots')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings (key=value pairs)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    # Testing does not train: mmengine 0.10.7's EarlyStoppingHook.before_run reads
    # runner.train_loop, which builds the train loop and its dataset, so a test would need the
    # training split on disk. Drop the hook here.
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', None) or []
                        if h.get('type') != 'EarlyStoppingHook']
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
        else [cfg.test_evaluator]
    if args.show_dir is not None:
        # Spotting metrics write the official prediction files and a timeline plot per game.
        for ev in evaluators:
            if ev.get('type') == 'SpottingMetric':
                ev['out_dir'] = osp.join(args.show_dir, 'predictions')
                ev['plot_dir'] = osp.join(args.show_dir, 'timelines')
    if args.dump is not None:
        assert args.dump.endswith(('.pkl', '.pickle')), 'the dump file must be a .pkl file'
        cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=args.dump)]
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
