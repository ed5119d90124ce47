"""Helpers of the PAS kill -9 tests: read ``search.json`` while the runner writes it, wait for a
state, fingerprint a checkpoint, find the process of a job (local child or Slurm command)."""
import hashlib
import json
import os
import os.path as osp
import subprocess
import time

import pytest

__all__ = ['read_state', 'wait_for', 'fingerprint', 'job_pid', 'training_with_checkpoint',
           'job_env', 'Runner']


def read_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def wait_for(predicate, ledger, proc, timeout, what):
    """Poll search.json until ``predicate(state)`` is truthy (returned); fail if the runner
    exits first or ``timeout`` s pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = read_state(ledger)
        found = predicate(state) if state is not None else None
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            pytest.fail(f'the runner exited (rc {proc.returncode}) before {what}')
        time.sleep(0.2)
    pytest.fail(f'timed out after {timeout} s waiting for {what}')


def fingerprint(path):
    """(inode, mtime in ns, SHA-256): a retrained or rewritten checkpoint changes at least one."""
    st = os.stat(path)
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return st.st_ino, st.st_mtime_ns, digest


def training_with_checkpoint(state, names=None):
    """A hypothesis (of ``names``, default any but B) whose training job runs and has already
    written a checkpoint, else None."""
    for name, h in state['hypotheses'].items():
        if names is not None and name not in names or names is None and h['kind'] == 'base':
            continue
        if h['status'] == 'running' and h['stage'] == 'train' and h.get('handle') and \
                osp.isfile(osp.join(h['work_dir'], 'last_checkpoint')):
            return h
    return None


def job_pid(handle, work_dir, timeout=120):
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


def job_env(threads=1):
    """The environment of the runner and its jobs: one torch / OpenMP thread per job (the
    runner runs two at once on the CI's two cores; more threads only spin)."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))


class Runner:
    """Starts the same ``tools/pas_search.py`` command again and again (output appended to one
    log); ``close()`` kills what is left (a failed check must not leave jobs behind)."""

    def __init__(self, cmd, cwd, log_path):
        self.cmd, self.cwd, self.log_path = cmd, cwd, log_path
        self.started = []

    def start(self):
        with open(self.log_path, 'ab') as log:
            self.started.append(subprocess.Popen(self.cmd, cwd=self.cwd, stdout=log,
                                                 stderr=subprocess.STDOUT, env=job_env()))
        return self.started[-1]

    def output(self, chars=4000):
        with open(self.log_path) as f:
            return f.read()[-chars:]

    def close(self):
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
