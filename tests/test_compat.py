"""Each workaround of ``vidplugins.compat`` fails without it and works with it.

The "without" half runs in a fresh interpreter that never imports vidplugins (this pytest process
has it imported already, and the fixes are process-wide); the "with" half imports it first.
"""
import json
import os.path as osp
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

import vidplugins  # noqa: F401  (applies the workarounds to this process)
from vidplugins import compat

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_python(code, cwd):
    """Run ``code`` in a fresh interpreter; returns (returncode, stdout + stderr)."""
    proc = subprocess.run([sys.executable, '-c', code], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    return proc.returncode, proc.stdout


# ---------------------------------------------------------------- 1. mmaction2's missing DRN


def test_import_mmaction_models_fails_without_and_works_with_vidplugins(tmp_path):
    # cwd outside the repository so that nothing but the installed packages is importable
    # by accident; vidplugins itself is importable (installed) but not imported.
    rc, out = run_python('import mmaction.models', cwd=tmp_path)
    assert rc != 0
    assert "ModuleNotFoundError: No module named 'mmaction.models.localizers.drn'" in out

    rc, out = run_python(
        'import sys\n'
        'import vidplugins\n'
        'import mmaction.models\n'
        'from mmaction.models import localizers\n'
        "print('BMN from', localizers.BMN.__module__)\n"
        "print('STUB', sys.modules['mmaction.models.localizers.drn.drn'].__doc__)\n",
        cwd=tmp_path)
    assert rc == 0, out
    # The other localizers of the package are the real ones, only DRN is stood in for.
    assert 'BMN from mmaction.models.localizers.bmn' in out
    assert 'STUB vidplugins stand-in (open-mmlab/mmaction2#2714)' in out


def test_drn_stand_in_raises_a_clear_error_when_built():
    from mmengine.registry import init_default_scope
    from mmaction.models.localizers.drn.drn import DRN
    from mmaction.registry import MODELS

    with pytest.raises(RuntimeError, match=r'open-mmlab/mmaction2#2714'):
        DRN()
    # From a config, as users build models: the same message, not "DRN is not in the registry".
    init_default_scope('mmaction')
    with pytest.raises(RuntimeError, match=r'DRN cannot be built'):
        MODELS.build(dict(type='DRN', vocab_size=10))


def test_workarounds_are_idempotent():
    finders = lambda: [f for f in sys.meta_path if isinstance(f, compat._DRNStubFinder)]  # noqa
    compat.apply()
    compat._install_drn_stub()
    assert len(finders()) == 1
    n = len(compat.MMENGINE_CHECKPOINT_SAFE_GLOBALS)
    compat._allow_mmengine_checkpoints()
    assert len(compat.MMENGINE_CHECKPOINT_SAFE_GLOBALS) == n > 0


# ---------------------------------------------------------------- 2. weights-only checkpoints


def write_mmengine_checkpoint(path):
    """A checkpoint with what mmengine 0.10.7's Runner.save_checkpoint puts in one: weights,
    optimizer and scheduler states, meta, and the message hub state (HistoryBuffers of logged
    scalars, NumPy values in runtime_info). Returns the logged values for checking the load."""
    from mmengine.logging import MessageHub

    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(3, 4)).sum().backward()
    optimizer.step()
    hub = MessageHub.get_instance(f'test_compat:{path}')   # a fresh hub per file
    losses = [2.0, 1.5, 1.0]
    for loss in losses:
        hub.update_scalar('train/loss', loss)
    hub.update_scalar('train/lr', np.float64(0.05))          # NumPy float, as LoggerHook logs
    hub.update_info('epoch', 3)
    hub.update_info('best_score', np.float64(0.625))          # NumPy scalar
    hub.update_info('val_curve', np.array([0.5, 0.625], dtype=np.float32))
    ckpt = dict(
        meta=dict(epoch=3, iter=33, seed=np.int64(1234), mmengine_version='0.10.7'),
        state_dict=OrderedDict((k, v.detach()) for k, v in model.state_dict().items()),
        message_hub=hub.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_epoch=3, base_lrs=[0.1])])
    torch.save(ckpt, path)
    return float(np.mean(losses))


