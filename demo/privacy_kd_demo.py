"""Privileged distillation for privacy-preserving recognition (thesis Ch. 5) on generated videos,
through the user-facing tools.

    python demo/privacy_kd_demo.py [--work-dir work_dirs/privacy_demo] [--data-root ...] [--seed 0]

1. writes the demo dataset (mp4 originals, face boxes, a face-obfuscated mirror) unless present;
2. trains with ``tools/train.py``: the teacher on originals, the student on obfuscated clips only
   (strategy a), the KD student (b) and the KD + RKD student (c), the last two reading the
   teacher's checkpoint;
3. tests with ``tools/test.py`` and prints the table: teacher on originals, teacher on obfuscated
   clips, student without KD, with KD, with KD + RKD (all students on obfuscated clips).
Re-running resumes finished steps (``--resume auto``; delete the work dir to start over).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
CONFIG_DIR = osp.join(ROOT, 'configs', 'privacy')
R = 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400'
TEACHER = f'{R}-rgb_cpu-demo'
TEACHER_ON_OBF = f'{R}-rgb_test-faces_cpu-demo'
STUDENT = f'{R}-faces-rgb_cpu-demo'
KD = f'privileged-kd_{R}-faces-rgb_cpu-demo'
KD_RKD = f'privileged-kd-rkd_{R}-faces-rgb_cpu-demo'
EPOCHS = 10   # the demo configs' max_epochs


def run(cmd, log_path):
    print('$ ' + ' '.join(osp.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
          flush=True)
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        with open(log_path) as f:
            sys.stdout.write(f.read()[-5000:])
        raise SystemExit(f'failed ({proc.returncode}): see {log_path}')


def data_opts(data_root, train=True):
    opts = [f'test_dataloader.dataset.data_root={data_root}']
    if train:
        opts.append(f'train_dataloader.dataset.dataset.data_root={data_root}')
    return opts


def train(name, work_root, data_root, extra=(), seed=0):
    work_dir = osp.join(work_root, name)
    ckpt = osp.join(work_dir, f'epoch_{EPOCHS}.pth')
    if not osp.isfile(ckpt):
        os.makedirs(work_dir, exist_ok=True)
        t0 = time.time()
        run([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
             osp.join(CONFIG_DIR, name + '.py'), '--work-dir', work_dir, '--resume', 'auto',
             '--cfg-options', *data_opts(data_root), f'randomness.seed={seed}', *extra],
            osp.join(work_dir, 'train_console.log'))
        print(f'  trained {name} in {time.time() - t0:.0f} s', flush=True)
    return ckpt


def test(name, ckpt, work_root, data_root):
    work_dir = osp.join(work_root, 'test_' + name)
    os.makedirs(work_dir, exist_ok=True)
    log = osp.join(work_dir, 'test_console.log')
    run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), osp.join(CONFIG_DIR, name + '.py'),
         ckpt, '--work-dir', work_dir, '--cfg-options', *data_opts(data_root, train=False)], log)
    metrics = sorted(
        (osp.join(dp, f) for dp, _, fs in os.walk(work_dir) for f in fs
         if f.endswith('.json') and f[:8].isdigit() and 'vis_data' not in dp),
        key=osp.getmtime)
    with open(metrics[-1]) as f:
        return 100 * json.load(f)['acc/top1']


def _generated_with_defaults(data_root, seed, generate):
    """Whether ``data_root`` holds a set written by ``generate`` with this seed and its current
    default parameters (an older demo set is rewritten, not silently reused)."""
    import inspect
    path = osp.join(data_root, 'generation.json')
    if not osp.isfile(path):
        return False
    with open(path) as f:
        info = json.load(f)
    defaults = {k: p.default for k, p in inspect.signature(generate).parameters.items()
                if p.default is not inspect.Parameter.empty and k not in ('splits', 'seed')}
    stale = sorted(k for k, v in defaults.items() if info.get(k) != v)
    if info.get('seed') != seed:
        stale.append('seed')
    if stale:
        print(f'{path}: written with other {", ".join(stale)}; regenerating', flush=True)
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'privacy_demo'))
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data', 'privacy_demo'))
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the generated data and of the training runs')
    args = parser.parse_args()
    work, data = osp.abspath(args.work_dir), osp.abspath(args.data_root)

    from vidplugins.demo_data.privacy_videos import generate_privacy_videos
    if not _generated_with_defaults(data, args.seed, generate_privacy_videos):
        t0 = time.time()
        info = generate_privacy_videos(data, seed=args.seed)
        print(f'generated the demo set in {data} ({time.time() - t0:.0f} s; '
              f'{info["noisy_labels"]} noisy training labels)', flush=True)

    teacher = train(TEACHER, work, data, seed=args.seed)
    student = train(STUDENT, work, data, seed=args.seed)
    kd = train(KD, work, data, [f'model.teacher_ckpt={teacher}'], seed=args.seed)
    kd_rkd = train(KD_RKD, work, data, [f'model.teacher_ckpt={teacher}'], seed=args.seed)

    rows = [
        ('teacher (trained on originals), originals', test(TEACHER, teacher, work, data)),
        ('teacher (trained on originals), obfuscated', test(TEACHER_ON_OBF, teacher, work, data)),
        ('student on obfuscated, no KD (a)', test(STUDENT, student, work, data)),
        ('student on obfuscated, KD (b)', test(KD, kd, work, data)),
        ('student on obfuscated, KD + RKD (c)', test(KD_RKD, kd_rkd, work, data)),
    ]
    print('\nTop-1 accuracy on the generated test set (clean labels; chance '
          f'{100 / 4:.0f}%):')
    print(f'{"model / test clips":48s} top-1')
    for name, acc in rows:
        print(f'{name:48s} {acc:5.1f}')
    gap = rows[0][1] - rows[2][1]
    if gap > 0:
        print(f'\nKD recovers {100 * (rows[3][1] - rows[2][1]) / gap:.0f}% of the gap between the '
              f'teacher on originals and the student without KD '
              f'(KD + RKD: {100 * (rows[4][1] - rows[2][1]) / gap:.0f}%).')
    # The margins asserted by tests/privacy/test_proof_of_learning_privacy.py.
    checks = [
        ('teacher >= 70 on originals', rows[0][1] >= 70),
        ('obfuscation hurts the teacher (>= 10 points)', rows[0][1] - rows[1][1] >= 10),
        ('KD beats the obfuscated-only student (>= 5 points)', rows[3][1] - rows[2][1] >= 5),
        ('KD + RKD beats it (>= 5 points)', rows[4][1] - rows[2][1] >= 5),
        ('mean KD / KD + RKD gain >= 7 points',
         (rows[3][1] + rows[4][1]) / 2 - rows[2][1] >= 7),
    ]
    print('\nVerdict:')
    for name, ok in checks:
        print(f'  [{"ok" if ok else "FAILED"}] {name}')
    print('privileged distillation ' + ('helps' if all(ok for _, ok in checks) else
                                        'did not show its margin in this run'))


if __name__ == '__main__':
    main()
