"""Resume of a PAS search after real kill -9s (issue 12's "done when"), on the local executor and
on the local Slurm cluster (submitit), with the real runner (``tools/pas_search.py``), real
``tools/train.py`` / ``tools/test.py`` jobs and real video files (the proof's generated clips,
fewer and shorter trainings).

One search of one iteration over t and f (``--max-attempts 2``):

1. the runner is killed (SIGKILL) while ``iter1_t`` trains and already has a checkpoint;
2. the same command again: ``iter1_t`` resumes from its last checkpoint (mmengine's "resumed");
   the base B, done before the kill, is not retrained: its checkpoint file keeps its inode,
   mtime and SHA-256;
3. the training process of ``iter1_f`` is killed (SIGKILL) twice, each time once it runs: the
   first kill is a failed attempt that is retried (resuming from its checkpoint when it had one),
   the second reaches the limit: ``iter1_f`` is reported failed and the search goes on and
   chooses ``iter1_t``;
4. the same command a third time launches nothing and touches no checkpoint.
"""
import hashlib
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from ..cluster.slurm import require_slurm
from ..conftest import REPO

DEMO_CONFIG = osp.join(REPO, 'configs', 'pas', 'pas_r2plus1d-tiny_cpu-demo.py')


@pytest.fixture(scope='module')
def tiny_clips(tmp_path_factory):
    """4 classes x 2 train / 1 test clips of the PAS demo (real mp4 files, mmaction2 lists)."""
    from vidplugins.demo_data.pas_videos import generate_pas_videos
    root = str(tmp_path_factory.mktemp('pas_clips'))
    generate_pas_videos(root, splits={'train': 2, 'test': 1}, seed=3)
    return root


def write_tiny_base(work: str, data_root: str, epochs: int = 4) -> str:
    """The demo's B on ``data_root``: batch 4 (2 iterations per epoch), ``epochs`` epochs, a
    checkpoint every epoch."""
    path = osp.join(work, 'base.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = {osp.relpath(DEMO_CONFIG, work)!r}\n'
                f'train_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))\n'
                f'test_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))\n'
                f'train_cfg = dict(max_epochs={epochs})\n'
                f'param_scheduler = [dict(type="ConstantLR", factor=1.0, by_epoch=True)]\n'
                f'default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5), '
                f'logger=dict(interval=1))\n')
    return path


