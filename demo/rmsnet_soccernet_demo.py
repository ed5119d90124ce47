"""RMS-Net end to end on a generated SoccerNet-v1 set, through the user-facing tools.

    python demo/rmsnet_soccernet_demo.py [--work-dir work_dirs/rmsnet_demo] [--data-root ...]

1. writes the demo dataset (official layout, planted signal) unless it is already there;
2. trains the main config shortened for CPU with ``tools/train.py`` (and the no-regression
   ablation of Table 4.3, to show what offset regression buys at tight tolerances);
3. tests the best checkpoints with ``tools/test.py --show-dir``: one ``results_spotting.json`` per
   game and a timeline plot per game;
4. re-scores the written files with ``tools/eval_spotting.py`` and prints Average-mAP next to a
   chance baseline.
Re-running resumes finished steps (``--resume auto``; delete the work dir to start over).
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'rmsnet')
FULL = 'rmsnet_resnet152-pca512_soccernet-v1_cpu-demo'
ABLATION = FULL + '_no-regression'


def run(cmd, log_path=None):
    """Run a tool; its output goes to the console (and to ``log_path``)."""
    print('$ ' + ' '.join(cmd), flush=True)
    if log_path is None:
        subprocess.run(cmd, check=True, cwd=ROOT)
        return ''
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        log.write(proc.stdout)
    if proc.returncode:
        sys.stdout.write(proc.stdout[-5000:])
        raise SystemExit(f'failed ({proc.returncode}): see {log_path}')
    return proc.stdout


def best_checkpoint(work_dir):
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if not best:
        raise SystemExit(f'no best_*.pth checkpoint in {work_dir}')
    return best[-1]


def train_and_test(name, work_root, data_root):
    config = osp.join(CONFIG_DIR, name + '.py')
    work_dir = osp.join(work_root, name)
    os.makedirs(work_dir, exist_ok=True)
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'train_dataloader.dataset.ann_file={data_root}/listgame_Train.npy',
            f'val_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.ann_file={data_root}/listgame_Valid.npy',
            f'test_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.ann_file={data_root}/listgame_Test.npy']
    t0 = time.time()
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--resume', 'auto']
        + opts, osp.join(work_dir, 'train_console.log'))
    t_train = time.time() - t0
    show_dir = osp.join(work_dir, 'test')
    run([sys.executable, 'tools/test.py', config, best_checkpoint(work_dir), '--work-dir',
         work_dir, '--show-dir', show_dir, '--dump', osp.join(work_dir, 'test_outputs.pkl')]
        + opts, osp.join(work_dir, 'test_console.log'))
    print(f'  {name}: trained in {t_train:.0f} s', flush=True)
    return osp.join(show_dir, 'predictions'), osp.join(show_dir, 'timelines')


def evaluate(labels_root, predictions, metric):
    out = run([sys.executable, 'tools/eval_spotting.py', labels_root, predictions, '--metric',
               metric, '--version', '1'], log_path=predictions.rstrip('/') + f'_{metric}.log')
    return json.loads(out.strip().splitlines()[-1])


def chance_predictions(labels_root, games, out_dir, seed=0):
    """Chance baseline: one spot per 41-frame window at its centre, random confidences."""
    from vidplugins.rmsnet.postprocess import spots_to_predictions, write_predictions
    from vidplugins.rmsnet.soccernet import CLASSES_V1
    rng = np.random.default_rng(seed)
    for game in games:
        halves = {}
        for half in (1, 2):
            n = len(np.load(osp.join(labels_root, game, f'{half}_ResNet_PCA512.npy'),
                            mmap_mode='r'))
            centres = np.arange(0, n - 40, 41) + 20
            frames = np.repeat(centres, 3)
            labels = np.tile(np.arange(3), len(centres))
            halves[half] = (frames, labels, rng.random(len(frames)))
        write_predictions(out_dir, game, spots_to_predictions(game, halves, CLASSES_V1))
    return out_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/rmsnet_demo')
    parser.add_argument('--data-root', default='data/soccernet_demo')
    args = parser.parse_args()
    work_root = osp.abspath(osp.join(ROOT, args.work_dir))
    data_root = osp.abspath(osp.join(ROOT, args.data_root))

    from vidplugins.demo_data.soccernet import generate_soccernet
    from vidplugins.rmsnet.soccernet import read_game_list
    if not osp.isfile(osp.join(data_root, 'listgame_Test.npy')):
        print(f'writing the demo SoccerNet-v1 set to {data_root}', flush=True)
        generate_soccernet(data_root, version=1)
    test_games = read_game_list(osp.join(data_root, 'listgame_Test.npy'))
    # The evaluator finds games from a labels tree: the test split's label files.
    labels_root = osp.join(work_root, 'test_labels')
    shutil.rmtree(labels_root, ignore_errors=True)
    for game in test_games:
        os.makedirs(osp.join(labels_root, game), exist_ok=True)
        shutil.copyfile(osp.join(data_root, game, 'Labels.json'),
                        osp.join(labels_root, game, 'Labels.json'))

    results = {}
    chance_dir = chance_predictions(data_root, test_games, osp.join(work_root, 'chance'))
    results['chance (random scores, window centres)'] = chance_dir
    timelines = None
    for name, label in ((ABLATION, 'RMS-Net w/o offset regression'), (FULL, 'RMS-Net (full)')):
        predictions, timelines = train_and_test(name, work_root, data_root)
        results[label] = predictions

    print('\nRMS-Net demo: SoccerNet-v1 format, %d test games, scored by tools/eval_spotting.py'
          % len(test_games))
    print(f'{"model":42s} {"loose a-mAP":>12s} {"tight a-mAP":>12s}')
    table = {}
    for label, predictions in results.items():
        loose = evaluate(labels_root, predictions, 'loose')['a_mAP']
        tight = evaluate(labels_root, predictions, 'tight')['a_mAP']
        table[label] = (loose, tight)
        print(f'{label:42s} {100 * loose:12.1f} {100 * tight:12.1f}')
    game = test_games[0]
    print(f'\npredictions: {osp.join(results["RMS-Net (full)"], game, "results_spotting.json")}')
    print(f'timeline:    {osp.join(timelines, game.replace("/", "__") + ".png")}')
    with open(osp.join(work_root, 'summary.json'), 'w') as f:
        json.dump({k: dict(loose=v[0], tight=v[1]) for k, v in table.items()}, f, indent=1)
    full, ablation = table['RMS-Net (full)'], table['RMS-Net w/o offset regression']
    chance = table['chance (random scores, window centres)']
    ok = full[0] > chance[0] + 0.2 and full[1] > ablation[1]
    print('\nfull model beats chance by %.1f loose a-mAP points and the no-regression ablation '
          'by %.1f tight points: %s' % (100 * (full[0] - chance[0]),
                                        100 * (full[1] - ablation[1]), 'OK' if ok else 'FAILED'))
    if not ok:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
