"""The PAS search (thesis Sec. 6.1.2, Algorithm 1) as a scheduler of ordinary training jobs.

R_0 = B. At iteration tau one hypothesis per operator is written as a config
(``DIR/iter<tau>_<op>/arch.py`` + ``config.py``, see ``hypothesis.py``), trained by
``tools/train.py``, tested by ``tools/test.py`` (top-1 / top-5) and measured (params, GFLOPs per
view); the chosen one (``selection.py``) is R_tau.

State: ``DIR/search.json``, rewritten atomically after every change, holds every hypothesis's
operator, configs, status (pending / running / done / failed / skipped), attempts, top-1, top-5,
GFLOPs, checkpoint, and the chosen sequence. Killing the search at any moment (kill -9) and running
the same command again continues: a done hypothesis is never retrained nor its checkpoint
touched; a running one restarts its step, ``tools/train.py --resume`` continuing from its last
checkpoint; a failed one (non-zero exit: a killed job, a NaN loss stopped by
``StopOnInvalidLossHook``) is retried up to ``max_attempts`` and then reported while the search
goes on; an operator that cannot apply is recorded as skipped with the reason.
"""
from __future__ import annotations

import copy
import glob
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..utils.io import atomic_write, dump_json_atomic
from .hypothesis import write_training_config
from .operators import OperatorNotApplicable, parse_ops, write_reduced_config
from .selection import RATIO_TOLERANCE, select_hypothesis

__all__ = ['REPO_ROOT', 'PASSearch', 'read_test_metrics', 'export_student']

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FINAL = ('done', 'skipped', 'failed')


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """top-1 / top-5 (in %) from the newest ``<timestamp>/<timestamp>.json`` mmengine's logger
    wrote under ``tools/test.py --work-dir test_dir``."""
    files = sorted(glob.glob(osp.join(test_dir, '*', '*.json')), key=osp.getmtime)
    for path in reversed(files):
        with open(path) as f:
            text = f.read()
        try:
            lines = [json.loads(text)]
        except json.JSONDecodeError:   # one JSON object per line
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        for entry in reversed(lines):
            if 'acc/top1' in entry:
                return dict(top1=100.0 * float(entry['acc/top1']),
                            top5=100.0 * float(entry.get('acc/top5', float('nan'))))
    raise FileNotFoundError(f'no acc/top1 in the test logs under {test_dir}')


def export_student(checkpoint: str, path: str) -> str:
    """The tested network's weights alone (a distiller's ``student.*`` keys without the prefix;
    a recognizer's as they are) in ``{'state_dict': ...}``: the initialisation of the next
    iteration, and what ``tools/test.py`` / transfer configs load. ``checkpoint`` is only read."""
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt)
    if any(k.startswith('student.') for k in state):
        state = {k[len('student.'):]: v for k, v in state.items() if k.startswith('student.')}
    with atomic_write(path, 'wb') as f:
        torch.save({'state_dict': state, 'meta': dict(source=osp.basename(checkpoint))}, f)
    return path


def _last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{work_dir}: training ended without a last_checkpoint file')
    with open(marker) as f:
        path = f.read().strip()
    return path if osp.isabs(path) else osp.join(work_dir, osp.basename(path))


