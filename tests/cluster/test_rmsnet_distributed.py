"""RMS-Net on 2 real processes: torchrun (``tools/dist_train.sh`` / ``dist_test.sh``) and Slurm
(``tools/slurm_train.sh`` / ``slurm_test.sh`` on the local cluster), gloo on CPU.

The CPU demo config on the generated SoccerNet-v1 set of ``tests/conftest.py``, shortened to a
few iterations. Validation and testing run on the 3 games of the Train list (6 halves, the test
items), so each rank predicts 3 different halves and the metric is computed on what both ranks
predicted.
"""
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from .slurm import require_slurm

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'rmsnet', 'rmsnet_resnet152-pca512_soccernet-v1_cpu-demo.py')
N_F, BATCH = 32, 16
WINDOWS = N_F + round(N_F / 3)                  # balanced sampler: n_F + n_F / C windows, C = 3
HALVES = 6                     # test items: the halves of the 3 games of the Train list
METRIC = 'spotting/a_mAP_loose'

pytestmark = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the CPU (gloo) launch; a GPU machine runs NCCL')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, env=None, timeout=600):
    """Run a tool from the repository root; returns its output (stdout + stderr)."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), **(env or {}))
    # the test configs import tests.cluster.hooks (the dist / slurm scripts add the repository)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


def write_config(path, tag):
    """The demo config plus the rank report hook (its reports are tagged ``tag``)."""
    path.write_text(
        f'_base_ = {DEMO!r}\n'
        "custom_imports = dict(imports=['vidplugins.rmsnet', 'tests.cluster.hooks'],\n"
        '                      allow_failed_imports=False)\n'
        f"custom_hooks = [dict(type='ClusterRankReportHook', tag={tag!r})]\n")
    return str(path)


def options(root, max_epochs=1):
    train_list = osp.join(root, 'listgame_Train.npy')
    opts = [f'train_cfg.max_epochs={max_epochs}', f'train_dataloader.sampler.num_foreground={N_F}',
            f'train_dataloader.batch_size={BATCH}', 'default_hooks.checkpoint.max_keep_ckpts=5']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={root}', f'{loader}.dataset.ann_file={train_list}']
    return ['--cfg-options'] + opts


def reports(work_dir, tag, world=2):
    return [json.load(open(osp.join(work_dir, 'ranks', f'{tag}_rank{r}.json')))
            for r in range(world)]


def check_two_ranks(reps):
    assert [r['rank'] for r in reps] == [0, 1]
    assert all(r['world_size'] == 2 and r['backend'] == 'gloo' for r in reps)
    assert reps[0]['pid'] != reps[1]['pid']
    assert [r['rank_sum'] for r in reps] == [3.0, 3.0]      # all_reduce of rank + 1: 1 + 2


def check_training(reps, epochs=1):
    """Both ranks trained on their half of each epoch and validated their share of the games."""
    per_rank = math.ceil(WINDOWS / 2)                         # 43 windows -> 22 + 21
    assert [r['train_samples'] for r in reps] == [per_rank * epochs, (WINDOWS - per_rank) * epochs]
    assert [r['train_iters'] for r in reps] == [math.ceil(per_rank / BATCH) * epochs] * 2
    assert [r['val_samples'] for r in reps] == [HALVES // 2 * epochs] * 2
    # one validation per epoch, on what both ranks predicted; every rank gets the metrics
    assert [len(r['val_metrics']) for r in reps] == [epochs] * 2
    assert METRIC in reps[0]['val_metrics'][0] and reps[0]['val_metrics'] == reps[1]['val_metrics']
    # DDP averaged the gradients: both ranks hold the same weights.
    assert reps[0]['weight_sum'] == pytest.approx(reps[1]['weight_sum'], abs=1e-9)


def metrics_of(work_dir, tag):
    """The test metrics as the hook received them (full precision), and the per-rank reports."""
    paths = sorted(f for f in os.listdir(osp.join(work_dir, 'ranks')) if f.startswith(tag + '_'))
    reps = [json.load(open(osp.join(work_dir, 'ranks', p))) for p in paths]
    return reps[0]['test_metrics'], reps


@pytest.fixture(scope='module')
def dist_trained(demo_soccernet, tmp_path_factory):
    """2-rank torchrun training with validation: (work dir, output)."""
    root, _ = demo_soccernet
    tmp = tmp_path_factory.mktemp('rmsnet_dist')
    work = str(tmp / 'work')
    config = write_config(tmp / 'train.py', 'train')
    log = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work] + options(root))
    return work, log, root, tmp


def single_process_test(config, checkpoint, root, work):
    run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work]
        + options(root))
    return metrics_of(work, 'single')


def test_dist_train_validates_on_two_gloo_ranks(dist_trained):
    work, log, _, _ = dist_trained
    assert log.count('distributed backend nccl -> gloo') == 2
    check_two_ranks(reports(work, 'train'))
    check_training(reports(work, 'train'))
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_dist_test_equals_one_process(dist_trained):
    work, _, root, tmp = dist_trained
    ckpt = osp.join(work, 'epoch_1.pth')
    single, _ = single_process_test(write_config(tmp / 'single.py', 'single'), ckpt, root,
                                    str(tmp / 'single'))
    run(['bash', 'tools/dist_test.sh', write_config(tmp / 'dist.py', 'dist'), ckpt, '2',
         '--work-dir', str(tmp / 'dist')] + options(root))
    dist, reps = metrics_of(str(tmp / 'dist'), 'dist')
    check_two_ranks(reps)
    assert [r['test_samples'] for r in reps] == [HALVES // 2] * 2
    assert set(dist) == set(single) and METRIC in dist
    for key in single:
        assert dist[key] == pytest.approx(single[key], abs=1e-9), key


@pytest.mark.slurm
def test_slurm_train_two_cpu_tasks_validates_resumes_and_slurm_test_matches(demo_soccernet,
                                                                           tmp_path):
    partition = require_slurm()
    root, _ = demo_soccernet
    work = str(tmp_path / 'work')
    # The partition has no GPUs: the script asks for no gres (a gres request would be refused).
    env = dict(GPUS='2', CPUS_PER_TASK='1')
    log = run(['bash', 'tools/slurm_train.sh', partition, 'vp-rmsnet',
               write_config(tmp_path / 'train.py', 'train'), '--work-dir', work]
              + options(root), env=env)
    assert 'no GPUs asked for (GPUS_PER_NODE=0): 2 CPU tasks with gloo' in log
    reps = reports(work, 'train')
    check_two_ranks(reps)
    # Both processes were tasks of one Slurm job, ranked by Slurm.
    assert [r['slurm_procid'] for r in reps] == ['0', '1']
    assert [r['local_rank'] for r in reps] == ['0', '1']
    assert reps[0]['slurm_job_id'] == reps[1]['slurm_job_id'] is not None
    check_training(reps)
    iters = reps[0]['end_iter']
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))

    # A second job resumes from the checkpoint the first one wrote and trains one more epoch.
    log = run(['bash', 'tools/slurm_train.sh', partition, 'vp-rmsnet',
               write_config(tmp_path / 'resume.py', 'resume'), '--work-dir', work, '--resume']
              + options(root, max_epochs=2), env=env)
    reps = reports(work, 'resume')
    check_two_ranks(reps)
    assert [r['start_iter'] for r in reps] == [iters, iters]
    assert [r['end_iter'] for r in reps] == [2 * iters, 2 * iters]
    check_training(reps)                              # one epoch more, validated
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))

    ckpt = osp.join(work, 'epoch_2.pth')
    single, _ = single_process_test(write_config(tmp_path / 'single.py', 'single'), ckpt, root,
                                    str(tmp_path / 'single'))
    run(['bash', 'tools/slurm_test.sh', partition, 'vp-rmsnet-test',
         write_config(tmp_path / 'stest.py', 'slurmtest'), ckpt, '--work-dir',
         str(tmp_path / 'stest')] + options(root), env=env)
    tested, reps = metrics_of(str(tmp_path / 'stest'), 'slurmtest')
    check_two_ranks(reps)
    assert [r['test_samples'] for r in reps] == [HALVES // 2] * 2
    assert METRIC in tested
    for key in single:
        assert tested[key] == pytest.approx(single[key], abs=1e-9), key
