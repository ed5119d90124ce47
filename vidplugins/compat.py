"""The one place where vidplugins works around breakage in third-party packages.

Applied on ``import vidplugins`` (``vidplugins/__init__.py`` imports this module first), before any
host package builds its models. Each workaround is small, names its upstream issue, is idempotent,
and is checked by ``tests/test_compat.py`` with a test that fails without it.

1. mmaction2 1.2.0's wheel and sdist lack ``mmaction/models/localizers/drn/`` although
   ``mmaction/models/localizers/__init__.py`` imports it, so ``import mmaction.models`` raises
   ModuleNotFoundError (open-mmlab/mmaction2#2714). We install a last-resort import finder that
   provides a stand-in module only when the real one cannot be found: a fixed release is never
   shadowed. The stand-in ``DRN`` (also registered in mmaction2's MODELS, as the real one is)
   raises a clear error if someone builds it.
2. torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, and mmengine 0.10.7
   checkpoints hold a few non-tensor types (the message hub's ``HistoryBuffer``, NumPy scalars and
   arrays), so loading fails with "Weights only load failed" (open-mmlab/mmengine#1655). Turning
   ``weights_only`` off would let a downloaded checkpoint run arbitrary code; instead we allow-list
   exactly the types mmengine writes, so resume and ``load_checkpoint`` work with
   ``weights_only=True``. A ``HistoryBuffer`` pickles its statistics as ``getattr(buffer, 'min')``
   calls; allowing ``getattr`` itself would open the door to any attribute of any object, so the
   name is bound to a guard that only returns the registered statistics of a HistoryBuffer.
3. ``_base_ = 'vidplugins::rmsnet/...py'`` fails: mmengine 0.10.7 resolves ``package::`` only for
   the packages of its own ``MODULE2PACKAGE`` list, so plug-in packages cannot be inherited from
   (open-mmlab/mmengine#1410), and it locates a package at ``<distribution location>/<package>``,
   which for a PEP 660 editable install (``pip install -e .``) is a folder that does not exist. We
   add vidplugins to that list and, only when the computed folder is missing, locate the package
   from its import spec (the source tree, whose ``vidplugins/.mim`` links ``configs/``).
4. transformers, diffusers and timm (imported through mmaction2, mmpretrain and mmagic) print
   FutureWarnings about their own internals on every tool run (transformers 4.36 and diffusers
   0.24 call torch's deprecated ``torch.utils._pytree._register_pytree_node``) that a vidplugins
   user can do nothing about. They are filtered by category and issuing package only
   (``transformers.*``, ``diffusers.*``, ``timm.*``); every other warning, including
   FutureWarnings of vidplugins, torch, mmengine and OpenMMLab code, still shows.

5. Distributed runs on machines without CUDA (torchrun or Slurm on CPU nodes, gloo): mmengine
   0.10.7 assumes a GPU per process. ``_init_dist_pytorch`` / ``_init_dist_slurm`` call
   ``torch.cuda.set_device(LOCAL_RANK)`` ("Found no NVIDIA driver"), the configs ask for NCCL,
   and ``Runner.wrap_model`` gives DDP ``device_ids=[LOCAL_RANK]``, which torch refuses for a CPU
   module. OpenMMLab has no CPU path for its launchers (open-mmlab/mim#189, open). Without CUDA
   the two initialisers create the process group themselves (same environment variables as
   mmengine's; NCCL becomes gloo, with a log line) and DDP drops the device ids of a CPU module.
   With CUDA nothing changes.
6. mmagic 1.2.0's ``generation_init_weights`` (CycleGAN / pix2pix generators, PatchGAN
   discriminators) raises UnboundLocalError under mmengine 0.10.7 once mmengine has tagged the
   modules with ``_params_init_info`` (``BaseModel.init_weights`` does, so every runner-built
   CycleGAN fails): it logs an ``init_info`` that it sets only for conv / linear / BatchNorm
   layers. A thin wrapper calls mmagic's function itself with those tags hidden (same layers,
   draws and order), then records the init info of the parameters it changed; mmagic modules
   that imported the name already are repointed.
7. mmaction2 1.2.0's ``ava_eval`` (``AVAMetric``) forks ``multiprocessing.Pool(32)`` for every
   evaluation and never closes it; the pool is terminated when collected, and a terminate that
   meets a worker holding the task queue's lock never returns (seen in our test suite: the
   evaluation process waited on one of 32 forked workers for good). Its module's
   ``multiprocessing`` is given a ``Pool`` that maps in the process itself below 4,096 frames
   (the per-frame work is milliseconds) and otherwise uses at most one worker per CPU, closed
   and joined (never terminated) before returning. Same results, in the same order.

Applying them keeps ``import vidplugins`` light (no torch, no OpenMMLab import: the SoccerNet
evaluator tool needs NumPy only): fixes 2 and 3 run right after torch / ``mmengine.config``
finish importing, through a post-import hook at the front of ``sys.meta_path``, or at once when
those are already imported.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import sys
import types

__all__ = ['apply', 'MMENGINE_CHECKPOINT_SAFE_GLOBALS']

_DRN_PACKAGE = 'mmaction.models.localizers.drn'
_DRN_MODULE = _DRN_PACKAGE + '.drn'


class _MissingDRN:
    """Stand-in for mmaction2's DRN localizer, whose code the 1.2.0 wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            'mmaction2 1.2.0 was released without mmaction/models/localizers/drn '
            '(open-mmlab/mmaction2#2714); vidplugins stands in for the import only, so DRN '
            'cannot be built. Install mmaction2 from source to use it.')


