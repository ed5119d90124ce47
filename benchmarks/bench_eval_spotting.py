"""Benchmark: SoccerNet action-spotting Average-mAP, official evaluator vs ``vidplugins``.

Generates ``--games`` synthetic games in the real on-disk formats (``Labels-v2.json`` /
``Labels.json`` under ``league/season/game/`` and ``results_spotting.json`` in a separate
predictions tree), then, in this one process and on the same files, times

* the official ``SoccerNet.Evaluation.ActionSpotting.evaluate`` (pip package ``SoccerNet``), and
* ``vidplugins.soccernet.evaluation.evaluate_folders``,

for the loose and tight metrics, checks that every returned number agrees to 1e-6 and prints the
times and speed-ups. It also times both as a user runs them, as whole commands (a fresh
interpreter each, imports included): ``python tools/eval_spotting.py LABELS PREDICTIONS`` against
``python -c`` running the official ``evaluate`` on the same trees, and prints both ways (whole
command and in-process). Goal: the whole command >= 10x faster, loose and tight. The synthetic games are shaped like SoccerNet-v2 (thesis Sec. 4.2.1): about
100-170 events per half spread over 45 minutes with roughly the real class frequencies, ~10%
"not shown", and ~6,000 predictions per game, a third of them near an event.

    python benchmarks/bench_eval_spotting.py [--games 100] [--version 2] [--seed 0]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import os.path as osp
import sys
import tempfile
import time

import numpy as np

from vidplugins.soccernet import CLASSES_V2, LABEL_FILES, classes_for, find_games, format_game_time
from vidplugins.soccernet.evaluation.average_map import (METRIC_DELTAS, average_map,
                                                         evaluate_folders, load_ground_truth,
                                                         load_predictions)

#: Approximate event counts per class in SoccerNet-v2, used only as relative class frequencies.
V2_CLASS_COUNTS = (173, 2566, 1703, 2839, 2098, 5820, 5256, 7896, 31810, 18918, 11674, 9683,
                   2434, 4836, 2041, 55, 46)
#: v1 raw labels (mapped by substring by the evaluator) with rough frequencies.
V1_RAW_LABELS = (('yellow-card', 3), ('red-card', 0.3), ('substitution-in', 3),
                 ('soccer-ball', 1.5), ('soccer-ball-own', 0.1))
V1_PREDICTION_LABELS = ('card', 'subs', 'soccer')
HALF_MS = 45 * 60 * 1000


def _gt_annotations(rng, version):
    """Random annotations of one game, as the label file lists them."""
    if version == 2:
        names = CLASSES_V2
        weights = np.asarray(V2_CLASS_COUNTS, float)
    else:
        names = tuple(n for n, _ in V1_RAW_LABELS)
        weights = np.asarray([w for _, w in V1_RAW_LABELS], float)
    weights /= weights.sum()
    annotations = []
    for half in (1, 2):
        n = int(rng.integers(100, 171)) if version == 2 else int(rng.integers(5, 15))
        # Stoppage time: a few events just past 45 min.
        positions = np.sort(rng.integers(0, HALF_MS + 3 * 60 * 1000, n))
        labels = rng.choice(len(names), n, p=weights)
        for pos, lab in zip(positions.tolist(), labels.tolist()):
            ann = {'gameTime': format_game_time(half, pos), 'label': names[lab], 'team': 'home'}
            if version == 2:  # v1 files have no ms position nor visibility
                ann['position'] = str(pos)
                ann['visibility'] = 'not shown' if rng.random() < 0.1 else 'visible'
            annotations.append(ann)
    return annotations


def _position_ms(annotation):
    """Position of an annotation in ms (v1 files only have the second in ``gameTime``)."""
    if 'position' in annotation:
        return int(annotation['position'])
    minutes, seconds = annotation['gameTime'][-5:].split(':')
    return (int(minutes) * 60 + int(seconds)) * 1000


def _prediction_entries(rng, annotations, version, per_game):
    """Predictions of one game: some near the events (higher scores), the rest uniform."""
    names = CLASSES_V2 if version == 2 else V1_PREDICTION_LABELS
    preds = []
    near = [a for a in annotations if version == 2 or any(
        k in a['label'] for k in ('card', 'subs', 'soccer'))]
    n_near = min(per_game // 3, 4 * len(near))
    for k in range(n_near):
        a = near[k % len(near)]
        half = int(a['gameTime'][0])
        pos = max(0, _position_ms(a) + int(rng.normal(0, 8000)))
        label = a['label'] if version == 2 else next(
            n for n in V1_PREDICTION_LABELS if n in a['label'])
        preds.append((half, pos, label, float(rng.beta(4, 2))))
    for _ in range(per_game - n_near):
        preds.append((int(rng.integers(1, 3)), int(rng.integers(0, HALF_MS + 60_000)),
                      names[int(rng.integers(len(names)))], float(rng.random())))
    return [{'gameTime': format_game_time(h, p), 'label': lab, 'position': str(p),
             'half': str(h), 'confidence': f'{c:.6f}'} for h, p, lab, c in preds]


def make_dataset(root, games, version=2, per_game=6000, seed=0):
    """Write ``games`` synthetic games under ``root/labels`` and ``root/predictions``.

    Returns:
        (labels_dir, predictions_dir).
    """
    rng = np.random.default_rng(seed)
    labels_dir, preds_dir = osp.join(root, 'labels'), osp.join(root, 'predictions')
    for g in range(games):
        game = osp.join('league', f'season-{g % 3}', f'game-{g:04d}')
        annotations = _gt_annotations(rng, version)
        os.makedirs(osp.join(labels_dir, game))
        os.makedirs(osp.join(preds_dir, game))
        with open(osp.join(labels_dir, game, LABEL_FILES[version]), 'w') as f:
            json.dump({'UrlLocal': game, 'annotations': annotations}, f)
        with open(osp.join(preds_dir, game, 'results_spotting.json'), 'w') as f:
            json.dump({'UrlLocal': game, 'predictions':
                       _prediction_entries(rng, annotations, version, per_game)}, f)
    return labels_dir, preds_dir


def run_official(labels_dir, preds_dir, version, metric):
    """The official evaluator on the same trees (its progress bars silenced)."""
    from SoccerNet.Evaluation.ActionSpotting import evaluate
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V1, EVENT_DICTIONARY_V2
    with contextlib.redirect_stderr(io.StringIO()):
        return evaluate(labels_dir, preds_dir, prediction_file='results_spotting.json',
                        version=version, metric=metric, framerate=2,
                        label_files=LABEL_FILES[version], dataset=None,
                        EVENT_DICTIONARY=EVENT_DICTIONARY_V2 if version == 2
                        else EVENT_DICTIONARY_V1)


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: The official evaluator as a whole command: python -c OFFICIAL_COMMAND LABELS PREDS VERSION METRIC
OFFICIAL_COMMAND = (
    'import json, sys\n'
    'from SoccerNet.Evaluation.ActionSpotting import evaluate\n'
    'from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V1, EVENT_DICTIONARY_V2\n'
    'labels, preds, version, metric = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n'
    'r = evaluate(labels, preds, prediction_file="results_spotting.json", version=version,\n'
    '             metric=metric, framerate=2, dataset=None,\n'
    '             label_files="Labels-v2.json" if version == 2 else "Labels.json",\n'
    '             EVENT_DICTIONARY=EVENT_DICTIONARY_V2 if version == 2 else EVENT_DICTIONARY_V1)\n'
    'print(json.dumps({"a_mAP": r["a_mAP"]}))\n')


def time_command(cmd):
    """(wall seconds, CPU seconds (user + system), a_mAP printed as the last line's JSON) of one
    command run from the repo root. CPU time does not count waiting for a busy machine's cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f'{" ".join(cmd[:3])} failed:\n{proc.stderr[-3000:]}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, json.loads(proc.stdout.strip().splitlines()[-1])['a_mAP']


def whole_commands(labels_dir, preds_dir, version, metric, repeats):
    """(wall, CPU) seconds of the official command (once: it is the slow one) and of
    ``tools/eval_spotting.py`` (best of ``repeats``), checking they print the same a_mAP."""
    t_official, cpu_official, ref = time_command(
        [sys.executable, '-c', OFFICIAL_COMMAND, labels_dir, preds_dir, str(version), metric])
    ours = [time_command([sys.executable, osp.join('tools', 'eval_spotting.py'), labels_dir,
                          preds_dir, '--metric', metric, '--version', str(version)])
            for _ in range(repeats)]
    for _, _, value in ours:
        if abs(value - ref) > 1e-6:
            sys.exit(f'{metric}: whole commands differ: official {ref}, ours {value}')
    return (t_official, cpu_official), (min(t for t, _, _ in ours), min(c for _, c, _ in ours))


def max_difference(official, ours):
    """Largest absolute difference over all the numbers both results hold."""
    worst = 0.0
    for key, ref in official.items():
        if ref is None:
            assert ours[key] is None, key
            continue
        a = np.asarray(ref, float).ravel()
        b = np.asarray(ours[key], float).ravel()
        assert a.shape == b.shape, key
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
    return worst


def time_json_only(labels_dir, preds_dir):
    """Seconds to just parse every label and prediction file: a floor for any evaluator."""
    paths = [osp.join(d, f) for top in (labels_dir, preds_dir)
             for d, _, files in os.walk(top) for f in files if f.endswith('.json')]
    t0 = time.perf_counter()
    for path in paths:
        with open(path, 'rb') as f:
            json.loads(f.read())
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--games', type=int, default=100)
    parser.add_argument('--version', type=int, choices=(1, 2), default=2)
    parser.add_argument('--predictions-per-game', type=int, default=6000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3,
                        help='runs of ours per metric (the best is reported)')
    args = parser.parse_args(argv)
    try:
        import SoccerNet.Evaluation.ActionSpotting  # noqa: F401
    except ImportError:
        sys.exit('the official evaluator is needed: pip install SoccerNet==0.2.0')

    speedups, in_memory, whole = {}, {}, {}
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        labels_dir, preds_dir = make_dataset(root, args.games, args.version,
                                             args.predictions_per_game, args.seed)
        print(f'generated {args.games} v{args.version} games in '
              f'{time.perf_counter() - t0:.1f} s')
        t_json = min(time_json_only(labels_dir, preds_dir) for _ in range(args.repeats))
        print(f'json.loads of all files alone: {t_json:.3f} s (ours reads them with a compiled '
              'scanner, vidplugins/soccernet/evaluation/json_scan.py)')
        for metric in ('loose', 'tight'):
            t0 = time.perf_counter()
            official = run_official(labels_dir, preds_dir, args.version, metric)
            t_official = time.perf_counter() - t0
            times = {1: [], 2: []}  # reader processes -> seconds per call
            diff = 0.0
            for _ in range(args.repeats):
                for workers in (2, 1):
                    t0 = time.perf_counter()
                    ours = evaluate_folders(labels_dir, preds_dir, metric=metric,
                                            workers=workers, version=args.version)
                    times[workers].append(time.perf_counter() - t0)
                    diff = max(diff, max_difference(official, ours))
            if diff > 1e-6:
                sys.exit(f'{metric}: results differ by {diff:g}')
            for workers in (2, 1):
                speedups[f'{metric} ({workers} proc.)'] = t_official / min(times[workers])
            cold = ('' if metric != 'loose' else f'; the first call of the process, which also '
                    f'loads the compiled scanner, took {times[2][0]:.3f} s')
            print(f'{metric}: official {t_official:.2f} s; ours {min(times[2]):.3f} s with 2 '
                  f'processes ({t_official / min(times[2]):.1f}x), {min(times[1]):.3f} s with 1 '
                  f'({t_official / min(times[1]):.1f}x){cold}; a_mAP {ours["a_mAP"]:.6f}, '
                  f'max |diff| {diff:.1e} (an evaluator that parses the files with json.loads '
                  f'could reach at most {t_official / t_json:.0f}x)')
            (t_off, c_off), (t_ours, c_ours) = whole_commands(labels_dir, preds_dir,
                                                              args.version, metric, args.repeats)
            whole[metric] = t_off / t_ours
            whole[metric + ' CPU'] = c_off / c_ours
            print(f'{metric}: whole command (fresh interpreter, imports included): official '
                  f'{t_off:.2f} s wall / {c_off:.2f} s CPU, tools/eval_spotting.py {t_ours:.3f} s '
                  f'wall / {c_ours:.3f} s CPU; speedup {whole[metric]:.1f}x wall, '
                  f'{whole[metric + " CPU"]:.1f}x CPU (goal >= 10x; CPU time is the measure on a '
                  'loaded machine)')
            # Validation / early stopping (SpottingMetric) scores arrays already in memory: no
            # files are written or parsed, so this is the speed that matters inside training.
            gt, pred = load_trees(labels_dir, preds_dir, args.version)
            t_mem = float('inf')
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                mem = average_map(gt, pred, len(classes_for(args.version)),
                                  METRIC_DELTAS[metric])
                t_mem = min(t_mem, time.perf_counter() - t0)
            assert abs(mem['a_mAP'] - ours['a_mAP']) <= 1e-12
            in_memory[metric] = t_official / t_mem
            print(f'{metric}: in memory (SpottingMetric path) {t_mem:.3f} s, speedup '
                  f'{in_memory[metric]:.1f}x')
    print('speedup as whole commands ' + ', '.join(f'{m}: {s:.1f}x' for m, s in whole.items())
          + '; in-process from files ' + ', '.join(f'{m}: {s:.1f}x' for m, s in speedups.items())
          + '; in memory ' + ', '.join(f'{m}: {s:.1f}x' for m, s in in_memory.items()))


def load_trees(labels_dir, preds_dir, version):
    """All halves of the labels and predictions trees as sparse arrays (games in label order)."""
    gt, pred = [], []
    for game in find_games(labels_dir, LABEL_FILES[version]):
        gt += load_ground_truth(osp.join(labels_dir, game, LABEL_FILES[version]), version)
        pred += load_predictions(osp.join(preds_dir, game, 'results_spotting.json'), version)
    return gt, pred


if __name__ == '__main__':
    main()
