"""The PAS search's bookkeeping (search.json) with a launcher that fakes the jobs' outputs:
selection, retries up to the limit, skipped operators, no retraining on a rerun, restart of an
interrupted job. The real kill -9 runs are in test_pas_proof.py (local executor) and
test_resume_kill9.py (Slurm)."""
import json
import os
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import vidplugins.pas  # noqa: F401
from vidplugins.pas.search import PASSearch

from ..conftest import REPO

TINY = osp.join(REPO, 'configs/pas/pas_r2plus1d-tiny_cpu-demo.py')


class FakeLauncher:
    """Each submitted job 'trains' at once: writes a checkpoint of the job's network (random
    weights), last_checkpoint, and a test log with the accuracy given for its name."""

    kind = 'local'

    def __init__(self, accuracy, fail=None):
        self.accuracy, self.fail = accuracy, dict(fail or {})
        self.submitted = []

    def submit(self, cmd, log_path, cwd=None):
        work_dir = osp.dirname(log_path)
        name = osp.basename(work_dir)
        self.submitted.append(name)
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            return dict(rc=1)
        if 'tools/train.py' in ' '.join(cmd):
            cfg = Config.fromfile(cmd[cmd.index('--work-dir') - 1])
            init_default_scope('mmaction')
            model = MODELS.build(cfg.model)
            ckpt = osp.join(work_dir, 'epoch_1.pth')
            torch.save({'state_dict': model.state_dict()}, ckpt)
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        os.makedirs(osp.join(work_dir, 'test', '20260101_000000'), exist_ok=True)
        top1 = self.accuracy.get(name, 0.5)
        with open(osp.join(work_dir, 'test', '20260101_000000', '20260101_000000.json'),
                  'w') as f:
            json.dump({'acc/top1': top1, 'acc/top5': 1.0}, f)
        return dict(rc=0)

    def poll(self, handle):
        return handle['rc']

    def cancel(self, handle):
        pass


def _base_checkpoint(tmp_path):
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(TINY).model)
    path = str(tmp_path / 'base.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_search_bookkeeping(tmp_path):
    base = _base_checkpoint(tmp_path)
    acc = {'iter0_base': 0.9, 'iter1_s': 0.5, 'iter1_t': 0.8, 'iter1_f': 0.7, 'iter1_l': 0.85,
           'iter2_t': 0.75, 'iter2_f': 0.74, 'iter2_s': 0.4}
    work = str(tmp_path / 'search')
    fake = FakeLauncher(acc, fail={'iter1_c': 5, 'iter2_f': 1})
    search = PASSearch(TINY, work, fake, ops=['s', 't', 'f', 'c', 'l'], iterations=2,
                       base_checkpoint=base, max_attempts=2, poll_interval=0)
    state = search.run()
    hyps = state['hypotheses']
    assert state['chosen_ops'] == ['l', 't']      # Eq. 6.3: best top-1 each iteration
    assert [s['rule'] for s in state['steps']] == ['Eq. 6.3', 'Eq. 6.3']
    assert hyps['iter1_c']['status'] == 'failed' and hyps['iter1_c']['attempts'] == 2
    assert hyps['iter2_f']['status'] == 'done' and hyps['iter2_f']['attempts'] == 1
    assert hyps['iter2_l']['status'] == 'skipped' and 'already has' in hyps['iter2_l']['reason']
    assert hyps['iter1_t']['top1'] == 80.0 and hyps['iter0_base']['top1'] == 90.0
    # FLOPs measured: l and t roughly halve the tiny network
    assert 0.3 < hyps['iter1_l']['gflops'] / hyps['iter0_base']['gflops'] < 0.75
    assert 0.3 < hyps['iter2_t']['gflops'] / hyps['iter1_l']['gflops'] < 0.75
    # the chosen R_1 initialises the input-operator hypotheses of iteration 2 (lr / 10)
    cfg2 = Config.fromfile(hyps['iter2_t']['config'])
    assert cfg2.model.init_from.checkpoint == hyps['iter1_l']['student_checkpoint']
    assert cfg2.optim_wrapper.optimizer.lr == pytest.approx(1e-4)   # base lr 1e-3 / 10
    assert 'init_from' not in Config.fromfile(hyps['iter2_c']['config']).model
    assert osp.isfile(osp.join(work, 'report.md')) and osp.isfile(
        osp.join(work, 'search_curve.png'))
    report = open(osp.join(work, 'report.md')).read()
    assert 'Chosen sequence: **[l, t]**' in report
    ckpt_mtime = os.stat(hyps['iter1_t']['checkpoint']).st_mtime_ns

    # same command again: nothing is retrained
    again = FakeLauncher(acc)
    PASSearch(TINY, work, again, ops=['s', 't', 'f', 'c', 'l'], iterations=2,
              base_checkpoint=base, max_attempts=2, poll_interval=0).run()
    assert again.submitted == []
    assert os.stat(hyps['iter1_t']['checkpoint']).st_mtime_ns == ckpt_mtime

    # a job left running by a killed search restarts (without counting a failed attempt)
    with open(osp.join(work, 'search.json')) as f:
        saved = json.load(f)
    saved['hypotheses']['iter2_s'].update(status='running', handle=dict(pid=1))
    saved['steps'][1]['chosen'] = None
    saved['chosen_ops'], saved['chosen'] = ['l'], ['iter1_l']
    with open(osp.join(work, 'search.json'), 'w') as f:
        json.dump(saved, f)
    third = FakeLauncher(acc)
    state = PASSearch(TINY, work, third, ops=['s', 't', 'f', 'c', 'l'], iterations=2,
                      base_checkpoint=base, max_attempts=2, poll_interval=0).run()
    assert third.submitted == ['iter2_s']
    assert state['hypotheses']['iter2_s']['attempts'] == 0
    assert state['chosen_ops'] == ['l', 't']


def test_invalid_loss_stops_training():
    from types import SimpleNamespace

    import torch

    from vidplugins.pas.hooks import StopOnInvalidLossHook
    hook = StopOnInvalidLossHook()
    runner = SimpleNamespace(iter=4, work_dir='w')
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.5)))
    with pytest.raises(FloatingPointError, match='loss is nan at iteration 5'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(float('nan'))))