class _DRNStubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Provides ``mmaction.models.localizers.drn[.drn]`` when no other finder can.

    It sits at the end of ``sys.meta_path``, so Python's normal finders get the first chance: a
    release that ships the real module is used as is.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in (_DRN_PACKAGE, _DRN_MODULE):
            return None
        return importlib.machinery.ModuleSpec(
            fullname, self, is_package=(fullname == _DRN_PACKAGE))

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = 'vidplugins stand-in (open-mmlab/mmaction2#2714)'
        if module.__name__ == _DRN_PACKAGE:
            module.__path__ = []  # a package, so that ``.drn.drn`` can be imported below it
        else:
            module.DRN = _MissingDRN
            # The real module registers DRN; without it a config asking for DRN would fail with
            # a misleading "not in the registry" KeyError instead of the message above.
            from mmaction.registry import MODELS
            if 'DRN' not in MODELS.module_dict:
                MODELS.register_module(name='DRN', module=_MissingDRN)


def _install_drn_stub() -> None:
    if not any(isinstance(f, _DRNStubFinder) for f in sys.meta_path):
        sys.meta_path.append(_DRNStubFinder())


def _mmengine_checkpoint_safe_globals() -> list:
    """The non-tensor types that mmengine 0.10.x writes into checkpoints."""
    safe: list = []
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
        # protocol-2 pickles name getattr "__builtin__.getattr", newer ones "builtins.getattr".
        safe += [HistoryBuffer, (history_buffer_getattr, '__builtin__.getattr'),
                 (history_buffer_getattr, 'builtins.getattr')]
    except ImportError:  # mmengine not installed: nothing of it to load
        pass
    return safe + _numpy_checkpoint_safe_globals()


