"""Materialised configs of a PAS search (Algorithm 1): each hypothesis is an ordinary config that
``tools/train.py`` trains and ``tools/test.py`` tests.

``DIR/iter<tau>_<op>/arch.py``   eps_op(R_{tau-1}): ``_base_`` = the parent's arch (the network and
                                 its own pipelines; what get_flops measures).
``DIR/iter<tau>_<op>/config.py`` ``_base_ = './arch.py'`` plus the training recipe: the
                                 ``PASDistiller`` around it (soft targets from B on B's input)
                                 and the adaptive initialisation with lr / 10 (Sec. 6.1.4).
"""
from __future__ import annotations

import keyword
import os.path as osp
import re
from typing import Optional, Sequence

from mmengine.config import Config

from ..utils.io import atomic_write
from .distiller import ALPHA, TEMPERATURE
from .operators import (INPUT_OPERATORS, _dataset_with_pipeline, _nest, _plain, clip_sampling,
                        config_literal, pipeline_crop_size, reduced_size,
                        student_frame_index)

__all__ = ['init_mode', 'training_delta', 'write_training_config', 'write_config',
           'teacher_recipe', 'write_teacher_recipe', 'config_diff', 'base_ref']

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
                   init_checkpoint: Optional[str] = None, recipe: bool = False) -> dict:
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
        recipe: the config's second ``_base_`` is a teacher recipe (:func:`teacher_recipe`):
            B's model, checkpoint, train pipeline and the KD loss are referenced
            (``{{_base_.pas_teacher}}`` ...), the student is ``{{_base_.model}}`` (the arch),
            instead of being written out.
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
        shared = teacher_recipe(base, base_ckpt)
        if recipe:
            shared = {k: base_ref(k) for k in shared}
        model = dict(
            _delete_=True, type='PASDistiller',
            student=base_ref('model') if recipe else _plain(arch.model),
            teacher=shared['pas_teacher'], teacher_ckpt=shared['pas_teacher_ckpt'],
            student_frames=frames if len(frames) != base_len else None,
            student_size=size if size != base_size else None,
            distill_loss=shared['pas_distill_loss'], teacher_train_mode=teacher_train_mode)
        if mode != 'scratch':
            model['init_from'] = dict(checkpoint=init_ckpt, prefix='', mode='load')
        delta['model'] = model
        path, _ = _dataset_with_pipeline(arch.train_dataloader.dataset)
        delta['train_dataloader'] = dict(dataset=_nest(path, dict(
            pipeline=shared['pas_teacher_train_pipeline'])))
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


def base_ref(name: str) -> str:
    """A reference to the ``_base_`` variable ``name`` (mmengine's ``{{_base_.name}}``);
    :func:`write_config` writes it unquoted."""
    return '{{_base_.%s}}' % name


def teacher_recipe(base: Config, base_ckpt: str) -> dict:
    """What every KD hypothesis of one base network B shares (Eq. 6.7): B's model, its
    checkpoint, its train pipeline (B reads its own input) and the KD loss."""
    return dict(pas_teacher=_plain(base.model), pas_teacher_ckpt=base_ckpt,
                pas_teacher_train_pipeline=_train_pipeline(base),
                pas_distill_loss=dict(type='KLDivergenceKDLoss',
                                      loss_weight=ALPHA * TEMPERATURE ** 2,
                                      temperature=TEMPERATURE))


def write_teacher_recipe(path: str, base: Config, base_ckpt: str, comment: str) -> None:
    """Write :func:`teacher_recipe` as a config with no ``_base_`` (only ``pas_*`` keys, so it
    can be a second base of any recognizer config)."""
    write_config(path, None, teacher_recipe(base, base_ckpt), comment)


def config_diff(parent: dict, child: dict) -> dict:
    """The changes that turn the (merged) config ``parent`` into ``child``: dicts recursively,
    any other value (lists included) whole; a key ``child`` lacks becomes None."""
    out = {}
    for key in list(parent) + [k for k in child if k not in parent]:
        a, b = parent.get(key), child.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            sub = config_diff(a, b)
            if sub:
                out[key] = sub
        elif a != b:
            out[key] = b
    return out


