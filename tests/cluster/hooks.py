"""A hook that records, per rank, what each process of a distributed run did (imported by the
test configs through ``custom_imports``): ``<work_dir>/ranks/<tag>_rank<r>.json``."""
import json
import os
import os.path as osp

import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def scalars(metrics) -> dict:
    return {k: float(v) for k, v in (metrics or {}).items() if isinstance(v, (int, float))
            or (hasattr(v, 'ndim') and v.ndim == 0)}


@HOOKS.register_module()
class ClusterRankReportHook(Hook):
    """Counts the training windows and validation / test games each rank processed, and keeps
    the metrics every rank received (full precision)."""

    priority = 'VERY_LOW'

    def __init__(self, tag: str = 'run'):
        self.tag = tag
        self.counts = dict(train_samples=0, train_iters=0, val_samples=0, test_samples=0)
        self.metrics = dict(val_metrics=[], test_metrics=None)

    def before_run(self, runner):
        # runner.iter builds the train loop (and its dataset): read it only when training
        self.start_iter = self.end_iter = None

    def before_train(self, runner):
        self.start_iter = runner.iter         # after a resume: the checkpoint's iteration

    def after_train(self, runner):
        self.end_iter = runner.iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.counts['train_samples'] += len(data_batch['data_samples'])
        self.counts['train_iters'] += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.counts['val_samples'] += len(data_batch['data_samples'])

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.counts['test_samples'] += len(data_batch['data_samples'])

    def after_val_epoch(self, runner, metrics=None):
        self.metrics['val_metrics'].append(scalars(metrics))

    def after_test_epoch(self, runner, metrics=None):
        self.metrics['test_metrics'] = scalars(metrics)

    def after_run(self, runner):
        rank, world = get_dist_info()
        total = torch.tensor([float(rank + 1)])
        if world > 1:
            all_reduce(total)   # through the run's process group: 1 + 2 + ... + world
        weights = sum(float(p.detach().double().sum()) for p in runner.model.parameters())
        report = dict(self.counts, **self.metrics, rank=rank, world_size=world, pid=os.getpid(),
                      backend=torch.distributed.get_backend() if world > 1 else None,
                      slurm_procid=os.environ.get('SLURM_PROCID'),
                      slurm_job_id=os.environ.get('SLURM_JOB_ID'),
                      local_rank=os.environ.get('LOCAL_RANK'), rank_sum=float(total),
                      start_iter=self.start_iter, end_iter=self.end_iter, weight_sum=weights)
        out = osp.join(runner.work_dir, 'ranks')
        os.makedirs(out, exist_ok=True)
        with open(osp.join(out, f'{self.tag}_rank{rank}.json'), 'w') as f:
            json.dump(report, f)
