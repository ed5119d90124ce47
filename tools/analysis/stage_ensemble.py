"""Average the scores of several STAGE models and evaluate (Table 3.3, SlowFast-NL 16x8 + 8x8).

    python tools/test.py configs/stage/stage_slowfast-nl-8x8_ava22.py ckpt_8x8.pth --dump a.pkl
    python tools/test.py configs/stage/stage_slowfast-nl-16x8_ava22.py ckpt_16x8.pth --dump b.pkl
    python tools/analysis/stage_ensemble.py a.pkl b.pkl \
        --config configs/stage/stage_slowfast-nl-8x8_ava22.py --out ensemble.pkl

The dumps must score the same actor boxes (both feature sets extracted on the same detections).
Only load dumps you produced: they are pickles.
"""
import argparse

import mmengine
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

import vidplugins  # noqa: F401  (registers the STAGE metrics)
from vidplugins.stage.ensemble import average_predictions
from vidplugins.utils.io import atomic_write


def parse_args():
    parser = argparse.ArgumentParser(description='Score ensemble of STAGE test dumps')
    parser.add_argument('dumps', nargs='+', help='pickles of tools/test.py --dump')
    parser.add_argument('--config', help='config whose test_evaluator scores the ensemble')
    parser.add_argument('--out', help='write the averaged predictions to this .pkl')
    return parser.parse_args()


def main():
    args = parse_args()
    runs = [mmengine.load(p) for p in args.dumps]
    preds = average_predictions(runs, args.dumps)
    print(f'{len(preds)} keyframes averaged over {len(runs)} runs')
    if args.out:
        with atomic_write(args.out, 'wb') as f:
            mmengine.dump(preds, f, file_format='pkl')
    if args.config:
        cfg = Config.fromfile(args.config)
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        metrics = Evaluator(cfg.test_evaluator).offline_evaluate(preds, chunk_size=max(1, len(preds)))
        for k, v in metrics.items():
            print(f'{k}: {v}')


if __name__ == '__main__':
    main()