def _packed(value, indent: int, width: int = 100) -> str:
    """``value`` as a Python literal starting at column ``indent``: a dict with identifier keys
    as ``dict(k=v, ...)`` with as many items per line as fit in ``width`` columns (nested dicts
    likewise; continuation lines carry their own indentation), anything else (or an item too
    long for a line) as :func:`config_literal`."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        # a pipeline: one transform per line, OpenMMLab style
        open_, close = ('[', ']') if isinstance(value, list) else ('(', ')')
        items = [_packed(v, indent + 1, width) for v in value]
        text = open_ + (',\n' + ' ' * (indent + 1)).join(items) + close
        if all(len(line) <= width for line in (' ' * indent + text).split('\n')):
            return text
        return config_literal(value, min(indent, width - 20))
    if not (isinstance(value, dict) and value and all(
            isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value)):
        return config_literal(value, min(indent, width - 20))
    out = ['dict(']
    cont = ' ' * (indent + 5)

    def column() -> int:
        return (indent if len(out) == 1 else 0) + len(out[-1])

    items = list(value.items())
    for i, (key, v) in enumerate(items):
        end = ')' if i == len(items) - 1 else ','
        sep = '' if out[-1].endswith('(') else ' '
        col = column() + len(sep)
        text = f'{key}={_packed(v, col + len(key) + 1, width)}{end}'
        if '\n' not in text and col + len(text) <= width:
            out[-1] += sep + text
            continue
        if out[-1].strip() and not out[-1].endswith('('):
            out.append(cont)
        text = f'{key}={_packed(v, column() + len(key) + 1, width)}{end}'
        parts = text.split('\n')
        out[-1] += parts[0]
        out.extend(parts[1:])
        if len(parts) > 1 and i < len(items) - 1:
            out.append(cont)
    if any(column_len > width for column_len in
           [indent + len(out[0])] + [len(x) for x in out[1:]]):
        return config_literal(value, min(indent, width - 20))
    return '\n'.join(out)


def write_config(path: str, base_rel, delta: dict, comment: str) -> None:
    """Write ``_base_ = base_rel`` (a path, a list of paths, or None: no base) plus ``delta`` as
    Python literals, atomically; :func:`base_ref` strings become references."""
    lines = [f'# {comment}'] + ([f'_base_ = {base_rel!r}', ''] if base_rel else [])
    lines += [f'{key} = {_packed(value, len(key) + 3)}' for key, value in delta.items()]
    text = re.sub(r"'(\{\{_base_\.\w+\}\})'", r'\1', '\n'.join(lines) + '\n')
    with atomic_write(path) as f:
        f.write(text)


def write_training_config(arch_path: str, path: str, base: Config, base_ckpt: str,
                          ops: Sequence[str], op: str, parent_ckpt: Optional[str],
                          parent_arch: Optional[str] = None, slice_importance: str = 'l1',
                          recipe_path: Optional[str] = None, **kwargs) -> Config:
    """Write the training config of a hypothesis next to its arch config; return it loaded.

    With ``channel_init='slice'`` on a c / l step, R_{tau-1} (``parent_arch``, weights
    ``parent_ckpt``) is first sliced to this network (``slice_importance``: ``'l1'`` / ``'l2'``
    group magnitude) into ``init_slice.pth`` next to ``path``, which the config loads.
    ``recipe_path``: a :func:`write_teacher_recipe` file, the second ``_base_`` (KD only)."""
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
    recipe = bool(recipe_path) and kwargs.get('kd', True)
    delta = training_delta(arch, base, base_ckpt, ops, op, parent_ckpt, recipe=recipe, **kwargs)
    folder = osp.dirname(osp.abspath(path))
    rel = osp.relpath(osp.abspath(arch_path), folder)
    if recipe:
        rel = [rel, osp.relpath(osp.abspath(recipe_path), folder)]
    write_config(path, rel, delta, f'PAS training of {" -> ".join(ops) or "B"} '
                 f'(kd={delta["pas_training"]["kd"]}, init={delta["pas_training"]["init"]})')
    return Config.fromfile(path)