def _state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def _wait(predicate, ledger, proc, timeout, what):
    """Poll search.json until ``predicate(state)`` is true; fail if the runner exits first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = _state(ledger)
        found = predicate(state) if state is not None else None
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            pytest.fail(f'the runner exited (rc {proc.returncode}) before {what}')
        time.sleep(0.2)
    pytest.fail(f'timed out after {timeout} s waiting for {what}')


def _fingerprint(path):
    st = os.stat(path)
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return st.st_ino, st.st_mtime_ns, digest


def _training_with_checkpoint(name):
    def check(state):
        h = state['hypotheses'].get(name)
        if h and h['status'] == 'running' and h['stage'] == 'train' and h.get('handle') and \
                osp.isfile(osp.join(h['work_dir'], 'last_checkpoint')):
            return h
        return None
    return check


def _job_pid(handle, work_dir, timeout=120):
    """The pid of the process that runs the job: the local child, or on Slurm the command that
    submitit started for it (found by its own work dir in its command line)."""
    if 'pid' in handle:
        return handle['pid']
    marker = f'--work-dir {work_dir} '
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
            except OSError:
                continue
            if 'vidplugins.pas.job' in cmd and marker in cmd:
                return int(pid)
        time.sleep(0.2)
    pytest.fail(f'no job process of {work_dir} found')


def run_kill9_scenario(tmp_path, data_root, launcher_args):
    work = str(tmp_path)
    base = write_tiny_base(work, data_root)
    search_dir = osp.join(work, 'search')
    ledger = osp.join(search_dir, 'search.json')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'pas_search.py'), base, '--work-dir',
           search_dir, '--ops', 't,f', '--iterations', '1', '--max-attempts', '2',
           '--max-parallel', '1'] + launcher_args
    log_path = osp.join(work, 'runner.log')
    started = []

    def start():
        with open(log_path, 'ab') as log:
            started.append(subprocess.Popen(cmd, cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT))
        return started[-1]

    try:
        return _scenario(start, ledger, search_dir, launcher_args, log_path)
    finally:   # a failed check must not leave a runner (and its local jobs) behind
        for proc in started:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        for h in (_state(ledger) or {}).get('hypotheses', {}).values():
            if h['status'] == 'running' and (h.get('handle') or {}).get('job_id'):
                subprocess.run(['scancel', h['handle']['job_id']], check=False)


def _scenario(start, ledger, search_dir, launcher_args, log_path):

    def output():
        with open(log_path) as f:
            return f.read()[-4000:]

    # 1) kill -9 the runner while iter1_t trains with a checkpoint written
    proc = start()
    _wait(_training_with_checkpoint('iter1_t'), ledger, proc, 1200,
          'iter1_t training with a checkpoint')
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = _state(ledger)
    base_rec = state['hypotheses']['iter0_base']
    assert base_rec['status'] == 'done'
    base_print = _fingerprint(base_rec['checkpoint'])

    # 2) the same command; kill -9 iter1_f's training process twice
    proc = start()
    for attempt in (0, 1):
        def f_running(s, attempt=attempt):
            h = s['hypotheses'].get('iter1_f')
            return h if h and h['status'] == 'running' and h['stage'] == 'train' and \
                h['attempts'] == attempt and h.get('handle') else None
        rec = _wait(f_running, ledger, proc, 1200, f'iter1_f attempt {attempt + 1}')
        os.kill(_job_pid(rec['handle'], rec['work_dir']), signal.SIGKILL)
    assert proc.wait(timeout=1800) == 0, output()
    state = _state(ledger)
    hyps = state['hypotheses']
    assert _fingerprint(hyps['iter0_base']['checkpoint']) == base_print   # B not retrained
    t = hyps['iter1_t']
    assert t['status'] == 'done' and t['attempts'] == 0, t   # a killed runner is not a failure
    runs = sorted(d for d in os.listdir(t['work_dir']) if d[:8].isdigit())   # mmengine run dirs
    if '--launcher' in launcher_args and 'slurm' in launcher_args:
        # the Slurm job outlived the runner: polled again, not resubmitted
        assert len(runs) == 1, runs
    else:
        # the local job died with the runner: started again, continued from its checkpoint
        assert len(runs) == 2, runs
        with open(osp.join(t['work_dir'], 'train.out')) as f:
            assert 'resumed epoch' in f.read()
    f_rec = hyps['iter1_f']
    assert f_rec['status'] == 'failed' and f_rec['attempts'] == 2, f_rec
    assert len(f_rec['errors']) == 2 and 'train exited with' in f_rec['errors'][0]
    assert state['finished'] and state['chosen'] == ['iter1_t']
    with open(osp.join(search_dir, 'report.md')) as f:
        report = f.read()
    assert 'iter1_f' in report and 'failed' in report

    # 3) a third run: nothing is trained again, no checkpoint touched
    prints = {n: _fingerprint(h['checkpoint']) for n, h in hyps.items() if h['status'] == 'done'}
    proc = start()
    assert proc.wait(timeout=1800) == 0, output()
    again = _state(ledger)
    assert again['hypotheses']['iter1_f']['attempts'] == 2
    for name, fp in prints.items():
        assert _fingerprint(hyps[name]['checkpoint']) == fp, name
    return state


def test_kill9_resume_local(tmp_path, tiny_clips):
    run_kill9_scenario(tmp_path, tiny_clips, ['--launcher', 'local'])


def test_kill9_resume_slurm(tmp_path, tiny_clips):
    partition = require_slurm()
    pytest.importorskip('submitit', reason='submitit 1.5.4 (requirements/runtime.txt) missing')
    run_kill9_scenario(tmp_path, tiny_clips, ['--launcher', 'slurm', '--timeout-min', '30',
                                              '--slurm-partition', partition])
