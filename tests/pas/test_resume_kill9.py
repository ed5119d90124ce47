"""Resume of a PAS search after real kill -9s on the local Slurm cluster (submitit; issue 12's
"done when"), with the real runner (``tools/pas_search.py``), real ``tools/train.py`` /
``tools/test.py`` jobs and real video files; the local executor's side, with the proof of
learning, is ``test_pas_proof.py``. Kept light: the demo's network at a quarter of its widths,
4 training clips, one epoch per job.

One search of one iteration over t and f (``--max-attempts 2``):

1. the runner is killed (SIGKILL) while ``iter1_t``'s Slurm job runs;
2. the same command again: the job outlived the runner and is polled again, not resubmitted
   (one mmengine run folder); B, done before the kill, is not retrained (its checkpoint keeps
   its inode, mtime and SHA-256);
3. the command that submitit runs for ``iter1_f`` is killed (SIGKILL) twice, each time once it
   runs: a failed attempt, retried, then the limit: ``iter1_f`` is reported failed and the
   search goes on and chooses ``iter1_t``.
"""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest

from ..cluster.slurm import require_slurm
from ..conftest import REPO
from .kill9 import Runner, fingerprint, job_pid, read_state, wait_for

DEMO_CONFIG = osp.join(REPO, 'configs', 'pas', 'pas_r2plus1d-tiny_cpu-demo.py')


def write_tiniest_base(work: str, data_root: str) -> str:
    """The demo's B at widths 2-16, batch 4 (one iteration per epoch), one epoch."""
    path = osp.join(work, 'base.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = {osp.relpath(DEMO_CONFIG, work)!r}\n'
                'model = dict(backbone=dict(base_channels=2, stem_mid_channels=2), '
                'cls_head=dict(in_channels=16))\n'
                f'train_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))\n'
                f'test_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))\n'
                'train_cfg = dict(max_epochs=1)\n'
                'default_hooks = dict(logger=dict(interval=1))\n')
    return path


def _running(name, attempt):
    def check(state):
        h = state['hypotheses'].get(name)
        return h if h and h['status'] == 'running' and h['stage'] == 'train' and \
            h['attempts'] == attempt and h.get('handle') else None
    return check


def test_kill9_resume_slurm(tmp_path):
    partition = require_slurm()
    pytest.importorskip('submitit', reason='submitit 1.5.4 (requirements/runtime.txt) missing')
    from vidplugins.demo_data.pas_videos import generate_pas_videos
    work = str(tmp_path)
    data = osp.join(work, 'data')
    generate_pas_videos(data, splits={'train': 1, 'test': 1}, seed=3)
    search_dir = osp.join(work, 'search')
    ledger = osp.join(search_dir, 'search.json')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'pas_search.py'),
           write_tiniest_base(work, data), '--work-dir', search_dir, '--ops', 't,f',
           '--iterations', '1', '--max-attempts', '2', '--max-parallel', '1', '--launcher',
           'slurm', '--timeout-min', '30', '--slurm-partition', partition]
    runner = Runner(cmd, REPO, osp.join(work, 'runner.log'))
    try:
        # 1) kill -9 the runner while iter1_t's job runs
        proc = runner.start()
        rec = wait_for(_running('iter1_t', 0), ledger, proc, 600, 'iter1_t running')
        job_pid(rec['handle'], rec['work_dir'])   # its command has started on the node
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        base_rec = read_state(ledger)['hypotheses']['iter0_base']
        assert base_rec['status'] == 'done'
        base_print = fingerprint(base_rec['checkpoint'])

        # 2) the same command; kill -9 iter1_f's job command twice
        proc = runner.start()
        for attempt in (0, 1):
            rec = wait_for(_running('iter1_f', attempt), ledger, proc, 600,
                           f'iter1_f attempt {attempt + 1}')
            os.kill(job_pid(rec['handle'], rec['work_dir']), signal.SIGKILL)
        assert proc.wait(timeout=900) == 0, runner.output()
    finally:
        runner.close()
        for h in (read_state(ledger) or {}).get('hypotheses', {}).values():
            if h['status'] == 'running' and (h.get('handle') or {}).get('job_id'):
                subprocess.run(['scancel', h['handle']['job_id']], check=False)
    state = read_state(ledger)
    hyps = state['hypotheses']
    assert fingerprint(hyps['iter0_base']['checkpoint']) == base_print   # B not retrained
    t = hyps['iter1_t']
    assert t['status'] == 'done' and t['attempts'] == 0, t   # a killed runner is not a failure
    runs = sorted(d for d in os.listdir(t['work_dir']) if d[:8].isdigit())
    assert len(runs) == 1, runs   # the job outlived the runner: polled again, not resubmitted
    f_rec = hyps['iter1_f']
    assert f_rec['status'] == 'failed' and f_rec['attempts'] == 2, f_rec
    assert len(f_rec['errors']) == 2 and 'train exited with' in f_rec['errors'][0]
    assert state['finished'] and state['chosen'] == ['iter1_t']
    with open(osp.join(search_dir, 'report.md')) as f:
        report = f.read()
    assert 'iter1_f' in report and 'failed' in report
