"""Sharded anonymisation as a Slurm job array on the local cluster (tools/slurm_anonymize.sh):
3 array tasks write every video of a generated folder exactly once; after one task is killed
mid-run, resubmitting it alone redoes only its unfinished videos.

Faces come from box sidecars (``BoxFileDetector``), so the work is decoding, filtering and
encoding only. The videos of shard 1 are long (so that killing it mid-run leaves some unwritten),
the others 8 frames.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.privacy.conftest import square_video
from vidplugins.privacy.inputs import in_shard

from .slurm import job_state, require_slurm, wait_for

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAMES = [f'clip_{i:02d}.mp4' for i in range(9)]
SHARDS = 3
KILLED = 1


def submit(partition, src, dst, logs, **env):
    env = dict(os.environ, PYTHON=sys.executable, SHARDS=str(SHARDS), CPUS_PER_TASK='1',
               LOG_DIR=str(logs), JOB_NAME='vp-anonymize', **env)
    out = subprocess.run(
        ['bash', 'tools/slurm_anonymize.sh', partition, str(src), str(dst), '--level', 'face',
         '--detector', '{"type": "BoxFileDetector"}'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip().splitlines()[-1]


def finished(job):
    states = job_state(job)
    return states and all(s not in ('PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING')
                          for s in states.values())


def outputs(dst):
    """{video: (inode, mtime_ns)} of the anonymised videos present."""
    return {n: (os.stat(dst / n).st_ino, os.stat(dst / n).st_mtime_ns) for n in NAMES
            if osp.exists(dst / n)}


def report(dst, k):
    path = dst / f'anonymize_report.shard-{k}-of-{SHARDS}.json'
    return json.load(open(path)) if osp.exists(path) else None


def written(rep):
    """The videos a run wrote itself (not resumed from an earlier run)."""
    return sorted(rel for rel, r in rep['videos'].items()
                  if r['status'] == 'ok' and not r.get('resumed'))


@pytest.mark.slurm
def test_array_writes_every_video_once_and_a_killed_task_redoes_only_its_rest(tmp_path):
    partition = require_slurm()
    shard = {n: next(k for k in range(SHARDS) if in_shard(n, (k, SHARDS))) for n in NAMES}
    assert sorted(shard.values()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]     # 3 videos per shard
    src, dst, logs = tmp_path / 'in', tmp_path / 'out', tmp_path / 'logs'
    src.mkdir()
    for i, n in enumerate(NAMES):
        square_video(str(src / n), n=240 if shard[n] == KILLED else 8, seed=i)
    mine = sorted(n for n in NAMES if shard[n] == KILLED)

    job = submit(partition, src, dst, logs)
    # Kill task 1 as soon as it has written its first video.
    wait_for(lambda: osp.exists(dst / mine[0]), 300, f'{mine[0]} from task {KILLED}', 0.05)
    subprocess.run(['scancel', f'{job}_{KILLED}'], check=True, timeout=30)
    wait_for(lambda: finished(job), 300, f'array job {job} to end')
    states = job_state(job)
    assert states[f'{job}_{KILLED}'] == 'CANCELLED', states
    assert [states[f'{job}_{k}'] for k in range(SHARDS) if k != KILLED] == ['COMPLETED'] * 2

    before = outputs(dst)
    done_by_killed = sorted(n for n in before if shard[n] == KILLED)
    assert mine[0] in done_by_killed and len(done_by_killed) < len(mine), \
        f'task {KILLED} was not killed mid-run: it had written {done_by_killed}'
    # the other tasks wrote exactly their own videos
    for k in range(SHARDS):
        if k != KILLED:
            assert written(report(dst, k)) == sorted(n for n in NAMES if shard[n] == k)
    assert report(dst, KILLED) is None            # killed before its report

    # Resubmit the killed task alone: it redoes only its unfinished videos.
    submit(partition, src, dst, logs, TASKS=str(KILLED), WAIT='1')
    after = outputs(dst)
    assert sorted(after) == NAMES
    assert {n: after[n] for n in before} == before      # nothing written earlier was rewritten
    rep = report(dst, KILLED)
    assert written(rep) == sorted(set(mine) - set(done_by_killed))
    assert sorted(n for n, r in rep['videos'].items() if r.get('resumed')) == done_by_killed
    # every video written exactly once over the 4 runs, and nothing left half-written
    runs = [written(report(dst, k)) for k in range(SHARDS) if k != KILLED]
    runs += [done_by_killed, written(rep)]
    assert sorted(sum(runs, [])) == NAMES
    assert not [f for f in glob.glob(str(dst / '.*')) if '.tmp' in f]
