"""Slice vs scratch initialisation of the eps_c hypothesis (thesis Sec. 6.1.4's future work).

    python benchmarks/bench_pas_slice.py [--work-dir work_dirs/pas_slice] [--epochs 3]
        [--base-epochs 8] [--seed 0]

On the CPU demo's clips and tiny base network (``configs/pas/pas_r2plus1d-tiny_cpu-demo.py``,
``vidplugins/demo_data/pas_videos.py``), in one process with mmengine's Runner:

1. B is trained (``--base-epochs``; reused when ``DIR/B/student.pth`` exists) and tested;
2. the c hypothesis eps_c(B) is materialised twice by the search's own code
   (``write_reduced_config`` + ``write_training_config``): ``--channel-init scratch`` (the thesis:
   random weights, base lr) and ``slice`` (B pruned by torch-pruning to eps_c's widths, L1 group
   magnitude, lr / 10 as every initialised hypothesis), both with KD from B;
3. the slice is tested before any training (epoch 0), then both train ``--epochs`` epochs with
   the same seed and are tested.

Prints top-1 / top-5 and GFLOPs of each. The figures depend on the machine's load only through
time; the accuracies are those of the fixed seed.
"""
import argparse
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'demo'))

import vidplugins  # noqa: E402,F401  (compat fixes)
from pas_demo import write_base_config  # noqa: E402  (the demo's B, pointed at its clips)


def _test(cfg, work_dir: str, checkpoint: str = None) -> dict:
    """top-1 / top-5 (%) of ``cfg``'s network on its test set (``checkpoint``: weights)."""
    from mmengine.runner import Runner
    cfg = cfg.copy()
    cfg.work_dir = work_dir
    if checkpoint:
        cfg.load_from = checkpoint
    metrics = Runner.from_cfg(cfg).test()
    return dict(top1=100 * metrics['acc/top1'], top5=100 * metrics['acc/top5'])


def _train_and_test(cfg, work_dir: str, epochs: int) -> dict:
    from mmengine.runner import Runner
    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    seconds = time.time() - start
    metrics = runner.test()
    return dict(top1=100 * metrics['acc/top1'], top5=100 * metrics['acc/top5'],
                train_seconds=seconds)


def run(work_dir: str, epochs: int = 3, base_epochs: int = 8, seed: int = 0) -> dict:
    from mmengine.config import Config

    from vidplugins.demo_data.pas_videos import generate_pas_videos
    from vidplugins.pas.complexity import complexity
    from vidplugins.pas.hypothesis import write_training_config
    from vidplugins.pas.operators import write_reduced_config
    from vidplugins.pas.search import _last_checkpoint, export_student
    work_dir = osp.abspath(work_dir)
    data_root = osp.join(work_dir, 'data')
    if not osp.isfile(osp.join(data_root, 'generation.json')):
        generate_pas_videos(data_root, seed=seed)
    base_path = write_base_config(work_dir, data_root)   # epochs set per run below
    base = Config.fromfile(base_path)
    results = {}
    b_dir = osp.join(work_dir, 'B')
    student = osp.join(b_dir, 'student.pth')
    if not osp.isfile(student):
        results['B'] = _train_and_test(base, b_dir, base_epochs)
        export_student(_last_checkpoint(b_dir), student)
    else:
        results['B'] = _test(base, osp.join(b_dir, 'test'), student)
    results['B']['gflops'] = complexity(base)[1]
    arch = osp.join(work_dir, 'c', 'arch.py')
    write_reduced_config(base_path, 'c', arch)
    gflops = complexity(Config.fromfile(arch))[1]
    for mode in ('scratch', 'slice'):
        folder = osp.join(work_dir, f'c_{mode}')
        start = time.time()
        cfg = write_training_config(arch, osp.join(folder, 'config.py'), base, student, ['c'],
                                    'c', student, parent_arch=base_path, channel_init=mode)
        if mode == 'slice':
            slice_seconds = time.time() - start
            init = osp.join(folder, 'init_slice.pth')
            results['c_slice_epoch0'] = dict(_test(Config.fromfile(arch),
                                                   osp.join(folder, 'test0'), init),
                                             gflops=gflops, slice_seconds=slice_seconds)
        results[f'c_{mode}'] = dict(_train_and_test(cfg, osp.join(folder, 'train'), epochs),
                                    gflops=gflops)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/pas_slice')
    p.add_argument('--epochs', type=int, default=3, help='epochs of each c hypothesis')
    p.add_argument('--base-epochs', type=int, default=8, help="B's epochs")
    p.add_argument('--seed', type=int, default=0, help='data seed')
    args = p.parse_args()
    results = run(args.work_dir, args.epochs, args.base_epochs, args.seed)
    print(f'\n{"network":<34} {"top-1":>7} {"top-5":>7} {"GFLOPs":>8}')
    labels = dict(B=f'B ({args.base_epochs} epochs)',
                  c_scratch=f'c, scratch (thesis), {args.epochs} ep.',
                  c_slice_epoch0='c, slice, before training',
                  c_slice=f'c, slice (torch-pruning L1), {args.epochs} ep.')
    for key, label in labels.items():
        r = results[key]
        print(f'{label:<34} {r["top1"]:7.2f} {r["top5"]:7.2f} {r["gflops"]:8.4f}')
    print(f'slice - scratch at equal epochs: '
          f'{results["c_slice"]["top1"] - results["c_scratch"]["top1"]:+.2f} top-1 points; '
          f'slicing took {results["c_slice_epoch0"]["slice_seconds"]:.1f} s')


if __name__ == '__main__':
    main()
