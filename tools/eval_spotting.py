"""Average-mAP of SoccerNet action-spotting predictions (thesis Sec. 4.2.1).

    python tools/eval_spotting.py LABELS_DIR PREDICTIONS_DIR --metric loose --version 2

LABELS_DIR holds one folder per game with ``Labels.json`` (v1) or ``Labels-v2.json`` (v2);
PREDICTIONS_DIR the same game folders with ``results_spotting.json``. Same numbers as the official
evaluator (pip package ``SoccerNet``), much faster. A short summary is printed, then, as the last
line, one JSON object with ``a_mAP``, ``a_mAP_per_class``, ``a_mAP_visible`` and ``a_mAP_unshown``
(null for version 1, as upstream).
"""
from __future__ import annotations

import argparse
import json
import sys

from vidplugins.soccernet.evaluation import evaluate_folders
from vidplugins.soccernet import LabelFileError, classes_for


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='SoccerNet action-spotting Average-mAP (same numbers as the official '
        'evaluator).')
    parser.add_argument('labels_dir', help='tree of game folders holding the label files')
    parser.add_argument('predictions_dir', help='tree of game folders holding the predictions')
    parser.add_argument('--metric', choices=('loose', 'tight'), default='loose',
                        help='tolerances 5..60 s (loose) or 1..5 s (tight)')
    parser.add_argument('--version', type=int, choices=(1, 2), default=2,
                        help='SoccerNet-v1 (3 classes, Labels.json) or v2 (17, Labels-v2.json)')
    parser.add_argument('--framerate', type=int, default=2,
                        help='frames per second of the evaluation grid (official: 2)')
    parser.add_argument('--prediction-file', default='results_spotting.json',
                        help='name of the predictions file in each game folder')
    parser.add_argument('--allow-missing', action='store_true',
                        help='score games without a predictions file as having no predictions '
                        '(default: fail)')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes reading the files (default 1: with the compiled reader, '
                        'forking costs about what a second process saves on 100 games)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = evaluate_folders(args.labels_dir, args.predictions_dir, metric=args.metric,
                                  version=args.version, framerate=args.framerate,
                                  prediction_file=args.prediction_file,
                                  missing='empty' if args.allow_missing else 'error',
                                  workers=args.workers)
    except (LabelFileError, FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{result["num_games"]} games, SoccerNet-v{args.version}, {args.metric} Average-mAP')
    if result['games_without_predictions']:
        print(f'{len(result["games_without_predictions"])} games had no predictions file '
              '(scored as empty)')
    unknown = result['predictions_with_unknown_half']
    if unknown:
        game, n = next(iter(unknown.items()))
        print(f'warning: ignored {sum(unknown.values())} predictions whose half is neither 1 nor '
              f'2, in {len(unknown)} games (as the official evaluator; e.g. {n} in {game})',
              file=sys.stderr)
    for name, value in zip(classes_for(args.version), result['a_mAP_per_class']):
        print(f'  {name:<20s} {100 * value:6.2f}')
    line = f'a_mAP {100 * result["a_mAP"]:.2f}'
    if result['a_mAP_visible'] is not None:
        line += (f'  visible {100 * result["a_mAP_visible"]:.2f}'
                 f'  unshown {100 * result["a_mAP_unshown"]:.2f}')
    print(line)
    keys = ('a_mAP', 'a_mAP_per_class', 'a_mAP_visible', 'a_mAP_unshown')
    print(json.dumps({k: result[k] for k in keys}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
