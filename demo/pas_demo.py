"""PAS proof on CPU (thesis Ch. 6): a 2-iteration search over all five reduction operators,
through the real runner (every hypothesis an ordinary tools/train.py + tools/test.py job).

    python demo/pas_demo.py [--work-dir work_dirs/pas_demo] [--max-parallel 2] [--seed 0]
        [--iterations 2] [--channel-init scratch|slice]

Generates clips whose class (a 2-px texture orientation) is visible in every frame, so time is
redundant while spatial detail is not; trains a tiny R(2+1)D base B; runs the search; also trains
every chosen architecture from scratch with CE ("without PAS", Table 6.2). Prints the chosen
sequence, FLOPs and accuracies, and writes DIR/search/report.md and search_curve.png.
Expected: eps_t or eps_f first, and the KD + fine-tuned R_1 above the same network trained from
scratch with CE. Each job runs with OMP_NUM_THREADS = cores / max_parallel (one thread per job on
two cores; with one thread, B trained twice here on the same seed gave the same figures).
``--channel-init slice`` runs the same search with the c / l hypotheses initialised from a
torch-pruning slice of R_{tau-1} (the thesis's future work) instead of random weights: compare
its iter*_c / iter*_l rows with the default run's (``benchmarks/bench_pas_slice.py`` isolates
the c hypothesis of iteration 1).
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import vidplugins  # noqa: E402,F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'pas', 'pas_r2plus1d-tiny_cpu-demo.py')
#: B trains for the config's 8 epochs; every hypothesis and "without PAS" run for 3 (a budget
#: in which training from scratch does not saturate while fine-tuning from R_{tau-1} keeps up).
HYPOTHESIS_EPOCHS = 3


def write_base_config(work_dir: str, data_root: str) -> str:
    """DIR/base.py: the shipped demo config pointed at the generated clips."""
    from vidplugins.utils.io import atomic_write
    path = osp.join(work_dir, 'base.py')
    rel = osp.relpath(DEMO_CONFIG, work_dir)
    with atomic_write(path) as f:
        f.write(f'_base_ = {rel!r}\n'
                f'train_dataloader = dict(dataset=dict(data_root={data_root!r}))\n'
                f'test_dataloader = dict(dataset=dict(data_root={data_root!r}))\n')
    return path


def job_threads(max_parallel: int) -> int:
    """Torch / OpenMP threads of each job: the machine's cores shared by the jobs that run at
    once (two jobs of two threads each on two cores spend most of their time spinning)."""
    return max(1, (os.cpu_count() or 1) // max(1, max_parallel))


def run_demo(work_dir: str, max_parallel: int = 2, seed: int = 0, iterations: int = 2,
             channel_init: str = 'scratch'):
    """Generate the data (once), run (or continue) the search; returns the search state."""
    from vidplugins.demo_data.pas_videos import generate_pas_videos
    from vidplugins.pas.launchers import LocalLauncher
    from vidplugins.pas.search import PASSearch
    work_dir = osp.abspath(work_dir)
    data_root = osp.join(work_dir, 'data')
    if not osp.isfile(osp.join(data_root, 'generation.json')):
        generate_pas_videos(data_root, seed=seed)
    base = write_base_config(work_dir, data_root)
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):   # inherited by the jobs
        os.environ.setdefault(var, str(job_threads(max_parallel)))
    search = PASSearch(base, osp.join(work_dir, 'search'), LocalLauncher(),
                       ops=['s', 't', 'f', 'c', 'l'], iterations=iterations,
                       max_parallel=max_parallel, without_pas=True, channel_init=channel_init,
                       hypothesis_options=[f'train_cfg.max_epochs={HYPOTHESIS_EPOCHS}'])
    return search.run()


def summary(state) -> str:
    hyps = state['hypotheses']
    lines = [f'chosen sequence: [{", ".join(state["chosen_ops"])}]',
             f'{"network":<18}{"top-1":>8}{"top-5":>8}{"GFLOPs":>10}']
    for step in state['steps']:
        for name in step['members']:
            h = hyps[name]
            mark = ' <- chosen' if name == step['chosen'] else ''
            if h['status'] == 'done':
                lines.append(f'{name:<18}{h["top1"]:>8.2f}{h["top5"]:>8.2f}'
                             f'{h["gflops"]:>10.4f}{mark}')
            else:
                lines.append(f'{name:<18}  {h["status"]} {h.get("reason") or ""}')
    b = hyps['iter0_base']
    lines.insert(2, f'{"iter0_base (B)":<18}{b["top1"]:>8.2f}{b["top5"]:>8.2f}'
                    f'{b["gflops"]:>10.4f}')
    for name in state['chosen']:
        ce = hyps.get(name + '_ce')
        if ce and ce['status'] == 'done':
            verdict = 'PAS wins' if hyps[name]['top1'] > ce['top1'] else 'PAS does NOT win'
            lines.append(f'{name}: KD + fine-tune {hyps[name]["top1"]:.2f} vs CE from scratch '
                         f'{ce["top1"]:.2f} at {ce["gflops"]:.4f} GFLOPs: {verdict}')
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/pas_demo')
    p.add_argument('--max-parallel', type=int, default=2)
    p.add_argument('--seed', type=int, default=0, help="the generated clips' seed")
    p.add_argument('--iterations', type=int, default=2)
    p.add_argument('--channel-init', choices=['scratch', 'slice'], default='scratch',
                   help='c / l hypotheses from random weights (thesis) or a slice of R_{tau-1}')
    args = p.parse_args()
    start = time.time()
    state = run_demo(args.work_dir, args.max_parallel, args.seed, args.iterations,
                     args.channel_init)
    print(summary(state))
    print(f'wall time: {time.time() - start:.0f} s')
    print(f'curve: {osp.join(args.work_dir, "search", "search_curve.png")}')


if __name__ == '__main__':
    main()
