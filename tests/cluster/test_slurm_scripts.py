"""The Slurm scripts' command lines, and the local cluster they run on (tools/cluster/)."""
import glob
import os
import os.path as osp
import socket
import subprocess

import pytest

from .slurm import require_slurm

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def bash(script, env=None, cwd=REPO, check=True):
    proc = subprocess.run(['bash', '-c', script], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, **(env or {})))
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def task_args(env):
    """The srun options slurm_train.sh / slurm_test.sh would use (as one line)."""
    return bash('source tools/cluster/slurm_resources.sh && slurm_task_args part && '
                'echo "${SLURM_TASK_ARGS[*]}"', env).stdout.strip()


def test_gpu_partitions_get_mmaction2s_srun_options():
    assert task_args(dict(GPUS='16', GPUS_PER_NODE='8')) == (
        '-p part --ntasks=16 --cpus-per-task=5 --kill-on-bad-exit=1 --gres=gpu:8 '
        '--ntasks-per-node=8')


def test_gpus_per_node_0_asks_for_cpu_tasks_only():
    assert task_args(dict(GPUS='4', GPUS_PER_NODE='0', CPUS_PER_TASK='2')) == (
        '-p part --ntasks=4 --cpus-per-task=2 --kill-on-bad-exit=1')
    assert task_args(dict(GPUS='4', GPUS_PER_NODE='0', TASKS_PER_NODE='2')).endswith(
        '--ntasks-per-node=2')


def test_extraction_array_writes_one_file_per_shard_and_prints_the_merge():
    out = bash('DRY_RUN=1 SHARDS=3 CPUS_PER_TASK=4 GPUS_PER_TASK=1 '
               'bash tools/slurm_extract_features.sh gpu object "feats dir/objects.h5" '
               'det.py det.pth --video-dir videos')
    sbatch, *body = out.stdout.splitlines()
    assert sbatch.startswith('sbatch -p gpu --job-name=extract-object --array=0-2 --ntasks=1 '
                             '--cpus-per-task=4')
    assert '--gres=gpu:1' in sbatch
    # The job script, run as array task 2 with `echo` in place of Python: the command it runs.
    script = '\n'.join(body).replace('exec python', 'exec echo')
    ran = bash(script, dict(SLURM_ARRAY_TASK_ID='2')).stdout.strip()
    assert ran == (f'-u {REPO}/tools/data/ava/extract_object_features.py det.py det.pth '
                   '--video-dir videos --out feats dir/objects.shard-2-of-3.h5 --shard 2/3')
    assert out.stderr.strip().endswith(
        'merge_feature_shards.py feats dir/objects.h5 feats dir/objects.shard-0-of-3.h5 '
        'feats dir/objects.shard-1-of-3.h5 feats dir/objects.shard-2-of-3.h5')


def test_bad_usage_prints_the_usage():
    proc = bash('bash tools/slurm_extract_features.sh part frames out.h5', check=False)
    assert proc.returncode == 2 and 'actor|object' in proc.stderr
    proc = bash('bash tools/slurm_anonymize.sh part', check=False)
    assert proc.returncode == 2 and 'PARTITION INPUT OUTPUT' in proc.stderr


@pytest.mark.slurm
def test_local_cluster_runs_two_tasks_and_refuses_gres():
    partition = require_slurm()
    out = bash(f'srun -p {partition} -N1 -n2 --cpus-per-task=1 hostname').stdout.split()
    assert out == [socket.gethostname().split('.')[0]] * 2
    assert bash('bash tools/cluster/local_slurm.sh status').returncode == 0
    # No gres is configured: the request mmaction2's slurm_train.sh always made is refused.
    refused = bash(f'srun -p {partition} -n1 --gres=gpu:1 true', check=False)
    assert refused.returncode != 0 and 'gres' in refused.stderr.lower()


@pytest.mark.slurm
def test_array_tasks_each_run_their_shard(tmp_path):
    partition = require_slurm()
    logs = tmp_path / 'logs'
    out = bash(f'SHARDS=3 CPUS_PER_TASK=1 WAIT=1 PYTHON=echo LOG_DIR={logs} '
               f'bash {REPO}/tools/cluster/slurm_array.sh {partition} vp-array tools/anonymize.py '
               'in out --out "x.{K}-of-{N}"', cwd=tmp_path)
    job = out.stdout.strip()
    assert job.isdigit()
    got = {}
    for path in glob.glob(str(logs / f'vp-array_{job}_*.out')):
        got[int(path.rsplit('_', 1)[1][:-4])] = open(path).read().strip()
    assert got == {k: f'-u {REPO}/tools/anonymize.py in out --out x.{k}-of-3 --shard {k}/3'
                   for k in range(3)}