def test_weights_only_load_of_mmengine_checkpoint_fails_without_and_works_with(tmp_path):
    path = str(tmp_path / 'epoch_3.pth')
    mean_loss = write_mmengine_checkpoint(path)
    load = f'ckpt = torch.load({path!r}, map_location="cpu", weights_only=True)\n'

    rc, out = run_python('import torch\n' + load, cwd=tmp_path)
    assert rc != 0
    assert '_pickle.UnpicklingError: Weights only load failed' in out

    rc, out = run_python(
        'import json, torch\n'
        'import vidplugins\n' + load +
        "hub = ckpt['message_hub']\n"
        "print(json.dumps(dict(\n"
        "    loss_mean=float(hub['log_scalars']['train/loss'].mean()),\n"
        "    loss_min=float(hub['log_scalars']['train/loss'].min()),\n"
        "    lr=float(hub['log_scalars']['train/lr'].current()),\n"
        "    best=float(hub['runtime_info']['best_score']),\n"
        "    curve=hub['runtime_info']['val_curve'].tolist(),\n"
        "    seed=int(ckpt['meta']['seed']),\n"
        "    weight_shape=list(ckpt['state_dict']['weight'].shape),\n"
        "    momentum_keys=sorted(ckpt['optimizer']['state'][0]))))\n",
        cwd=tmp_path)
    assert rc == 0, out
    got = json.loads(out.strip().splitlines()[-1])
    assert got == dict(loss_mean=pytest.approx(mean_loss), loss_min=1.0, lr=0.05, best=0.625,
                       curve=[0.5, 0.625], seed=1234, weight_shape=[2, 4],
                       momentum_keys=['momentum_buffer'])


