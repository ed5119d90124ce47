"""RMS-Net end to end on a generated SoccerNet-v1 set, through the user-facing tools.

    python demo/rmsnet_soccernet_demo.py [--work-dir work_dirs/rmsnet_demo] [--data-root ...]

1. writes the demo dataset (official layout, planted signal) unless it is already there;
2. trains the main config shortened for CPU with ``tools/train.py`` (and the no-regression
   ablation of Table 4.3, to show what offset regression buys at tight tolerances);
3. tests the best checkpoints with ``tools/test.py --show-dir``: one ``results_spotting.json`` per
   game and a timeline plot per game, with the thesis's inference rule (each window predicts its
   clip class, Sec. 4.2.2) and with one candidate per class and window;
4. re-scores the written files with ``tools/eval_spotting.py`` and prints Average-mAP next to a
   chance baseline.
While a tool runs, the console shows its progress (epoch, iteration, ETA, loss, Average-mAP, from
mmengine's logger); its whole output goes to ``<work dir>/<config>/*_console.log``.
Re-running resumes finished steps (``--resume auto``; delete the work dir to start over).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'rmsnet')
#: The inference rules the table shows (vidplugins.rmsnet.postprocess.SPOT_RULES): the thesis's
#: clip class first (the configs' default).
SPOT_RULES = ('clip_class', 'per_class')
RULE_NAMES = dict(clip_class='clip class', per_class='per class')
FULL = 'rmsnet_resnet152-pca512_soccernet-v1_cpu-demo'
ABLATION = FULL + '_no-regression'


#: mmengine logger lines worth showing while a tool runs (the rest goes to the log file).
_PROGRESS = re.compile(r'Epoch\((train|val|test)\)|Saving checkpoint|best checkpoint')
_FIELDS = ('eta', 'loss', 'spotting/a_mAP_loose', 'spotting/a_mAP_tight')


def progress_line(line):
    """A short console line for an mmengine progress line (epoch, iteration, ETA, loss,
    Average-mAP), or None for any other line.

    ``12/01 14:40:01 - mmengine - INFO - Epoch(train) [1][10/32]  lr: 5e-04  eta: 0:01:23
    time: 0.2 ... loss: 1.2345  loss_cls: 1.1`` -> ``Epoch(train) [1][10/32]  eta: 0:01:23
    loss: 1.2345``.
    """
    match = _PROGRESS.search(line)
    if match is None:
        return None
    text = line[match.start():].strip()
    if not text.startswith('Epoch('):
        return text                                     # checkpoint saved / new best
    head = re.match(r'Epoch\(\w+\)\s+(\[\d+\])?\s*\[\d+/\d+\]', text)
    fields = [f'{key}: {value}' for key, value in re.findall(r'([\w/]+): (\S+)', text)
              if key in _FIELDS]
    return '  '.join([head.group(0) if head else text.split('  ')[0]] + fields)


def run(cmd, log_path=None):
    """Run a tool. With ``log_path``, its whole output goes to that file while the console
    shows its progress (``progress_line``: epoch, iteration, ETA, loss, Average-mAP); returns
    the output."""
    print('$ ' + ' '.join(cmd), flush=True)
    if log_path is None:
        subprocess.run(cmd, check=True, cwd=ROOT)
        return ''
    lines = []
    with open(log_path, 'w') as log:
        # Unbuffered: the tool's lines arrive as it logs them, not in 8 kB blocks.
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1,
                                env=dict(os.environ, PYTHONUNBUFFERED='1'))
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            short = progress_line(line)
            if short is not None:
                print('    ' + short, flush=True)
        returncode = proc.wait()
    out = ''.join(lines)
    if returncode:
        sys.stdout.write(out[-5000:])
        raise SystemExit(f'failed ({returncode}): see {log_path}')
    return out


def best_checkpoint(work_dir):
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if not best:
        raise SystemExit(f'no best_*.pth checkpoint in {work_dir}')
    return best[-1]


def train_and_test(name, work_root, data_root):
    """Train, then test the best checkpoint with each inference rule (Sec. 4.2.2's clip class,
    the config's default, and one candidate per class). Returns ``{rule: predictions dir}`` and
    the timelines folder."""
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
    predictions = {}
    for rule in SPOT_RULES:
        show_dir = osp.join(work_dir, 'test' if rule == 'clip_class' else f'test_{rule}')
        extra = ['--dump', osp.join(work_dir, 'test_outputs.pkl')] if rule == 'clip_class' \
            else []
        run([sys.executable, 'tools/test.py', config, best_checkpoint(work_dir), '--work-dir',
             work_dir, '--show-dir', show_dir] + extra + opts
            + [f'test_evaluator.spot_rule={rule}'] * (rule != 'clip_class'),
            osp.join(work_dir, f'test_{rule}_console.log'))
        predictions[rule] = osp.join(show_dir, 'predictions')
    print(f'  {name}: trained in {t_train:.0f} s', flush=True)
    return predictions, osp.join(work_dir, 'test', 'timelines')


def evaluate(labels_root, predictions, metric):
    out = run([sys.executable, 'tools/eval_spotting.py', labels_root, predictions, '--metric',
               metric, '--version', '1'], log_path=predictions.rstrip('/') + f'_{metric}.log')
    return json.loads(out.strip().splitlines()[-1])


def chance_predictions(labels_root, games, out_dir, seed=0):
    """Chance baseline: one spot per 41-frame window at its centre, random confidences."""
    from vidplugins.rmsnet.postprocess import spots_to_predictions, write_predictions
    from vidplugins.soccernet import CLASSES_V1
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
    from vidplugins.soccernet import read_game_list
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
    for name, label in ((ABLATION, 'w/o offset regression'), (FULL, 'RMS-Net (full)')):
        predictions, timelines = train_and_test(name, work_root, data_root)
        for rule in SPOT_RULES:
            results[f'{label}, {RULE_NAMES[rule]}'] = predictions[rule]
    full_key, ablation_key = 'RMS-Net (full), clip class', 'w/o offset regression, clip class'

    print('\nRMS-Net demo: SoccerNet-v1 format, %d test games, scored by tools/eval_spotting.py'
          % len(test_games))
    print('(clip class: each window predicts its arg-max class, Sec. 4.2.2, the default; per '
          'class: one candidate per class and window)')
    print(f'{"model, inference rule":42s} {"loose a-mAP":>12s} {"tight a-mAP":>12s}')
    table = {}
    for label, predictions in results.items():
        loose = evaluate(labels_root, predictions, 'loose')['a_mAP']
        tight = evaluate(labels_root, predictions, 'tight')['a_mAP']
        table[label] = (loose, tight)
        print(f'{label:42s} {100 * loose:12.1f} {100 * tight:12.1f}')
    game = test_games[0]
    print(f'\npredictions: {osp.join(results[full_key], game, "results_spotting.json")}')
    print(f'timeline:    {osp.join(timelines, game.replace("/", "__") + ".png")}')
    with open(osp.join(work_root, 'summary.json'), 'w') as f:
        json.dump({k: dict(loose=v[0], tight=v[1]) for k, v in table.items()}, f, indent=1)
    full, ablation = table[full_key], table[ablation_key]
    chance = table['chance (random scores, window centres)']
    ok = full[0] > chance[0] + 0.2 and full[1] > ablation[1]
    print('\nfull model beats chance by %.1f loose a-mAP points and the no-regression ablation '
          'by %.1f tight points: %s' % (100 * (full[0] - chance[0]),
                                        100 * (full[1] - ablation[1]), 'OK' if ok else 'FAILED'))
    if not ok:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
