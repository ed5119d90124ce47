"""Distributed launches on machines without CUDA (used by tools/train.py and tools/test.py)."""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log


def setup_cpu_distributed(cfg, launcher):
    """Make a distributed launch work on a machine without CUDA .

    The configs ask for NCCL, which needs GPUs, so the backend becomes gloo. mmengine 0.10.7 also
    assumes a GPU per process: ``init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before it
    creates the process group, and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP;
    without CUDA the first raises "Found no NVIDIA driver" and the second rejects a CPU module. So
    under torchrun (launcher ``pytorch``) the process group is created here, which makes the Runner
    skip ``init_dist``, and DDP gets ``device_ids=None``. With CUDA nothing changes.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log('CUDA is not available: distributed backend nccl -> gloo', logger='current')
        dist_cfg['backend'] = 'gloo'
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        # torchrun exports RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (init_method env://).
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if kwargs.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(backend=dist_cfg['backend'], **kwargs)
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        # mmengine's default wrapper, as Runner.wrap_model builds it, without the GPU ids.
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in ('MMDistributedDataParallel',
                                                             'DistributedDataParallel'):
        wrapper.setdefault('device_ids', None)
    return cfg
