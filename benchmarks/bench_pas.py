"""Overhead of the PAS runner per hypothesis against its training time (issue 12, item 8).

    python benchmarks/bench_pas.py [--work-dir DIR] [--epochs 6]

On the demo's base network and clips (demo/pas_demo.py), in the same run:
  1. the training loop alone: mmengine's Runner in this process (``Runner.from_cfg(cfg).train()``),
     the reference;
  2. the same config as a PAS job: ``PASSearch`` with one hypothesis-free iteration, i.e. the base
     trained and tested through ``python -m vidplugins.pas.job tools/train.py ... --then
     tools/test.py ...`` plus the runner's FLOPs measurement and student export.
Prints the job's wall time, the measurement time, and the overhead (job + measurement - training)
as a ratio of the training time. Timings on a loaded machine are inflated; the ratio is measured
within one run.

    python benchmarks/bench_pas.py --from-search DIR

reads a finished search instead (e.g. the demo's ``work_dirs/pas_demo/search``): per job, its wall
time (launch to exit, ``job_seconds``), the training loop's own time inside it (mmengine's log,
from "Checkpoints will be saved" to the last "Saving checkpoint"), and the rest (the overhead):
process start and imports (launch to the first log line), the test run, building and saving,
plus the runner's FLOPs measurement and export (``measure_seconds``).
"""
import argparse
import datetime
import glob
import json
import os.path as osp
import re
import shutil
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'demo'))


_STAMP = re.compile(r'^(\d{4}/)?(\d\d/\d\d \d\d:\d\d:\d\d) - mmengine - INFO - (.*)$')


def _stamps(log: str):
    """(datetime, message) of every mmengine INFO line of ``log`` (1 s resolution; a line
    without the year gets 1900, compared only with lines of the same kind)."""
    out = []
    with open(log) as f:
        for line in f:
            m = _STAMP.match(line)
            if m:
                fmt = '%Y/%m/%d %H:%M:%S' if m.group(1) else '%m/%d %H:%M:%S'
                out.append((datetime.datetime.strptime((m.group(1) or '') + m.group(2), fmt),
                            m.group(3)))
    return out


def training_seconds(work_dir: str) -> float:
    """Seconds of the training loop(s) of a job, from mmengine's log files in ``work_dir``
    (one ``<timestamp>/<timestamp>.log`` per run; a resumed job has several): from
    "Checkpoints will be saved" to the last "Saving checkpoint"."""
    total = 0.0
    for log in glob.glob(osp.join(work_dir, '2*', '2*.log')):
        start = end = None
        for t, msg in _stamps(log):
            if msg.startswith('Checkpoints will be saved'):
                start = t
            elif msg.startswith('Saving checkpoint') and start is not None:
                end = t
        if start is not None and end is not None:
            total += (end - start).total_seconds()
    return total


def job_phases(rec: dict) -> dict:
    """Split of the last launch of a job (mmengine's log stamps): ``start`` from the launch to
    tools/train.py's first log line (process start, OpenMMLab imports), ``test`` tools/test.py's
    log span (building, data, metric), both None when the logs lack them."""
    out = dict(start=None, test=None)
    runs = sorted(glob.glob(osp.join(rec['work_dir'], '2*', '2*.log')))
    if runs and rec.get('started'):
        stamps = _stamps(runs[-1])
        if stamps:
            launched = datetime.datetime.fromtimestamp(int(rec['started']))
            out['start'] = max(0.0, (stamps[0][0] - launched).total_seconds())
    tests = sorted(glob.glob(osp.join(rec['work_dir'], 'test', '2*', '2*.log')))
    if tests:
        stamps = _stamps(tests[-1])
        if stamps:
            out['test'] = (stamps[-1][0] - stamps[0][0]).total_seconds()
    return out


def from_search(folder: str) -> int:
    with open(osp.join(folder, 'search.json')) as f:
        state = json.load(f)
    rows = []
    print(f'{"job":<16}{"job s":>8}{"start s":>9}{"train s":>9}{"test s":>8}{"measure s":>11}'
          f'{"overhead s":>12}{"ratio":>7}')
    for name, h in state['hypotheses'].items():
        if h['status'] != 'done' or not h.get('job_seconds'):
            continue
        train = training_seconds(h['work_dir'])
        phases = job_phases(h)
        over = h['job_seconds'] + h.get('measure_seconds', 0.0) - train
        rows.append((train, over, phases['start'] or 0.0, phases['test'] or 0.0))
        fmt = lambda v: f'{v:.0f}' if v is not None else '-'  # noqa: E731
        print(f'{name:<16}{h["job_seconds"]:>8.1f}{fmt(phases["start"]):>9}{train:>9.1f}'
              f'{fmt(phases["test"]):>8}{h.get("measure_seconds", 0):>11.1f}{over:>12.1f}'
              f'{over / max(train, 1e-9):>7.2f}')
    if rows and sum(r[0] for r in rows) > 0:
        train, over, start, test = map(sum, zip(*rows))
        print(f'all {len(rows)} jobs: overhead {over:.1f} s = {over / train:.2f} x the training '
              f'time ({train:.1f} s); of it process start + imports {start:.0f} s, test runs '
              f'{test:.0f} s, the rest {over - start - test:.0f} s')
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=None, help='keep the files here (default: temporary)')
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--from-search', default=None,
                   help='report the jobs of this finished search folder instead')
    args = p.parse_args(argv)
    if args.from_search:
        return from_search(args.from_search)
    import vidplugins  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner
    from pas_demo import write_base_config

    import vidplugins.pas  # noqa: F401
    from vidplugins.demo_data.pas_videos import generate_pas_videos
    from vidplugins.pas.launchers import LocalLauncher
    from vidplugins.pas.search import PASSearch
    work = args.work_dir or tempfile.mkdtemp(prefix='bench_pas_')
    data = osp.join(work, 'data')
    if not osp.isfile(osp.join(data, 'generation.json')):
        generate_pas_videos(data, seed=0)
    base = write_base_config(work, data)
    options = [f'train_cfg.max_epochs={args.epochs}']

    cfg = Config.fromfile(base)
    cfg.train_cfg.max_epochs = args.epochs
    cfg.work_dir = osp.join(work, 'inprocess')
    shutil.rmtree(cfg.work_dir, ignore_errors=True)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start

    search_dir = osp.join(work, 'search')
    shutil.rmtree(search_dir, ignore_errors=True)
    search = PASSearch(base, search_dir, LocalLauncher(), ops=['t'], iterations=0,
                       train_options=options)
    state = search.run()
    rec = state['hypotheses']['iter0_base']
    job_s, measure_s = rec['job_seconds'], rec['measure_seconds']
    overhead = job_s + measure_s - train_s
    print(f'training loop in process: {train_s:.1f} s ({args.epochs} epochs)')
    print(f'PAS job (launch + imports + train + test): {job_s:.1f} s; FLOPs + export: '
          f'{measure_s:.2f} s')
    print(f'runner overhead per hypothesis: {overhead:.1f} s = {overhead / train_s:.2f} x the '
          'training time')
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
