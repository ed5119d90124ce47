"""Average the test metrics of several splits (J-HMDB-21 reports the mean of splits 1-3).

    for s in 1 2 3; do   # split 1: stage_amtnet_jhmdb21.py, splits 2 / 3: ..._jhmdb21-split{s}.py
        python tools/test.py configs/stage/stage_amtnet_jhmdb21-split$s.py best_split$s.pth \
            --work-dir work_dirs/jhmdb_split$s
    done
    python tools/analysis/average_splits.py work_dirs/jhmdb_split{1,2,3}/*/*.json

Each input is the metrics file ``tools/test.py`` writes (``<work_dir>/<timestamp>/<timestamp>
.json``) or a JSON-lines log; every metric is averaged over the inputs, which must all report
the same metrics.
"""
import argparse
import json

from vidplugins.stage.ensemble import average_split_metrics, read_metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metrics', nargs='+', help='one metrics .json per split')
    parser.add_argument('--out', help='also write the mean as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = [read_metrics(p) for p in args.metrics]
    mean = average_split_metrics(runs, args.metrics)
    for path, run in zip(args.metrics, runs):
        print(path + ': ' + ', '.join(f'{k} {v:.4f}' for k, v in sorted(run.items())))
    print(f'mean of {len(runs)} splits: ' + ', '.join(f'{k} {v:.4f}' for k, v in mean.items()))
    if args.out:
        from vidplugins.utils.io import dump_json_atomic
        dump_json_atomic(dict(mean=mean, splits=dict(zip(args.metrics, runs))), args.out,
                         indent=1)
    return mean


if __name__ == '__main__':
    main()
