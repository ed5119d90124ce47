"""Materialised configs of a PAS search (Algorithm 1): each hypothesis is an ordinary config that
``tools/train.py`` trains and ``tools/test.py`` tests.

``DIR/iter<tau>_<op>/arch.py``   eps_op(R_{tau-1}): ``_base_`` = the parent's arch (the network and
                                 its own pipelines; what get_flops measures).
``DIR/iter<tau>_<op>/config.py`` ``_base_ = './arch.py'`` plus the training recipe: the
                                 ``PASDistiller`` around it (soft targets from B on B's input)
                                 and the adaptive initialisation with lr / 10 (Sec. 6.1.4).
"""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

from ..utils.io import atomic_write
from .distiller import ALPHA, TEMPERATURE
from .operators import (INPUT_OPERATORS, _dataset_with_pipeline, _nest, _plain, clip_sampling,
                        config_literal, pipeline_crop_size, reduced_size,
                        student_frame_index)

__all__ = ['init_mode', 'training_delta', 'write_training_config', 'write_config']

#: learning-rate factor of the adaptive fine-tuning (Sec. 6.2.2: the base lr divided by 10).
FINETUNE_LR_FACTOR = 0.1


def init_mode(op: str, channel_init: str = 'scratch') -> str:
    """Sec. 6.1.4: ``'load'`` (R_{tau-1}'s weights) when every operator of the step keeps the
    weight shapes (s, t, f); else ``channel_init``: ``'scratch'`` (the thesis) or ``'slice'``."""
    if all(o in INPUT_OPERATORS for o in op.split('+')):
        return 'load'
    if channel_init not in ('scratch', 'slice'):
        raise ValueError(f"channel_init must be 'scratch' or 'slice', got {channel_init!r}")
    return channel_init


def _train_pipeline(cfg: Config):
    _, dataset = _dataset_with_pipeline(cfg.train_dataloader.dataset)
    return _plain(dataset['pipeline'])


def training_delta(arch: Config, base: Config, base_ckpt: str, ops: Sequence[str], op: str,
                   parent_ckpt: Optional[str], kd: bool = True, channel_init: str = 'scratch',
                   teacher_train_mode: bool = True, finetune: bool = True) -> dict:
    """Changes that turn the network config ``arch`` (= eps_op(R_{tau-1}), ``ops`` the whole
    sequence from B) into its PAS training config.

    Args:
        base: B's config; base_ckpt: B's checkpoint (soft targets).
        parent_ckpt: R_{tau-1}'s student checkpoint (recognizer keys), None for tau = 1 with B.
        kd: Eq. 6.7 (False: CE only, Tables 6.2 / 6.4).
        finetune: adaptive initialisation (False: random init, Table 6.4).
    """
    mode = init_mode(op, channel_init) if finetune and parent_ckpt else 'scratch'
    delta: dict = {}
    imports = list(arch.get('custom_imports', {}).get('imports', []))
    if 'vidplugins.pas' not in imports:
        delta['custom_imports'] = dict(imports=imports + ['vidplugins.pas'],
                                       allow_failed_imports=False)
    if kd:
        base_pipeline = _train_pipeline(base)
        base_len, _ = clip_sampling(base, 'train_dataloader')
        frames = student_frame_index(base_len, ops)
        base_size = pipeline_crop_size(base_pipeline)
        size = reduced_size(base_size, ops)
        model = dict(
            _delete_=True, type='PASDistiller', student=_plain(arch.model),
            teacher=_plain(base.model), teacher_ckpt=base_ckpt,
            student_frames=frames if len(frames) != base_len else None,
            student_size=size if size != base_size else None,
            distill_loss=dict(type='KLDivergenceKDLoss', loss_weight=ALPHA * TEMPERATURE ** 2,
                              temperature=TEMPERATURE),
            teacher_train_mode=teacher_train_mode)
        if mode != 'scratch':
            model['init_from'] = dict(checkpoint=parent_ckpt, prefix='', mode=mode)
        delta['model'] = model
        path, _ = _dataset_with_pipeline(arch.train_dataloader.dataset)
        delta['train_dataloader'] = dict(dataset=_nest(path, dict(pipeline=base_pipeline)))
    elif mode == 'load':
        delta['load_from'] = parent_ckpt
    elif mode == 'slice':
        raise ValueError('channel_init="slice" needs kd=True (PASDistiller loads the slice)')
    if mode != 'scratch':
        lr = base.optim_wrapper.optimizer.lr * FINETUNE_LR_FACTOR
        delta['optim_wrapper'] = dict(optimizer=dict(lr=lr))
    hooks = [h for h in _plain(arch.get('custom_hooks', []))
             if h.get('type') != 'StopOnInvalidLossHook']
    # A NaN / inf loss stops the job (non-zero exit): the search marks it failed and retries.
    delta['custom_hooks'] = hooks + [dict(type='StopOnInvalidLossHook', interval=1)]
    delta['pas_training'] = dict(kd=kd, init=mode, ops=list(ops),
                                 teacher_train_mode=teacher_train_mode)
    return delta


def write_config(path: str, base_rel: str, delta: dict, comment: str) -> None:
    """Write ``_base_ = base_rel`` plus ``delta`` as Python literals, atomically."""
    lines = [f'# {comment}', f'_base_ = {base_rel!r}', '']
    lines += [f'{key} = {config_literal(value, len(key) + 3)}' for key, value in delta.items()]
    with atomic_write(path) as f:
        f.write('\n'.join(lines) + '\n')


def write_training_config(arch_path: str, path: str, base: Config, base_ckpt: str,
                          ops: Sequence[str], op: str, parent_ckpt: Optional[str],
                          **kwargs) -> Config:
    """Write the training config of a hypothesis next to its arch config; return it loaded."""
    arch = Config.fromfile(arch_path)
    delta = training_delta(arch, base, base_ckpt, ops, op, parent_ckpt, **kwargs)
    rel = osp.relpath(osp.abspath(arch_path), osp.dirname(osp.abspath(path)))
    write_config(path, rel, delta, f'PAS training of {" -> ".join(ops) or "B"} '
                 f'(kd={delta["pas_training"]["kd"]}, init={delta["pas_training"]["init"]})')
    return Config.fromfile(path)
