"""Every schedule under ``configs/_base_/schedules/`` gives the thesis's learning rate, epoch by
epoch (and iteration by iteration where the schedule is by iteration).

The real mmengine schedulers are built from each file (``PARAM_SCHEDULERS.build`` with the
epoch length, as the Runner builds them) and stepped by mmengine's own ``ParamSchedulerHook``
through every iteration, epoch and validation of the whole schedule. The expected values are
written from the thesis text, not read from the configs:

* Sec. 3.2.2 (STAGE): Adam, lr 6.25e-5 (I3D) or 1e-5 (R101-I3D-NL, SlowFast-NL), "decreased by a
  factor of 10 when the validation mAP does not increase for ten consecutive epochs".
* Sec. 4.2.2 (RMS-Net): SGD lr 0.05, "linear warm-up during the first epoch and a cosine
  annealing scheduling from the second epoch", at most 50 epochs.
* Sec. 5.3.1 / 6.2.2 (R(2+1)D-18, R3D-18): lr 0.96, "linearly warmed-up during the first 10
  epochs and then divided by a factor of 10 every 10 epochs", 45 epochs.
* Sec. 5.3.1 (SlowFast-R50): lr 1.6, "linearly warmed-up in the first five epochs, and cosine
  annealed after", 45 epochs.
* App. A.1.2 (Art2Real): Adam, 300 epochs, lr 0.0002 "kept constant for the first 100 epochs,
  making it linearly decay to zero over the next 200 epochs" (generators and discriminators).
* App. A.2.2 (PersonArt): Adam, lr 1e-5 "decreased by a factor of 0.1 when recall metrics on
  validation set stop improving" (the patience is not stated: the first reduction must come
  after the recall stops improving, none before); attribute branches start at 1e-4. The
  thesis's x0.8 every 3 epochs for the attribute branches is not what the shared schedule
  does (its comment says so): only their starting lr is checked here.

The warm-up's starting value is not in the thesis: the test asserts a linear rise (constant
step per iteration) from below the base lr that reaches it exactly when the warm-up ends.
"""
import glob
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import EarlyStoppingHook, ParamSchedulerHook
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS

# The schedulers are stepped without optimizer steps (only the lr is looked at).
pytestmark = pytest.mark.filterwarnings('ignore:Detected call of')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCHEDULES = sorted(glob.glob(osp.join(REPO, 'configs', '_base_', 'schedules', '*.py')))
ITERS = 4  # iterations per epoch of the simulated runs (by-iteration schedules)


def cosine(base, t, start, end):
    """Cosine annealing from ``base`` at epoch ``start`` to 0 at epoch ``end`` (t fractional)."""
    return 0.5 * base * (1 + math.cos(math.pi * (t - start) / (end - start)))


