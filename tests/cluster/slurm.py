"""Helpers of the tests that run on a real Slurm cluster (``@pytest.mark.slurm``).

The project's CI brings up a single-node cluster with ``tools/cluster/local_slurm.sh start``
(``.ci/run``). Without a cluster these tests skip with the reason; under CI (``CI=true``) a
missing cluster fails them instead, so they can never silently not run there.
"""
import os
import shutil
import subprocess
import time

import pytest

START = ('bash tools/cluster/local_slurm.sh install && '
         'bash tools/cluster/local_slurm.sh start')
_state: dict = {}


def in_ci() -> bool:
    return os.environ.get('CI', '').strip().lower() in ('1', 'true', 'yes')


def _probe():
    """(default partition, None) when a Slurm controller answers with a usable node, else
    (None, reason)."""
    if shutil.which('sinfo') is None:
        return None, f'Slurm is not installed (no sinfo; run {START})'
    try:
        out = subprocess.run(['sinfo', '-h', '-o', '%P %T'], capture_output=True, text=True,
                             timeout=20)
    except subprocess.TimeoutExpired:
        return None, 'sinfo did not answer within 20 s'
    if out.returncode != 0:
        return None, f'no Slurm controller answers ({out.stderr.strip()[:200]}; run {START})'
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    usable = [p for p, state in rows if state in ('idle', 'mixed', 'allocated', 'completing')]
    default = [p.rstrip('*') for p in usable if p.endswith('*')]
    if not usable:
        return None, f'no Slurm node is up (sinfo: {out.stdout.strip()!r})'
    return (default or [p.rstrip('*') for p in usable])[0], None


def require_slurm() -> str:
    """The default partition of the running cluster; skips (fails under CI) without one."""
    if 'partition' not in _state:
        _state['partition'], _state['reason'] = _probe()
    if _state['partition'] is None:
        if in_ci():
            pytest.fail(f'CI=true and the Slurm tests cannot run: {_state["reason"]}')
        pytest.skip(_state['reason'])
    return _state['partition']


def job_state(job_id: str) -> dict:
    """{job or array task id: Slurm state} of a job still known to the controller."""
    out = subprocess.run(['squeue', '-h', '-j', job_id, '-o', '%i %T', '--states=all'],
                         capture_output=True, text=True, timeout=20)
    return dict(line.split() for line in out.stdout.splitlines() if line.strip())


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll ``predicate()`` until it returns something true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f'timed out after {timeout:.0f} s waiting for {what}')
