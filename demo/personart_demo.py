"""PersonArt (thesis App. A.2) on generated faces, on CPU, through the user-facing tools.

    python demo/personart_demo.py [--work-dir work_dirs/personart_demo] [--identities 80]

1. writes a small CelebA of generated identities (photos) with their "paintings" (a fixed
   stylisation standing in for the Gatys proxies of ``tools/personart/stylize.py``), attributes
   and identity / partition / bbox / landmark files in the official formats;
2. precomputes phi (a frozen ResNet-18 stem, random weights) for the train and test splits;
3. trains the projections and the attribute branches (``tools/train.py``, the demo config);
4. evaluates the untrained projection (``CKPT none``: phi's own cosine) and the trained model with
   ``tools/personart/evaluate.py``: Recall@k, attribute accuracy, weighted retrieval, AP after
   1 / 5 / 10 feedback iterations;
5. prints the verdict: training must raise R@1 far above the untrained projection, and feedback
   must raise AP.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'personart',
                  'personart_features_1xb32-adam-20e_generated-faces-demo.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='PersonArt CPU demo on generated faces')
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'personart_demo'))
    p.add_argument('--identities', type=int, default=120)
    p.add_argument('--images-per-identity', type=int, default=6)
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--in-process', action='store_true',
                   help='run training and evaluation in this process (tests)')
    return p.parse_args(argv)


def prepare(work_dir, identities, per_identity, seed):
    """Generated CelebA + phi feature files (skipped when present)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS

    import vidplugins.personart  # noqa: F401
    from vidplugins.demo_data.personart_faces import generate_personart_celeba
    from vidplugins.personart.datasets import CelebAFaces
    from vidplugins.personart.inference import extract_features
    data = osp.join(work_dir, 'celeba')
    if not osp.isfile(osp.join(data, 'list_attr_celeba.txt')):
        info = generate_personart_celeba(data, identities, per_identity, size=64, seed=seed)
        print(f'generated {info["images"]} photos + paintings of {identities} identities '
              f'({info["train_identities"]} for training) in {data}')
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(seed)
    phi = MODELS.build(cfg.phi).eval()
    files = {}
    for split in ('train', 'test'):
        out = osp.join(work_dir, f'features_{split}.npz')
        if not osp.isfile(out):
            ds = CelebAFaces(data, split=split, pairs=False, img_size=64)
            print(f'phi features of the {split} split ({len(ds)} images)')
            extract_features(phi, ds, out, progress=False)
        files[split] = out
    return files


def run(cmd, log_path):
    print('$ ' + ' '.join(osp.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
          flush=True)
    # one thread: the demo's models are tiny, and extra threads only wait on a busy machine
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                              env=env)
    if proc.returncode:
        with open(log_path) as f:
            sys.stdout.write(f.read()[-5000:])
        raise SystemExit(f'failed ({proc.returncode}): see {log_path}')


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    t0 = time.time()
    files = prepare(args.work_dir, args.identities, args.images_per_identity, args.seed)
    opts = [f'train_dataloader.dataset.ann_file={files["train"]}',
            f'test_dataloader.dataset.ann_file={files["test"]}',
            f'train_cfg.max_epochs={args.epochs}',
            f'default_hooks.checkpoint.interval={args.epochs}',
            f'randomness.seed={args.seed}']
    train_dir = osp.join(args.work_dir, 'train')
    ckpt = osp.join(train_dir, f'epoch_{args.epochs}.pth')
    evaluate = osp.join(ROOT, 'tools', 'personart', 'evaluate.py')
    results = {}
    if args.in_process:
        import importlib.util

        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)   # tiny models (see run())

        from mmengine.config import Config
        from mmengine.runner import Runner
        if not osp.isfile(ckpt):
            cfg = Config.fromfile(CONFIG)
            cfg.merge_from_dict(dict(o.split('=', 1) for o in opts[:2]))
            cfg.train_cfg.max_epochs = args.epochs
            cfg.default_hooks.checkpoint.interval = args.epochs
            cfg.randomness.seed = args.seed
            cfg.work_dir = train_dir
            cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
            Runner.from_cfg(cfg).train()
        spec = importlib.util.spec_from_file_location('personart_evaluate', evaluate)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, c in (('untrained', 'none'), ('trained', ckpt)):
            results[name] = mod.main([CONFIG, c, '--work-dir', osp.join(args.work_dir, name),
                                      '--cfg-options', *opts[1:2]])
        torch.set_num_threads(threads)
    else:
        if not osp.isfile(ckpt):
            run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
                 train_dir, '--resume', 'auto', '--no-validate', '--cfg-options', *opts],
                osp.join(args.work_dir, 'train.log'))
        for name, c in (('untrained', 'none'), ('trained', ckpt)):
            out = osp.join(args.work_dir, f'metrics_{name}.json')
            run([sys.executable, evaluate, CONFIG, c, '--work-dir',
                 osp.join(args.work_dir, name), '--out', out, '--cfg-options', opts[1]],
                osp.join(args.work_dir, f'eval_{name}.log'))
            with open(out) as f:
                results[name] = json.load(f)
    p = 'personart/'
    u, t = results['untrained'], results['trained']
    print('\n                      untrained projection   trained')
    for key in ('R@1', 'R@5', 'R@10', 'attr_acc_real', 'attr_acc_art', 'lambda0.2/attr_acc',
                'AP@fb0', 'AP@fb1', 'AP@fb5', 'AP@fb10'):
        nan = float('nan')
        print(f'{key:22s}{u.get(p + key, nan):>14.1f}{t.get(p + key, nan):>14.1f}')
    gain = t[p + 'R@1'] - u[p + 'R@1']
    fb_gain = t[p + 'AP@fb10'] - t[p + 'AP@fb0']
    ok = gain >= 20 and fb_gain >= 5
    print(f'\nR@1 gain from training: {gain:+.1f} points; AP gain from 10 feedback iterations: '
          f'{fb_gain:+.1f} points -> {"PASS" if ok else "FAIL"} ({time.time() - t0:.0f} s)')
    return results


if __name__ == '__main__':
    main()