def warmup_step(base, warmup, t):
    """Sec. 5.3.1 / 6.2.2: after the warm-up, /10 every 10 epochs (drops at 20, 30, 40)."""
    return base * 0.1 ** ((int(t) - warmup) // 10)


#: file -> (epochs, base lr, warm-up epochs, lr after the warm-up as a function of the
#: fractional epoch t, or 'plateau' for the validation-driven schedule).
THESIS = {
    'adam_plateau_20e.py': (20, 6.25e-5, 0, 'plateau'),
    'adam_plateau_20e_lr1e-5.py': (20, 1e-5, 0, 'plateau'),
    'sgd_warmup-cosine_50e.py': (50, 0.05, 1, lambda t: cosine(0.05, t, 1, 50)),
    'sgd_warmup10-step10_45e_privacy.py': (45, 0.96, 10, lambda t: warmup_step(0.96, 10, t)),
    'sgd_warmup5-cosine_45e_privacy.py': (45, 1.6, 5, lambda t: cosine(1.6, t, 5, 45)),
}


def linear_decay(base, start, end):
    """App. A.1.2: constant until ``start``, then linear to 0 at ``end`` (by epoch)."""
    return lambda t: base * min(1.0, 1 - (int(t) - start) / (end - start))


THESIS.update({
    'adam-2e-4_100e-constant-200e-linear_art2real.py': (300, 2e-4, 0, linear_decay(2e-4, 100, 300)),
    'personart_adam1e-5_20e.py': (20, 1e-5, 0, 'plateau'),
})


class Net(torch.nn.Module):
    """One parameter per name the optimizer config can address (sub-optimizers, custom keys)."""

    def __init__(self, names):
        super().__init__()
        for name in names:
            self.add_module(name, torch.nn.Linear(1, 1, bias=False))


def build(path, iters_per_epoch=ITERS):
    """Config, {optimizer name: torch optimizer}, {name: [schedulers]} as the Runner builds them."""
    cfg = Config.fromfile(path)
    ow = cfg.optim_wrapper
    if ow.get('constructor') == 'MultiOptimWrapperConstructor':
        # mmagic's constructor: one optimizer per named sub-model, each from its own config
        wrappers = {k: build_optim_wrapper(Net(['body']), v) for k, v in ow.items()
                    if isinstance(v, dict) and 'optimizer' in v}
    else:
        names = ['body'] + list(ow.get('paramwise_cfg', {}).get('custom_keys', {}))
        wrappers = {'': build_optim_wrapper(Net(names), ow)}
    schedulers = {n: [PARAM_SCHEDULERS.build(dict(s), default_args=dict(
        optimizer=w, epoch_length=iters_per_epoch)) for s in cfg.param_scheduler]
        for n, w in wrappers.items()}
    return cfg, {n: w.optimizer for n, w in wrappers.items()}, schedulers


def run(path, metrics=None, iters_per_epoch=ITERS, group=0):
    """lr of param group ``group`` of every optimizer at every iteration:
    ``lrs[optimizer][epoch][iteration]`` (``lrs['']`` for a single optimizer).

    ``metrics[epoch]``: the validation value of the plateau's monitor after that epoch.
    """
    cfg, optimizers, schedulers = build(path, iters_per_epoch)
    single = list(schedulers) == ['']
    runner = SimpleNamespace(param_schedulers=schedulers[''] if single else schedulers,
                             iter=0, epoch=0)
    monitor = next((s.monitor for s in cfg.param_scheduler if 'monitor' in s), None)
    hook = ParamSchedulerHook()
    lrs = {n: [] for n in optimizers}
    for epoch in range(cfg.train_cfg.max_epochs):
        runner.epoch = epoch
        for n in lrs:
            lrs[n].append([])
        for i in range(iters_per_epoch):
            for n, opt in optimizers.items():
                lrs[n][-1].append(opt.param_groups[group]['lr'])
            hook.after_train_iter(runner, i)
            runner.iter += 1
        hook.after_train_epoch(runner)
        if metrics is not None:
            hook.after_val_epoch(runner, {monitor: metrics[epoch]})
    return cfg, lrs


def test_every_schedule_has_its_thesis_expectation():
    names = {osp.basename(p) for p in SCHEDULES}
    assert len(names) >= 5
    assert not names - set(THESIS), 'a schedule without a thesis expectation here is untested'


@pytest.mark.parametrize('path', [p for p in SCHEDULES if THESIS.get(osp.basename(p),
                                                                      (0, 0, 0, 0))[3] != 'plateau'],
                         ids=osp.basename)
def test_scheduled_lr_follows_the_thesis_iteration_by_iteration(path):
    epochs, base, warmup, after = THESIS[osp.basename(path)]
    cfg, runs = run(path)
    assert cfg.train_cfg.max_epochs == epochs
    assert len(runs) >= 1
    for lrs in runs.values():
        check_run(path, lrs, base, warmup, after)


def check_run(path, lrs, base, warmup, after):
    flat = [lr for epoch in lrs for lr in epoch]
    n_warm = warmup * ITERS
    # warm-up: linear from below the base lr, reaching it when the warm-up ends
    if warmup:
        # mmengine's LinearLR reaches the base lr on the warm-up's last iteration
        steps = [b - a for a, b in zip(flat[:n_warm - 1], flat[1:n_warm])]
        assert flat[0] < base and min(steps) > 0
        assert steps == pytest.approx([steps[0]] * len(steps), rel=1e-6)
        assert flat[n_warm - 1] == pytest.approx(base, rel=1e-9)
    assert flat[n_warm] == pytest.approx(base, rel=1e-9)
    # after: the thesis's function of the (fractional) epoch
    for k in range(n_warm, len(flat)):
        assert flat[k] == pytest.approx(after(k / ITERS), rel=1e-6, abs=1e-12), \
            f'{osp.basename(path)}: epoch {k // ITERS}, iteration {k % ITERS}'


def test_step_schedule_drops_at_20_30_40():
    """The per-epoch values of Sec. 5.3.1 written out (the bug: 0.96 until epoch 29)."""
    path = osp.join(REPO, 'configs', '_base_', 'schedules', 'sgd_warmup10-step10_45e_privacy.py')
    _, lrs = run(path)
    first = [epoch[0] for epoch in lrs['']]
    assert first[10:20] == pytest.approx([0.96] * 10)
    assert first[20:30] == pytest.approx([0.096] * 10)
    assert first[30:40] == pytest.approx([0.0096] * 10)
    assert first[40:45] == pytest.approx([0.00096] * 5)


STAGE_PLATEAU = [p for p in SCHEDULES if osp.basename(p).startswith('adam_plateau')]


def base_lr(cfg):
    return cfg.optim_wrapper.optimizer.lr


@pytest.mark.parametrize('path', STAGE_PLATEAU, ids=osp.basename)
def test_plateau_schedule_divides_by_10_after_ten_epochs_without_gain(path):
    """Sec. 3.2.2: mAP rises for 3 epochs (0-2), then stays flat. Epochs 3..12 are the ten
    consecutive epochs without an increase, so from epoch 13 the lr is base / 10."""
    epochs, base, _, _ = THESIS[osp.basename(path)]
    metrics = [0.1, 0.2, 0.3] + [0.3] * (epochs - 3)
    cfg, lrs = run(path, metrics)
    assert cfg.train_cfg.max_epochs == epochs and base_lr(cfg) == base
    per_epoch = [e[0] for e in lrs['']]
    assert all(len(set(e)) == 1 for e in lrs[''])  # by epoch: constant inside an epoch
    assert per_epoch[:13] == pytest.approx([base] * 13, rel=1e-9)
    assert per_epoch[13:] == pytest.approx([base / 10] * (epochs - 13), rel=1e-9)
    # early stopping: 5 epochs without a gain after the reduction (README), i.e. after the val
    # of epoch 2 + 15 = 17
    stop, = [EarlyStoppingHook(**{k: v for k, v in h.items() if k != 'type'})
             for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook']
    runner = SimpleNamespace(train_loop=SimpleNamespace(stop_training=False),
                             logger=SimpleNamespace(info=lambda *a: None))
    for epoch, m in enumerate(metrics):
        stop.after_val_epoch(runner, {stop.monitor: m})
        if runner.train_loop.stop_training:
            break
    assert epoch == 17


@pytest.mark.parametrize('path', [p for p in SCHEDULES if THESIS.get(osp.basename(p),
                                                                      (0, 0, 0, 0))[3] == 'plateau'],
                         ids=osp.basename)
def test_plateau_schedule_keeps_the_lr_while_the_metric_rises(path):
    epochs, base, _, _ = THESIS[osp.basename(path)]
    # a gain every 2nd epoch: never two epochs in a row without one
    metrics = [0.01 * (e // 2) for e in range(epochs)]
    cfg, lrs = run(path, metrics)
    assert [e[0] for e in lrs['']] == pytest.approx([base] * epochs, rel=1e-9)


def test_personart_schedule_follows_app_a_2_2():
    """lr 1e-5, x0.1 once the validation recall stops improving (never before), attribute
    branches at 1e-4."""
    path = osp.join(REPO, 'configs', '_base_', 'schedules', 'personart_adam1e-5_20e.py')
    epochs, base, _, _ = THESIS[osp.basename(path)]
    metrics = [0.1 * e for e in range(5)] + [0.4] * (epochs - 5)
    cfg, lrs = run(path, metrics)
    per_epoch = [e[0] for e in lrs['']]
    assert per_epoch[:6] == pytest.approx([base] * 6, rel=1e-9)   # rising, then 1st flat epoch
    first_drop = next(e for e, lr in enumerate(per_epoch) if lr < base)
    assert per_epoch[first_drop] == pytest.approx(base / 10, rel=1e-9)
    assert first_drop <= 5 + 10
    _, attr = run(path, metrics, group=1)
    assert attr[''][0][0] == pytest.approx(1e-4, rel=1e-9)