def _numpy_checkpoint_safe_globals() -> list:
    import numpy as np
    safe: list = []
    # NumPy arrays and scalars in the message hub / meta (e.g. the seed, logged scalars).
    try:
        multiarray = np._core.multiarray  # NumPy >= 2
    except AttributeError:
        multiarray = np.core.multiarray
    safe += [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # Pickles refer to dtype classes (``numpy.dtypes.Float64DType``) and scalar types by name.
    safe += [type(np.dtype(t)) for t in ('float64', 'float32', 'float16', 'int64', 'int32',
                                         'int16', 'int8', 'uint8', 'bool')]
    safe += [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
             np.uint8, np.bool_]
    return safe


def history_buffer_getattr(obj, name: str):
    """What ``getattr`` may do inside a weights-only checkpoint: fetch a registered statistic
    (``min``, ``max``, ``mean``, ``current``...) of mmengine's HistoryBuffer class or of one of its
    instances, nothing else."""
    from mmengine.logging.history_buffer import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    # A buffer's __setstate__ copies these callables into the class-wide statistics registry, so
    # other public methods (``update``, ``statistics``) must not pass: a checkpoint could rebind
    # ``mean`` to ``update``. The default statistics are registered when a buffer is created:
    # creating one (what unpickling the buffer itself does anyway) fills the registry.
    HistoryBuffer()
    registered = HistoryBuffer._statistics_methods.get(name)
    if is_buffer and registered is not None and vars(HistoryBuffer).get(name) is registered:
        return getattr(obj, name)
    import pickle
    raise pickle.UnpicklingError(
        f'weights_only load: getattr({obj!r}, {name!r}) is not allowed')


MMENGINE_CHECKPOINT_SAFE_GLOBALS: list = []


def _allow_mmengine_checkpoints() -> None:
    import torch.serialization
    if not hasattr(torch.serialization, 'add_safe_globals'):  # torch < 2.4: nothing to do
        return
    MMENGINE_CHECKPOINT_SAFE_GLOBALS[:] = _mmengine_checkpoint_safe_globals()
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_SAFE_GLOBALS)


def installed_path_with_editable_installs(original):
    """``mmengine``'s ``get_installed_path``, falling back to the import spec's folder when the
    distribution's location does not hold the package (PEP 660 editable installs)."""
    def get_installed_path(package: str) -> str:
        path = original(package)
        if osp.isdir(path):
            return path
        from mmengine.utils.package_utils import package2module
        spec = importlib.util.find_spec(package2module(package))
        if spec is not None and spec.origin is not None:
            return osp.dirname(spec.origin)
        return path
    get_installed_path.__wrapped__ = original
    return get_installed_path


def _allow_vidplugins_config_inheritance() -> None:
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('vidplugins', 'vidplugins')
    if not hasattr(config_module.get_installed_path, '__wrapped__'):
        config_module.get_installed_path = installed_path_with_editable_installs(
            config_module.get_installed_path)


# ---------------------------------------------------------------- applying lazily
# ``import vidplugins`` must stay light (``tools/eval_spotting.py`` needs only NumPy): the fixes
# that touch torch and mmengine are applied right after those modules finish importing (or at once
# when they already are), by a post-import hook at the front of ``sys.meta_path``.

class _PostImportLoader(importlib.abc.Loader):
    """Delegates to the real loader, then runs the callbacks of the module just executed."""

    def __init__(self, loader, callbacks):
        self.loader, self.callbacks = loader, callbacks

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__.loader = module.__loader__ = self.loader   # the real loader, as usual
        self.loader.exec_module(module)
        for callback in self.callbacks:
            callback(module)

    def __getattr__(self, name):                   # get_data, get_resource_reader, ...
        return getattr(self.loader, name)


class _PostImportHooks(importlib.abc.MetaPathFinder):
    """Runs ``callback(module)`` once ``module`` (a watched name) has been executed."""

    def __init__(self):
        self.hooks: dict = {}

    def find_spec(self, fullname, path=None, target=None):
        callbacks = self.hooks.pop(fullname, None)
        if callbacks is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _PostImportLoader(spec.loader, callbacks)
                return spec
        return None


def _post_import_hooks() -> _PostImportHooks:
    for finder in sys.meta_path:
        if isinstance(finder, _PostImportHooks):
            return finder
    finder = _PostImportHooks()
    sys.meta_path.insert(0, finder)
    return finder


def _initializing(module) -> bool:
    return bool(getattr(getattr(module, '__spec__', None), '_initializing', False))


def when_imported(name: str, callback) -> None:
    """Call ``callback(module)`` now if ``name`` is imported, else right after its import."""
    module = sys.modules.get(name)
    if module is not None and not _initializing(module):
        callback(module)
    else:
        _post_import_hooks().hooks.setdefault(name, []).append(callback)


_HISTORY_BUFFER = 'mmengine.logging.history_buffer'


