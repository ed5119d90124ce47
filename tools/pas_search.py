"""Progressive Architecture Shrinkage search (thesis Ch. 6, Algorithm 1) over ordinary jobs.

    python tools/pas_search.py CONFIG --work-dir DIR [--ops s,t,f,c,l] [--iterations 5]
        [--target-gflops G] [--launcher local|slurm] [--max-parallel N]
        [--base-checkpoint CKPT] [--without-pas] [--channel-init scratch|slice]
        [--slice-importance l1|l2]

Each hypothesis is ``DIR/iter<tau>_<op>/config.py`` trained by tools/train.py and tested by
tools/test.py; state in ``DIR/search.json``. Kill it at any time and run the same command again to
continue. Writes ``DIR/report.md`` and ``DIR/search_curve.png``.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import vidplugins  # noqa: E402,F401  (compat fixes)
from vidplugins.pas.launchers import build_launcher  # noqa: E402
from vidplugins.pas.operators import parse_ops  # noqa: E402
from vidplugins.pas.search import PASSearch  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description='PAS search (thesis Ch. 6)')
    p.add_argument('config', help="the base network B's config")
    p.add_argument('--work-dir', required=True, help='search folder (search.json, hypotheses)')
    p.add_argument('--ops', default='s,t,f,c,l',
                   help="operators per iteration; 't+f' applies two in one step")
    p.add_argument('--iterations', type=int, default=5)
    p.add_argument('--target-gflops', type=float, default=None,
                   help='stop once the chosen network needs at most this many GFLOPs per view')
    p.add_argument('--launcher', choices=['local', 'slurm'], default='local')
    p.add_argument('--max-parallel', type=int, default=1, help='jobs at once')
    p.add_argument('--base-checkpoint', help="B's weights (default: train B first)")
    p.add_argument('--max-attempts', type=int, default=3, help='tries of a job')
    p.add_argument('--without-pas', action='store_true',
                   help='also train each chosen architecture with CE from scratch (Table 6.2)')
    p.add_argument('--channel-init', choices=['scratch', 'slice'], default='scratch',
                   help='c / l hypotheses: random (thesis) or a slice of the previous weights '
                   '(channels chosen by torch-pruning, kept blocks keep their weights)')
    p.add_argument('--slice-importance', choices=['l1', 'l2'], default='l1',
                   help='--channel-init slice: group magnitude that ranks the channels kept')
    p.add_argument('--no-kd', action='store_true', help='CE only (Table 6.4 ablation)')
    p.add_argument('--no-finetune', action='store_true',
                   help='random init for every hypothesis (Table 6.4 ablation)')
    p.add_argument('--teacher-eval', action='store_true',
                   help='B in eval mode for the soft targets (Table 6.8 option)')
    p.add_argument('--timeout-min', type=int, default=24 * 60, help='Slurm: time limit per job')
    p.add_argument('--slurm-partition', default=None)
    p.add_argument('--gpus-per-node', type=int, default=None)
    p.add_argument('--cfg-options', nargs='+', default=None,
                   help='passed to every tools/train.py job (key=value)')
    p.add_argument('--hyp-cfg-options', nargs='+', default=None,
                   help="passed to the hypotheses' (not B's) training jobs (key=value)")
    return p.parse_args()


def main():
    args = parse_args()
    slurm = {}
    if args.slurm_partition:
        slurm['slurm_partition'] = args.slurm_partition
    if args.gpus_per_node is not None:
        slurm['gpus_per_node'] = args.gpus_per_node
    launcher = build_launcher(args.launcher, args.work_dir, timeout_min=args.timeout_min,
                              **slurm)
    search = PASSearch(
        args.config, args.work_dir, launcher, ops=parse_ops(args.ops),
        iterations=args.iterations, target_gflops=args.target_gflops,
        max_parallel=args.max_parallel, base_checkpoint=args.base_checkpoint,
        max_attempts=args.max_attempts, without_pas=args.without_pas,
        channel_init=args.channel_init, slice_importance=args.slice_importance,
        kd=not args.no_kd,
        teacher_train_mode=not args.teacher_eval, finetune=not args.no_finetune,
        train_options=args.cfg_options, hypothesis_options=args.hyp_cfg_options)
    state = search.run()
    hyps = state['hypotheses']
    print('chosen sequence: [' + ', '.join(state['chosen_ops']) + ']')
    for name in ['iter0_base'] + state['chosen']:
        h = hyps[name]
        print(f'{name}: top-1 {h["top1"]:.2f} top-5 {h["top5"]:.2f} GFLOPs {h["gflops"]:.4g}')
    print(f'report: {os.path.join(args.work_dir, "report.md")}')


if __name__ == '__main__':
    main()
