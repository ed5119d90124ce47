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
    weight shapes (s, t, f); else ``channel_init``: ``'scratch'`` (the thesis) or ``'slice'``
    (R_{tau-1} pruned to the hypothesis by torch-pruning, ``slicing.py``)."""
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
                   teacher_train_mode: bool = True, finetune: bool = True,
                   init_checkpoint: Optional[str] = None) -> dict:
    """Changes that turn the network config ``arch`` (= eps_op(R_{tau-1}), ``ops`` the whole
    sequence from B) into its PAS training config.

    Args:
        base: B's config; base_ckpt: B's checkpoint (soft targets).
        parent_ckpt: R_{tau-1}'s student checkpoint (recognizer keys), None for tau = 1 with B.
        kd: Eq. 6.7 (False: CE only, Tables 6.2 / 6.4).
        finetune: adaptive initialisation (False: random init, Table 6.4).
        init_checkpoint: with ``channel_init='slice'`` on a c / l step, the recognizer
            checkpoint sliced from R_{tau-1} for exactly this network
            (``slicing.slice_checkpoint``), loaded strictly.
    """
    mode = init_mode(op, channel_init) if finetune and parent_ckpt else 'scratch'
    if mode == 'slice' and not init_checkpoint:
        raise ValueError('channel_init="slice": init_checkpoint (R_{tau-1} sliced to this '
                         'network, vidplugins.pas.slicing.slice_checkpoint) is required')
    init_ckpt = init_checkpoint if mode == 'slice' else parent_ckpt
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
            model['init_from'] = dict(checkpoint=init_ckpt, prefix='', mode='load')
        delta['model'] = model
        path, _ = _dataset_with_pipeline(arch.train_dataloader.dataset)
        delta['train_dataloader'] = dict(dataset=_nest(path, dict(pipeline=base_pipeline)))
    elif mode != 'scratch':
        delta['load_from'] = init_ckpt
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
                          parent_arch: Optional[str] = None, slice_importance: str = 'l1',
                          **kwargs) -> Config:
    """Write the training config of a hypothesis next to its arch config; return it loaded.

    With ``channel_init='slice'`` on a c / l step, R_{tau-1} (``parent_arch``, weights
    ``parent_ckpt``) is first sliced to this network (``slice_importance``: ``'l1'`` / ``'l2'``
    group magnitude) into ``init_slice.pth`` next to ``path``, which the config loads."""
    arch = Config.fromfile(arch_path)
    finetune = kwargs.get('finetune', True)
    if finetune and parent_ckpt and init_mode(op, kwargs.get('channel_init', 'scratch')) == \
            'slice':
        if not parent_arch:
            raise ValueError(f'{path}: channel_init="slice" needs parent_arch (the config of '
                             'R_{tau-1})')
        from .slicing import slice_checkpoint
        kwargs['init_checkpoint'] = osp.join(osp.dirname(osp.abspath(path)), 'init_slice.pth')
        slice_checkpoint(parent_arch, parent_ckpt, arch, kwargs['init_checkpoint'],
                         slice_importance)
    delta = training_delta(arch, base, base_ckpt, ops, op, parent_ckpt, **kwargs)
    rel = osp.relpath(osp.abspath(arch_path), osp.dirname(osp.abspath(path)))
    write_config(path, rel, delta, f'PAS training of {" -> ".join(ops) or "B"} '
                 f'(kd={delta["pas_training"]["kd"]}, init={delta["pas_training"]["init"]})')
    return Config.fromfile(path)