def _on_torch(_torch) -> None:
    # Called once torch has finished importing. mmengine may be half-imported now (its logging
    # package imports torch after ``history_buffer``, which needs NumPy only): then HistoryBuffer
    # is allow-listed as soon as its module has run, or at once if it already has.
    buffer = sys.modules.get(_HISTORY_BUFFER)
    if buffer is not None and not _initializing(buffer):
        _allow_mmengine_checkpoints()
        return
    if 'mmengine' not in sys.modules:
        try:
            import mmengine.logging.history_buffer  # noqa: F401
        except ImportError:  # mmengine not installed
            pass
        else:
            _allow_mmengine_checkpoints()
            return
    _allow_numpy_checkpoint_types()
    when_imported(_HISTORY_BUFFER, lambda _m: _allow_mmengine_checkpoints())


def _allow_numpy_checkpoint_types() -> None:
    import torch.serialization
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(_numpy_checkpoint_safe_globals())


def _silence_third_party_future_warnings() -> None:
    """FutureWarnings that transformers, diffusers and timm print on every tool run, about their
    own internals (not about anything a vidplugins user can change); fix 4 above."""
    import warnings
    for module in THIRD_PARTY_FUTURE_WARNINGS:
        warnings.filterwarnings('ignore', category=FutureWarning, module=module + r'(\..*)?$')


# ---------------------------------------------------------------- distributed runs without CUDA

def _cpu_backend(backend: str) -> str:
    """NCCL needs GPUs: without CUDA the configs' ``nccl`` becomes gloo."""
    if backend == 'nccl':
        from mmengine.logging import print_log
        print_log('CUDA is not available: distributed backend nccl -> gloo', logger='current')
        return 'gloo'
    return backend


def init_dist_pytorch_cpu(original):
    """mmengine's ``_init_dist_pytorch`` (torchrun), without its ``torch.cuda.set_device`` and
    with gloo, when CUDA is missing."""
    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        import os

        import torch
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        torch_dist.init_process_group(
            backend=_cpu_backend(backend), rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']), **kwargs)
    _init_dist_pytorch.__wrapped__ = original
    return _init_dist_pytorch


def init_dist_slurm_cpu(original):
    """mmengine's ``_init_dist_slurm``, without its ``torch.cuda.set_device`` and with gloo, when
    CUDA is missing: the same environment (RANK, WORLD_SIZE, LOCAL_RANK = SLURM_LOCALID,
    MASTER_ADDR = first node of the job, MASTER_PORT = ``port``, else $MASTER_PORT, else 29500)."""
    def _init_dist_slurm(backend, port=None, init_backend='torch', **kwargs):
        import os
        import subprocess

        import torch
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, port=port, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        proc_id = int(os.environ['SLURM_PROCID'])
        if port is not None:
            os.environ['MASTER_PORT'] = str(port)
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            hosts = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
                                   capture_output=True, text=True, check=True).stdout.split()
            os.environ['MASTER_ADDR'] = hosts[0]
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
        os.environ['RANK'] = str(proc_id)
        torch_dist.init_process_group(backend=_cpu_backend(backend), **kwargs)
    _init_dist_slurm.__wrapped__ = original
    return _init_dist_slurm


def ddp_init_cpu(original):
    """``MMDistributedDataParallel.__init__`` dropping the GPU ids mmengine's ``Runner.wrap_model``
    passes (``device_ids=[LOCAL_RANK]``) when the module is on the CPU and CUDA is missing: torch's
    DDP rejects device ids for a CPU module, and needs none."""
    def __init__(self, module, *args, **kwargs):
        import torch
        if (kwargs.get('device_ids') is not None and not torch.cuda.is_available()
                and all(p.device.type == 'cpu' for p in module.parameters())):
            kwargs['device_ids'] = None
        original(self, module, *args, **kwargs)
    __init__.__wrapped__ = original
    return __init__


def _allow_distributed_without_cuda(dist_utils) -> None:
    for name, fix in (('_init_dist_pytorch', init_dist_pytorch_cpu),
                      ('_init_dist_slurm', init_dist_slurm_cpu)):
        current = getattr(dist_utils, name)
        if not hasattr(current, '__wrapped__'):
            setattr(dist_utils, name, fix(current))


# ---------------------------------------------------------------- mmagic's generation init

#: mmagic's own ``generation_init_weights``, kept by fix 6 (None until mmagic is imported)
_mmagic_generation_init = None


