"""The PAS search's Slurm launcher (submitit) on the local single-node cluster
(``tools/cluster/local_slurm.sh``); skips without a cluster (fails under CI=true)."""
import os.path as osp
import sys
import time

import pytest

from ..cluster.slurm import require_slurm


def _wait(launcher, handle, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        rc = launcher.poll(handle)
        if rc is not None:
            return rc
        time.sleep(1)
    pytest.fail('the Slurm job did not finish in time')


def test_slurm_launcher_exit_codes_and_timeout(tmp_path):
    partition = require_slurm()
    pytest.importorskip('submitit', reason='submitit 1.5.4 (requirements/runtime.txt) missing')
    from vidplugins.pas.launchers import SlurmLauncher
    with pytest.raises(ValueError, match='timeout_min'):
        SlurmLauncher(str(tmp_path / 'x'), timeout_min=0)
    launcher = SlurmLauncher(str(tmp_path / 'slurm'), timeout_min=5, slurm_partition=partition,
                             cpus_per_task=1)
    assert launcher.executor._executor.parameters['time'] == 5   # minutes, always set
    out = tmp_path / 'out.txt'
    ok = launcher.submit([sys.executable, '-c', f'open({str(out)!r}, "w").write("ran")'],
                         str(tmp_path / 'ok.out'), cwd=str(tmp_path))
    bad = launcher.submit([sys.executable, '-c', 'import sys; sys.exit(3)'],
                          str(tmp_path / 'bad.out'), cwd=str(tmp_path))
    assert _wait(launcher, ok) == 0 and out.read_text() == 'ran'
    assert _wait(launcher, bad) == 1
    assert osp.isdir(tmp_path / 'slurm')