class _Getattr:
    """Pickles as ``getattr(obj, name)``: what an attacker would put in a checkpoint."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


def _history_buffer():
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


@pytest.mark.parametrize('protocol', [2, 3])   # "__builtin__.getattr" / "builtins.getattr"
@pytest.mark.parametrize('target,name', [
    (np.ndarray, 'tofile'),                   # an allow-listed class, not a HistoryBuffer
    (np.dtype, 'newbyteorder'),
    ('HistoryBuffer', '__init__'),            # private attribute of the buffer class
    ('HistoryBuffer', 'update'),              # public, but not a statistic: must not pass (a
    ('HistoryBuffer', 'statistics'),          # buffer's __setstate__ puts it in the registry)
    ('HistoryBuffer', '__class__'),
])
def test_guarded_getattr_refuses_anything_but_history_buffer_statistics(
        tmp_path, protocol, target, name):
    if target == 'HistoryBuffer':
        target = _history_buffer()
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {}, 'payload': _Getattr(target, name)}, path,
               pickle_protocol=protocol)
    with pytest.raises(pickle.UnpicklingError) as err:
        torch.load(path, weights_only=True)
    # Refused by the guard itself (the globals of the file are all allow-listed).
    assert f'getattr({target!r}, {name!r}) is not allowed' in str(err.value)


@pytest.mark.parametrize('protocol', [2, 3])
def test_guarded_getattr_refuses_chained_attribute_access(tmp_path, protocol):
    # getattr(getattr(HistoryBuffer, 'min'), '__globals__'): the first call is legitimate, the
    # second would reach the module globals (and from there anything).
    HistoryBuffer = _history_buffer()
    path = tmp_path / 'chained.pth'
    torch.save(_Getattr(_Getattr(HistoryBuffer, 'min'), '__globals__'), path,
               pickle_protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match=r"'__globals__'\) is not allowed"):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize('protocol', [2, 3])
def test_guarded_getattr_returns_the_statistics(tmp_path, protocol):
    # The control for the refusals above: the four default statistics load.
    HistoryBuffer = _history_buffer()
    path = tmp_path / 'stats.pth'
    names = ('min', 'max', 'mean', 'current')
    torch.save({n: _Getattr(HistoryBuffer, n) for n in names}, path, pickle_protocol=protocol)
    loaded = torch.load(path, weights_only=True)
    assert {n: loaded[n] for n in names} == {n: getattr(HistoryBuffer, n) for n in names}


# ---------------------------------------------------------------- 3. vidplugins:: config bases


def test_vidplugins_config_inheritance_fails_without_and_works_with(tmp_path):
    # A user's config in any folder inheriting a shipped config (mmengine's `package::` syntax).
    (tmp_path / 'my_ablation.py').write_text(
        "_base_ = 'vidplugins::rmsnet/rmsnet_resnet152-pca512_soccernet-v1.py'\n"
        'model = dict(regression_weight=3.0)\n')
    load = ("from mmengine.config import Config\n"
            "cfg = Config.fromfile('my_ablation.py')\n"
            "print('LOADED', cfg.model.regression_weight, cfg.model.window_size)\n")
    rc, out = run_python(load, cwd=tmp_path)
    assert rc != 0
    assert 'does not support to load vidplugins config' in out
    rc, out = run_python('import vidplugins\n' + load, cwd=tmp_path)
    assert rc == 0, out
    assert 'LOADED 3.0 41' in out


def test_installed_path_falls_back_only_when_the_distribution_folder_is_missing(tmp_path):
    calls = []
    real = str(tmp_path)
    patched = compat.installed_path_with_editable_installs(lambda p: calls.append(p) or real)
    assert patched('anything') == real                   # an existing folder is kept as is
    missing = compat.installed_path_with_editable_installs(lambda p: str(tmp_path / 'nope'))
    assert missing('vidplugins') == osp.dirname(vidplugins.__file__)
    assert calls == ['anything']


# ---------------------------------------------------------------- 5. distributed without CUDA

# One process plays rank 0 of 1 under Slurm (the variables srun sets), then under torchrun; each
# time mmengine's initialiser must create a gloo group, and DDP must accept the CPU module that
# Runner.wrap_model hands it with device_ids=[LOCAL_RANK].
DIST_WITHOUT_CUDA = '''
import os, socket, torch
def port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])
from mmengine.dist import utils
from mmengine.model import MMDistributedDataParallel
os.environ.update(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                  SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1', MASTER_PORT=port())
utils._init_dist_slurm('nccl')
ddp = MMDistributedDataParallel(module=torch.nn.Linear(2, 1), device_ids=[0])
print('SLURM', torch.distributed.get_backend(), os.environ['RANK'], os.environ['WORLD_SIZE'],
      os.environ['LOCAL_RANK'], ddp.device_ids)
torch.distributed.destroy_process_group()
os.environ.update(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_PORT=port())
utils._init_dist_pytorch('nccl')
print('TORCHRUN', torch.distributed.get_backend(), torch.distributed.get_world_size())
'''


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path; with CUDA mmengine runs as is')
def test_distributed_init_and_ddp_without_cuda_fail_without_and_work_with(tmp_path):
    rc, out = run_python(DIST_WITHOUT_CUDA, cwd=tmp_path)
    assert rc != 0 and 'SLURM' not in out               # torch.cuda.set_device fails
    rc, out = run_python('import vidplugins\n' + DIST_WITHOUT_CUDA, cwd=tmp_path)
    assert rc == 0, out
    assert 'distributed backend nccl -> gloo' in out
    assert 'SLURM gloo 0 1 0 None' in out
    assert 'TORCHRUN gloo 1' in out


def test_distributed_fixes_wrap_mmengine_once():
    from mmengine.dist import utils
    from mmengine.model.wrappers import distributed
    compat._allow_distributed_without_cuda(utils)
    compat._allow_ddp_without_cuda(distributed)
    for fn in (utils._init_dist_slurm, utils._init_dist_pytorch,
               distributed.MMDistributedDataParallel.__init__):
        assert hasattr(fn, '__wrapped__') and not hasattr(fn.__wrapped__, '__wrapped__')


# ---------------------------------------------------------------- 6. mmagic's generation init

GENERATION_INIT = '''
import torch
from mmengine.model import BaseModule
from mmagic.models.editors.cyclegan.cyclegan_generator import ResnetGenerator
class Model(BaseModule):   # as mmagic's CycleGAN: mmengine tags the submodules, then inits them
    def __init__(self):
        super().__init__()
        self.generator = ResnetGenerator(3, 3, base_channels=8, num_blocks=1)
torch.manual_seed(0)
model = Model()
model.init_weights()
w = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Conv2d)])
print('STD', round(w.std().item(), 3))
'''


def test_mmagic_generation_init_fails_without_and_works_with(tmp_path):
    rc, out = run_python(GENERATION_INIT, cwd=tmp_path)
    assert rc != 0
    assert 'UnboundLocalError' in out and 'init_info' in out
    rc, out = run_python('import vidplugins\n' + GENERATION_INIT, cwd=tmp_path)
    assert rc == 0, out
    assert 'STD 0.02' in out


def test_mmagic_generation_init_wrapper_draws_as_mmagic_and_records_init_info():
    # The fix calls mmagic's own function: a tagged model (mmengine's init_weights path) gets
    # exactly the weights mmagic's function gives an untagged copy from the same seed.
    import torch
    from mmengine.model import BaseModule
    from mmagic.models.editors.cyclegan.cyclegan_generator import ResnetGenerator

    class Model(BaseModule):
        def __init__(self):
            super().__init__()
            self.generator = ResnetGenerator(3, 3, base_channels=4, num_blocks=1)

    from collections import defaultdict
    assert compat._mmagic_generation_init is not None
    tagged, plain = Model(), Model()
    info = defaultdict(dict)                    # tags as BaseModule.init_weights sets them
    for p in tagged.parameters():
        info[p] = dict(init_info='default', tmp_mean_value=p.data.mean().cpu())
    for m in tagged.modules():
        m._params_init_info = info
    torch.manual_seed(0)
    compat.generation_init_weights(tagged.generator)
    torch.manual_seed(0)
    compat._mmagic_generation_init(plain.generator, init_type='normal', init_gain=0.02)
    for (name, a), b in zip(tagged.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), name
    assert "generation_init_weights" in info[tagged.generator.model[1].conv.weight]['init_info']
    assert all(m._params_init_info is info for m in tagged.modules())        # tags restored


def test_mmagic_modules_that_imported_the_init_use_the_fix():
    from mmagic.models.archs import patch_disc
    from mmagic.models.editors.cyclegan import cyclegan_generator
    from mmagic.models.utils import model_utils
    for mod in (patch_disc, cyclegan_generator, model_utils):
        assert mod.generation_init_weights is compat.generation_init_weights
    before = model_utils.generation_init_weights
    compat._fix_mmagic_generation_init(model_utils)          # idempotent
    assert model_utils.generation_init_weights is before


def test_ava_eval_pool_is_closed_not_left_to_terminate(monkeypatch):
    # fix 7: mmaction2's ava_eval forks Pool(32) and never closes it (a later terminate hung the
    # suite); its Pool maps in-process for small inputs and closes / joins a CPU-sized pool
    # otherwise, with the same results in the same order.
    import vidplugins  # noqa: F401
    from mmaction.evaluation.functional import ava_utils
    from vidplugins.compat import ClosingPool
    assert ava_utils.multiprocessing.Pool is ClosingPool
    items = [(i, i + 1) for i in range(50)]
    serial = ClosingPool(32).map(sum, items)
    monkeypatch.setattr(ClosingPool, 'serial_below', 10)
    pooled = ClosingPool(2)
    assert pooled.processes <= 2
    assert pooled.map(sum, items) == serial == [a + b for a, b in items]