class PASSearch:
    """Algorithm 1 over ``search.json``.

    Args:
        config: B's config (a recognizer config with ``flops_input_shape``).
        work_dir: DIR.
        ops: operators of every iteration (``'t+f'``: one step of two operators).
        iterations: I (the thesis: at most 5).
        target_gflops: stop once R_tau needs at most this many GFLOPs per view.
        launcher: ``LocalLauncher`` / ``SlurmLauncher``.
        max_parallel: jobs at once.
        base_checkpoint: B's weights; None: B is trained first (``iter0_base``).
        max_attempts: tries of a job before it is reported failed.
        without_pas: also train each chosen architecture with CE from scratch (Table 6.2,
            the "without PAS" line of Fig. 6.3).
        channel_init: ``'scratch'`` (thesis) or ``'slice'`` for c / l hypotheses: R_{tau-1}
            pruned to the hypothesis's widths by torch-pruning (``slicing.py``), written to
            ``iter<tau>_<op>/init_slice.pth`` when the hypothesis is created.
        slice_importance: ``'l1'`` / ``'l2'`` group magnitude of the channels a slice keeps.
        kd, finetune, teacher_train_mode: Eq. 6.7, Sec. 6.1.4 and Table 6.8 options (Table 6.4
            ablations: ``kd=False`` or ``finetune=False``).
        train_options: extra ``--cfg-options`` for every training job.
        hypothesis_options: extra ``--cfg-options`` for the training jobs of the hypotheses and
            the "without PAS" runs only (not B's), e.g. a shorter schedule than B's.
    """

    def __init__(self, config: str, work_dir: str, launcher, ops: Sequence[str] = 'stfcl',
                 iterations: int = 5, target_gflops: Optional[float] = None,
                 max_parallel: int = 1, base_checkpoint: Optional[str] = None,
                 max_attempts: int = 3, without_pas: bool = False, channel_init: str = 'scratch',
                 kd: bool = True, teacher_train_mode: bool = True, finetune: bool = True,
                 train_options: Optional[List[str]] = None, poll_interval: float = 1.0,
                 hypothesis_options: Optional[List[str]] = None, slice_importance: str = 'l1'):
        self.config = osp.abspath(config)
        self.work_dir = osp.abspath(work_dir)
        self.launcher = launcher
        self.ops = parse_ops(list(ops))
        self.iterations = int(iterations)
        self.target_gflops = target_gflops
        self.max_parallel = max(1, int(max_parallel))
        self.base_checkpoint = osp.abspath(base_checkpoint) if base_checkpoint else None
        self.max_attempts = int(max_attempts)
        self.without_pas = without_pas
        self.channel_init = channel_init
        self.slice_importance = slice_importance
        self.kd = kd
        self.teacher_train_mode = teacher_train_mode
        self.finetune = finetune
        self.train_options = list(train_options or [])
        self.hypothesis_options = list(hypothesis_options or [])
        self.poll_interval = poll_interval
        self.path = osp.join(self.work_dir, 'search.json')
        self.logger = MMLogger.get_instance(f'pas_search:{self.work_dir}', log_file=osp.join(
            self.work_dir, 'search.log'), log_level='INFO', file_mode='a') \
            if self._mkdir() else None
        self.state = self._load_state()
        self.base_cfg = Config.fromfile(self.config)

    # ------------------------------------------------------------------ state
    def _mkdir(self) -> bool:
        os.makedirs(self.work_dir, exist_ok=True)
        return True

    def _load_state(self) -> dict:
        if osp.isfile(self.path):
            with open(self.path) as f:
                state = json.load(f)
            if state.get('config') != self.config:
                raise ValueError(f'{self.path}: this search is of {state.get("config")!r}, not '
                                 f'{self.config!r}; use another --work-dir')
            return state
        return dict(version=1, config=self.config, ops=self.ops, iterations=self.iterations,
                    target_gflops=self.target_gflops, selection_tolerance=RATIO_TOLERANCE,
                    hypotheses={}, steps=[], chosen_ops=[], chosen=[], finished=False)

    def save(self) -> None:
        dump_json_atomic(self.state, self.path, indent=1)

    def log(self, msg: str) -> None:
        self.logger.info(msg)

    @property
    def hyps(self) -> Dict[str, dict]:
        return self.state['hypotheses']

    # ------------------------------------------------------------------ jobs
    def _record(self, name: str, **fields) -> dict:
        rec = dict(name=name, status='pending', stage='train', attempts=0, handle=None,
                   work_dir=osp.join(self.work_dir, name), top1=None, top5=None, gflops=None,
                   params=None, checkpoint=None, student_checkpoint=None, reason=None,
                   errors=[])
        rec.update(fields)
        self.hyps[name] = rec
        self.save()
        return rec

    def _command(self, rec: dict) -> List[str]:
        """One process per job (``vidplugins.pas.job``): ``tools/train.py CONFIG --work-dir WD
        --resume`` (continues from the last checkpoint when there is one), then
        ``tools/test.py CONFIG CKPT --work-dir WD/test``."""
        tools = osp.join(REPO_ROOT, 'tools')
        test = [osp.join(tools, 'test.py'), rec['config'], rec['checkpoint'] or '@last',
                '--work-dir', osp.join(rec['work_dir'], 'test')]
        cmd = [sys.executable, '-m', 'vidplugins.pas.job']
        if rec['stage'] == 'train':
            train = [osp.join(tools, 'train.py'), rec['config'], '--work-dir', rec['work_dir'],
                     '--resume']
            options = self.train_options + (
                self.hypothesis_options if rec.get('kind') != 'base' else [])
            if options:
                train += ['--cfg-options'] + options
            cmd += train + ['--then']
        return cmd + test

    def _launch(self, rec: dict) -> None:
        cmd = self._command(rec)
        log = osp.join(rec['work_dir'], f'{rec["stage"]}.out')
        rec['handle'] = self.launcher.submit(cmd, log, cwd=REPO_ROOT)
        rec['status'] = 'running'
        rec['started'] = time.time()
        self.save()
        self.log(f'{rec["name"]}: {rec["stage"]} started (attempt {rec["attempts"] + 1})')

    def _finish_step(self, rec: dict, rc: int) -> None:
        rec['handle'] = None
        if rec.get('started'):   # wall time of the job (launch to exit, as this run saw it)
            rec['job_seconds'] = time.time() - rec['started']
        if rc != 0:
            rec['attempts'] += 1
            rec['errors'].append(f'{rec["stage"]} exited with {rc} (see '
                                 f'{rec["name"]}/{rec["stage"]}.out)')
            rec['status'] = 'failed' if rec['attempts'] >= self.max_attempts else 'pending'
            self.log(f'{rec["name"]}: {rec["stage"]} failed (rc={rc}); '
                     f'{"giving up" if rec["status"] == "failed" else "will retry"}')
            self.save()
            return
        if rec['stage'] == 'train':
            rec['checkpoint'] = _last_checkpoint(rec['work_dir'])
        rec['stage'] = 'test'
        rec.update(read_test_metrics(osp.join(rec['work_dir'], 'test')))
        start = time.time()
        self._measure(rec)
        rec['measure_seconds'] = time.time() - start
        rec['status'] = 'done'
        self.log(f'{rec["name"]}: done, top-1 {rec["top1"]:.2f} top-5 {rec["top5"]:.2f}, '
                 f'{rec["gflops"]:.4g} GFLOPs')
        self.save()

    def _measure(self, rec: dict) -> None:
        from .complexity import complexity
        rec['params'], rec['gflops'] = complexity(Config.fromfile(rec['arch']))
        rec['student_checkpoint'] = export_student(
            rec['checkpoint'], osp.join(rec['work_dir'], 'student.pth'))

    def run_jobs(self, names: Sequence[str]) -> None:
        """Run the jobs of ``names`` to a final status, ``max_parallel`` at once."""
        recs = [self.hyps[n] for n in names]
        for rec in recs:   # left running by a previous run of the search (killed)
            if rec['status'] != 'running':
                continue
            if self.launcher.kind == 'local':
                # Its process died with the search (or is an orphan: stopped here); the step
                # restarts, training resuming from its last checkpoint. Not a failed attempt.
                if rec['handle'] is not None:
                    self.launcher.cancel(rec['handle'])
                rec.update(status='pending', handle=None)
                self.log(f'{rec["name"]}: interrupted {rec["stage"]} restarts')
            else:   # a Slurm job outlives the search: keep polling it
                rc = self.launcher.poll(rec['handle'])
                if rc is not None:
                    self._finish_step(rec, rc)
        self.save()
        while True:
            active = [r for r in recs if r['status'] == 'running']
            todo = [r for r in recs if r['status'] == 'pending']
            if not active and not todo:
                return
            for rec in todo[:max(0, self.max_parallel - len(active))]:
                self._launch(rec)
            time.sleep(self.poll_interval)
            for rec in recs:
                if rec['status'] == 'running':
                    rc = self.launcher.poll(rec['handle'])
                    if rc is not None:
                        self._finish_step(rec, rc)

    # ------------------------------------------------------------------ algorithm 1
    def _ensure_base(self) -> dict:
        rec = self.hyps.get('iter0_base')
        if rec is None:
            fields = dict(kind='base', tau=0, op=None, ops=[], arch=self.config,
                          config=self.config)
            if self.base_checkpoint:
                fields.update(stage='test', checkpoint=self.base_checkpoint)
            rec = self._record('iter0_base', **fields)
        self.run_jobs(['iter0_base'])
        if rec['status'] != 'done':
            raise RuntimeError(f'the base network could not be trained / tested: {rec["errors"]}')
        return rec

    def _step(self, tau: int) -> dict:
        while len(self.state['steps']) < tau:
            self.state['steps'].append(dict(tau=len(self.state['steps']) + 1, parent=None,
                                            members=[], chosen=None, rule=None))
        return self.state['steps'][tau - 1]

    def _create_hypotheses(self, tau: int, parent: dict, base: dict) -> List[str]:
        step = self._step(tau)
        step['parent'] = parent['name']
        for op in self.ops:
            name = f'iter{tau}_{op}'
            if name in self.hyps:
                continue
            folder = osp.join(self.work_dir, name)
            ops = list(parent['ops']) + [op]
            fields = dict(kind='hypothesis', tau=tau, op=op, ops=ops,
                          arch=osp.join(folder, 'arch.py'), config=osp.join(folder, 'config.py'))
            try:
                write_reduced_config(parent['arch'], op, fields['arch'])
            except OperatorNotApplicable as e:
                self._record(name, status='skipped', reason=str(e), **fields)
                self.log(f'{name}: skipped: {e}')
                step['members'].append(name)
                continue
            write_training_config(
                fields['arch'], fields['config'], self.base_cfg, base['checkpoint'], ops, op,
                parent['student_checkpoint'], parent_arch=parent['arch'],
                slice_importance=self.slice_importance, kd=self.kd, channel_init=self.channel_init,
                teacher_train_mode=self.teacher_train_mode, finetune=self.finetune)
            self._record(name, **fields)
            step['members'].append(name)
        self.save()
        return step['members']

    def _choose(self, tau: int, parent: dict, base: dict) -> Optional[dict]:
        step = self._step(tau)
        if step['chosen']:
            return self.hyps[step['chosen']]
        done = [self.hyps[n] for n in step['members'] if self.hyps[n]['status'] == 'done']
        if not done:
            return None
        name, rule = select_hypothesis(done, base, parent['gflops'])
        step.update(chosen=name, rule=rule)
        self.state['chosen'].append(name)
        self.state['chosen_ops'].append(self.hyps[name]['op'])
        self.save()
        self.log(f'iteration {tau}: chose {name} ({rule})')
        return self.hyps[name]

    def _baselines(self) -> None:
        names = []
        for chosen in self.state['chosen']:
            rec = self.hyps[chosen]
            name = f'{chosen}_ce'
            if name not in self.hyps:
                cfg = osp.join(self.work_dir, name, 'config.py')
                write_training_config(rec['arch'], cfg, self.base_cfg, '', rec['ops'],
                                      rec['op'], None, kd=False, finetune=False)
                self._record(name, kind='without_pas', tau=rec['tau'], op=rec['op'],
                             ops=rec['ops'], arch=rec['arch'], config=cfg)
            names.append(name)
        self.run_jobs(names)

    def run(self) -> dict:
        """Run (or continue) the search; returns the state. Writes report.md and the curve."""
        base = self._ensure_base()
        parent = base
        for tau in range(1, self.iterations + 1):
            if self.target_gflops is not None and parent['gflops'] <= self.target_gflops:
                self.log(f'{parent["name"]}: {parent["gflops"]:.4g} GFLOPs <= target '
                         f'{self.target_gflops}: stop')
                break
            members = self._create_hypotheses(tau, parent, base)
            self.run_jobs(members)
            chosen = self._choose(tau, parent, base)
            if chosen is None:
                self.log(f'iteration {tau}: no hypothesis could be trained: stop')
                break
            parent = chosen
        if self.without_pas:
            self._baselines()
        self.state['finished'] = True
        self.save()
        from .report import write_report
        write_report(self.state, self.work_dir)
        return copy.deepcopy(self.state)