def generation_init_weights(module, init_type='normal', init_gain=0.02):
    """mmagic's ``generation_init_weights`` itself (same layers, same draws in the same order),
    called with mmengine's ``_params_init_info`` tags hidden from the modules (fix 6): mmagic's
    function logs an ``init_info`` that it sets only for conv / linear / BatchNorm layers. The
    init info is then recorded once, for the parameters the call changed."""
    from mmengine.model import update_init_info
    tagged = [(m, vars(m).pop('_params_init_info')) for m in module.modules()
              if '_params_init_info' in vars(m)]
    try:
        _mmagic_generation_init(module, init_type=init_type, init_gain=init_gain)
    finally:
        for m, info in tagged:
            m._params_init_info = info
    if hasattr(module, '_params_init_info'):
        update_init_info(module, f"Initialized by mmagic's generation_init_weights, init_type "
                                 f'{init_type}, gain {init_gain}')


generation_init_weights.__vidplugins_fix__ = True


def _fix_mmagic_generation_init(model_utils) -> None:
    global _mmagic_generation_init
    original = model_utils.generation_init_weights
    if getattr(original, '__vidplugins_fix__', False):
        return
    _mmagic_generation_init = original
    model_utils.generation_init_weights = generation_init_weights
    for name, mod in list(sys.modules.items()):   # modules that imported the name already
        if name.startswith('mmagic.') and getattr(mod, 'generation_init_weights',
                                                  None) is original:
            mod.generation_init_weights = generation_init_weights


def _allow_ddp_without_cuda(wrappers) -> None:
    ddp = wrappers.MMDistributedDataParallel
    if not hasattr(ddp.__init__, '__wrapped__'):
        ddp.__init__ = ddp_init_cpu(ddp.__init__)


# ---------------------------------------------------------------- mmaction2's AVA evaluation

class ClosingPool:
    """The ``multiprocessing.Pool`` that mmaction2's ``ava_eval`` asks for (fix 7): ``map`` runs
    in this process for fewer than ``serial_below`` items, else in a pool of at most one worker
    per CPU that is closed and joined before ``map`` returns."""
    serial_below = 4096

    def __init__(self, processes=None, *args, **kwargs):
        import os
        self.processes = max(1, min(processes or os.cpu_count() or 1, os.cpu_count() or 1))

    def map(self, func, iterable, chunksize=None):
        import multiprocessing
        items = list(iterable)
        if len(items) < self.serial_below or self.processes == 1:
            return [func(x) for x in items]
        pool = multiprocessing.Pool(self.processes)
        try:
            out = pool.map(func, items, chunksize)
        except BaseException:
            pool.terminate()
            raise
        pool.close()
        pool.join()
        return out


def _fix_ava_eval_pool(ava_utils) -> None:
    import multiprocessing
    if getattr(ava_utils.multiprocessing, 'Pool', None) is ClosingPool:
        return
    shim = types.SimpleNamespace(**{k: getattr(multiprocessing, k) for k in dir(multiprocessing)
                                    if not k.startswith('__')})
    shim.Pool = ClosingPool
    ava_utils.multiprocessing = shim


#: Packages whose own FutureWarnings are silenced (fix 4).
THIRD_PARTY_FUTURE_WARNINGS = ('transformers', 'diffusers', 'timm')

_applied = False


def apply() -> None:
    """Apply every workaround (idempotent). Those touching torch / mmengine run when these are
    imported (at once if they already are), so this import itself stays light."""
    global _applied
    if _applied:
        return
    _install_drn_stub()
    _silence_third_party_future_warnings()
    when_imported('torch', _on_torch)
    when_imported('mmengine.config.config', lambda _m: _allow_vidplugins_config_inheritance())
    when_imported('mmengine.dist.utils', _allow_distributed_without_cuda)
    when_imported('mmengine.model.wrappers.distributed', _allow_ddp_without_cuda)
    when_imported('mmagic.models.utils.model_utils', _fix_mmagic_generation_init)
    when_imported('mmaction.evaluation.functional.ava_utils', _fix_ava_eval_pool)
    _applied = True


apply()
