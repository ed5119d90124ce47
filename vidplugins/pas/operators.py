"""The five reduction operators of PAS (thesis Sec. 6.1.1) as pure functions config -> config.

Each operator reads a recognizer config R_{tau-1} and returns the *changes* that turn it into
eps(R_{tau-1}) (:func:`operator_delta`); :func:`apply_operator` merges them into a new ``Config``
and :func:`write_reduced_config` writes a complete config file that inherits its parent through
``_base_`` and holds only those changes, so a sequence of operators is a chain of small files.
Nothing is trained or measured here: FLOPs are measured on the result (``complexity.py``).

Factors (Sec. 6.2.2): gamma_s = 1.4, gamma_t = 2, gamma_f = 2, gamma_c = 1.4, gamma_l = 2.
Rounding (the thesis omits it): every size and width becomes ``max(1, round(v / gamma))`` of the
*parent's* value (112 -> 80 -> 57 px, 64 -> 46 channels, R(2+1)D stem 45 -> 32); frames
``clip_len // 2``; blocks per stage ``max(1, n // 2)``.

- ``s``: every spatial size of the train / val / test pipelines (``Resize`` scales,
  ``RandomRescale`` ranges, crop sizes) and of ``flops_input_shape``;
- ``t``: the first ``T / 2`` frames: ``SampleFrames.clip_len // 2``, same frame interval;
- ``f``: half the frame rate: ``clip_len // 2`` and ``frame_interval * 2`` (same time span);
- ``c``: the base width of every ResNet pathway (hence every conv, shortcut and, for SlowFast,
  the fast path and the lateral connections, which become ``ResNet3dSlowFastWidths``), the
  R(2+1)D stem's middle width, and the head's input channels;
- ``l``: ``stage_blocks`` of every pathway (per-block ``inflate`` / ``non_local`` truncated).

For SlowFast (Table 6.10) the input operators act on the raw clip (the fast path's input: 32
frames at interval 2 = 64 raw frames); each pathway then samples from it as before (slow one out
of ``resample_rate``), so ``t`` and ``f`` apply while the slow path keeps at least one frame.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import pprint
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils.io import atomic_write

__all__ = ['GAMMAS', 'OPERATORS', 'INPUT_OPERATORS', 'OperatorNotApplicable', 'reduce_size',
           'operator_delta', 'apply_operator', 'apply_operators', 'write_reduced_config',
           'pipeline_crop_size', 'clip_sampling', 'student_frame_index', 'reduced_size',
           'parse_ops', 'config_literal']

#: Sec. 6.2.2: each operator roughly halves the FLOPs.
GAMMAS = dict(s=1.4, t=2, f=2, c=1.4, l=2)
OPERATORS = ('s', 't', 'f', 'c', 'l')
#: Operators that keep every weight shape: adaptive fine-tuning from R_{tau-1} (Sec. 6.1.4).
INPUT_OPERATORS = ('s', 't', 'f')

_RESNET_DEPTHS = {18: ((2, 2, 2, 2), 1), 34: ((3, 4, 6, 3), 1), 50: ((3, 4, 6, 3), 4),
                  101: ((3, 4, 23, 3), 4), 152: ((3, 8, 36, 3), 4)}
_RESNET_TYPES = ('ResNet3d', 'ResNet2Plus1d', 'ResNet2Plus1dTran', 'ResNet3dSlowOnly',
                 'ResNet3dCSN')
_SLOWFAST_TYPES = ('ResNet3dSlowFast', 'ResNet3dSlowFastWidths')
_CROP_KEYS = {'RandomCrop': 'size', 'CenterCrop': 'crop_size', 'ThreeCrop': 'crop_size',
              'TenCrop': 'crop_size'}


class OperatorNotApplicable(ValueError):
    """The operator cannot reduce this network further (the message says why)."""


def parse_ops(text: str | Sequence[str]) -> List[str]:
    """``'c,f,t'`` -> ``['c', 'f', 't']``; a step of several operators is joined with ``+``
    (``'c,t+f'``). Raises ValueError naming an unknown operator."""
    ops = [o.strip() for o in text.split(',')] if isinstance(text, str) else list(text)
    for step in ops:
        for o in step.split('+'):
            if o not in OPERATORS:
                raise ValueError(f'unknown PAS operator {o!r} (choose from {OPERATORS})')
    return [o for o in ops if o]


def reduce_size(value: int, gamma: float) -> int:
    """``max(1, round(value / gamma))`` (the rounding used for every size and width)."""
    return max(1, int(round(value / gamma)))


def _scale_size(value, gamma):
    """A size (int or (w, h) tuple; -1 means 'keep ratio'; floats are relative, kept)."""
    if isinstance(value, bool) or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if value <= 0 else reduce_size(value, gamma)
    if isinstance(value, (tuple, list)):
        if any(isinstance(v, float) for v in value):
            return value
        return type(value)(v if v <= 0 else reduce_size(v, gamma) for v in value)
    return value


# ----------------------------------------------------------------------------- pipelines
def _dataset_with_pipeline(dataset: dict) -> Tuple[List[str], dict]:
    """Key path to the (innermost) dataset holding ``pipeline`` (RepeatDataset etc. wrap one)."""
    path = []
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        path.append('dataset')
        dataset = dataset['dataset']
    return path, dataset


def _loaders(cfg: Config):
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader and isinstance(loader.get('dataset'), dict):
            path, dataset = _dataset_with_pipeline(loader['dataset'])
            if 'pipeline' in dataset:
                yield name, path, dataset['pipeline']


def _nest(path: List[str], leaf: dict) -> dict:
    for key in reversed(path):
        leaf = {key: leaf}
    return leaf


def _pipelines_delta(cfg: Config, edit) -> dict:
    """Apply ``edit(list_of_transforms) -> new list`` to every dataloader pipeline and to the
    top-level ``*_pipeline`` variables; return the config changes."""
    delta: Dict[str, Any] = {}
    for name, path, pipeline in _loaders(cfg):
        new = edit(copy.deepcopy(_plain(pipeline)), f'{name}.dataset.pipeline')
        delta[name] = dict(dataset=_nest(path, dict(pipeline=new)))
    for name in ('train_pipeline', 'val_pipeline', 'test_pipeline'):
        if isinstance(cfg.get(name), (list, tuple)):
            delta[name] = edit(copy.deepcopy(_plain(cfg[name])), name)
    return delta


def _plain(obj):
    """ConfigDict / tuples -> plain dicts and lists (what a written config holds)."""
    if hasattr(obj, 'to_dict'):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    return obj


def clip_sampling(cfg: Config, loader: str = 'test_dataloader') -> Tuple[int, int]:
    """``(clip_len, frame_interval)`` of the ``SampleFrames`` of a loader's pipeline."""
    for name, _, pipeline in _loaders(cfg):
        if name == loader:
            for t in pipeline:
                if t.get('type') == 'SampleFrames':
                    return int(t['clip_len']), int(t.get('frame_interval', 1))
    raise KeyError(f'{cfg.filename}: no SampleFrames in {loader}.dataset.pipeline')


def pipeline_crop_size(pipeline: Sequence[dict]) -> Tuple[int, int]:
    """(H, W) of the clips a pipeline outputs: the last fixed-size crop or resize."""
    size = None
    for t in pipeline:
        kind = t.get('type')
        if kind in _CROP_KEYS:
            v = t[_CROP_KEYS[kind]]
            size = (v, v) if isinstance(v, int) else (v[1], v[0]) if kind != 'RandomCrop' else v
        elif kind == 'Resize' and not t.get('keep_ratio', True) and \
                isinstance(t.get('scale'), (tuple, list)):
            size = (t['scale'][1], t['scale'][0])
    if size is None:
        raise KeyError('no fixed-size crop or resize in the pipeline '
                       f'{[t.get("type") for t in pipeline]}')
    return tuple(int(v) for v in size)


# ----------------------------------------------------------------------------- backbones
def _backbone(cfg: Config) -> dict:
    model = cfg.get('model')
    if not model or 'backbone' not in model:
        raise KeyError(f'{cfg.filename}: PAS operators need a recognizer config with '
                       'model.backbone')
    return model['backbone']


def _min_frames(cfg: Config) -> int:
    """Fewest input frames the backbone accepts (SlowFast: its slow path keeps >= 1 frame)."""
    bb = _backbone(cfg)
    return int(bb.get('resample_rate', 8)) if bb.get('type') in _SLOWFAST_TYPES else 1


def _stage_blocks(pathway: dict) -> Tuple[int, ...]:
    if pathway.get('stage_blocks') is not None:
        return tuple(pathway['stage_blocks'])
    depth = pathway.get('depth', 50)
    if depth not in _RESNET_DEPTHS:
        raise KeyError(f'PAS eps_l: unknown ResNet depth {depth}')
    return _RESNET_DEPTHS[depth][0][:pathway.get('num_stages', 4)]


def _expansion(pathway: dict) -> int:
    return _RESNET_DEPTHS.get(pathway.get('depth', 50), (None, 4))[1]


def _out_channels(pathway: dict) -> int:
    """Output channels of a ResNet pathway: base * 2^(stages - 1) * expansion."""
    return pathway.get('base_channels', 64) * 2 ** (pathway.get('num_stages', 4) - 1) * \
        _expansion(pathway)


def _pathways(bb: dict) -> Dict[str, dict]:
    """name -> pathway config (``''`` for a single-path backbone)."""
    kind = bb.get('type')
    if kind in _SLOWFAST_TYPES:
        return {'slow_pathway': bb['slow_pathway'], 'fast_pathway': bb['fast_pathway']}
    if kind in _RESNET_TYPES:
        return {'': bb}
    raise OperatorNotApplicable(
        'PAS channel / layer operators support ResNet-style backbones '
        f'{_RESNET_TYPES + _SLOWFAST_TYPES}, got model.backbone.type={kind!r}')


# ----------------------------------------------------------------------------- operators
def _delta_s(cfg: Config, gamma: float) -> dict:
    def edit(pipeline, where):
        for t in pipeline:
            kind = t.get('type')
            if kind == 'Resize':
                t['scale'] = _scale_size(t['scale'], gamma)
            elif kind == 'RandomRescale':
                t['scale_range'] = _scale_size(t['scale_range'], gamma)
            elif kind in _CROP_KEYS:
                key = _CROP_KEYS[kind]
                t[key] = _scale_size(t[key], gamma)
            elif kind == 'MultiScaleCrop':
                t['input_size'] = _scale_size(t['input_size'], gamma)
        return pipeline
    delta = _pipelines_delta(cfg, edit)
    shape = cfg.get('flops_input_shape')
    if shape:
        delta['flops_input_shape'] = tuple(shape[:-2]) + tuple(
            reduce_size(v, gamma) for v in shape[-2:])
    return delta


def _delta_time(cfg: Config, gamma: int, op: str) -> dict:
    min_frames = _min_frames(cfg)

    def edit(pipeline, where):
        found = False
        for t in pipeline:
            if t.get('type') == 'SampleFrames':
                found = True
                clip_len = int(t['clip_len'])
                new_len = clip_len // gamma
                if new_len < min_frames:
                    raise OperatorNotApplicable(
                        f'eps_{op}: {where} samples {clip_len} frames; {clip_len} // {gamma} = '
                        f'{new_len} is below the {min_frames} frame(s) the backbone needs')
                t['clip_len'] = new_len
                if op == 'f':
                    t['frame_interval'] = int(t.get('frame_interval', 1)) * gamma
            elif t.get('type') in ('UntrimmedSampleFrames', 'DenseSampleFrames',
                                   'SampleAVAFrames'):
                raise OperatorNotApplicable(f'eps_{op}: {where} uses {t["type"]}; only '
                                            'SampleFrames is supported')
        if not found:
            raise KeyError(f'{cfg.filename}: eps_{op} needs a SampleFrames in {where}')
        return pipeline
    delta = _pipelines_delta(cfg, edit)
    shape = cfg.get('flops_input_shape')
    if shape:
        delta['flops_input_shape'] = tuple(shape[:-3]) + (shape[-3] // gamma,) + \
            tuple(shape[-2:])
    return delta


def _delta_c(cfg: Config, gamma: float) -> dict:
    bb = _backbone(cfg)
    paths = _pathways(bb)
    new_bb: Dict[str, Any] = {}
    out = 0
    for name, pathway in paths.items():
        base = pathway.get('base_channels', 64)
        change = dict(base_channels=reduce_size(base, gamma))
        if pathway.get('type', bb.get('type')) == 'ResNet2Plus1dTran':
            change['stem_mid_channels'] = reduce_size(pathway.get('stem_mid_channels', 45), gamma)
        out += _out_channels({**pathway, **change})
        if name:
            new_bb[name] = change
        else:
            new_bb.update(change)
    if bb.get('type') == 'ResNet3dSlowFast':
        new_bb['type'] = 'ResNet3dSlowFastWidths'  # lateral widths from the reduced fast path
    delta = dict(model=dict(backbone=new_bb))
    if 'cls_head' in cfg.model and 'in_channels' in cfg.model.cls_head:
        delta['model']['cls_head'] = dict(in_channels=out)
    return delta


def _delta_l(cfg: Config, gamma: int) -> dict:
    bb = _backbone(cfg)
    new_bb: Dict[str, Any] = {}
    for name, pathway in _pathways(bb).items():
        blocks = _stage_blocks(pathway)
        new = tuple(max(1, n // gamma) for n in blocks)
        if new == blocks:
            raise OperatorNotApplicable(f'eps_l: {name or "backbone"} already has '
                                        f'{blocks} blocks per stage')
        change: Dict[str, Any] = dict(stage_blocks=new)
        for key in ('inflate', 'non_local'):
            value = pathway.get(key)
            if isinstance(value, (tuple, list)) and any(
                    isinstance(v, (tuple, list)) for v in value):
                change[key] = tuple(tuple(v[:n]) if isinstance(v, (tuple, list)) else v
                                    for v, n in zip(value, new))
        if name:
            new_bb[name] = change
        else:
            new_bb.update(change)
    return dict(model=dict(backbone=new_bb))


def operator_delta(cfg: Config, op: str) -> dict:
    """The config changes that apply eps_op (Sec. 6.1.1) to the network of ``cfg``.

    ``op`` is one operator or several joined by ``+`` (applied left to right, one step).

    Returns:
        a dict to merge into ``cfg`` (pipelines as whole lists), including ``pas_ops``.
    Raises:
        OperatorNotApplicable: the network cannot be reduced along that axis (reason given).
    """
    steps = op.split('+')
    parse_ops(steps)
    current = cfg
    delta: Dict[str, Any] = {}
    for o in steps:
        if o == 's':
            d = _delta_s(current, GAMMAS['s'])
        elif o in ('t', 'f'):
            d = _delta_time(current, GAMMAS[o], o)
        elif o == 'c':
            d = _delta_c(current, GAMMAS['c'])
        else:
            d = _delta_l(current, GAMMAS['l'])
        current = _merged(current, d)
        delta = _merge_dicts(delta, d)
    delta['pas_ops'] = list(cfg.get('pas_ops', [])) + [op]
    return delta


def _merge_dicts(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_dicts(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _merged(cfg: Config, delta: dict) -> Config:
    new = Config(copy.deepcopy(cfg._cfg_dict.to_dict()), filename=cfg.filename)
    new.merge_from_dict(delta, allow_list_keys=False)
    # merge_from_dict merges dict leaves; lists must replace (they already do for non-dict keys)
    return new


def apply_operator(cfg: Config, op: str) -> Config:
    """eps_op(cfg): a new ``Config`` (``cfg`` is not modified)."""
    return _merged(cfg, operator_delta(cfg, op))


def apply_operators(cfg: Config, ops: Sequence[str]) -> Config:
    """Eq. 6.2: eps_k(... eps_1(cfg))."""
    for op in ops:
        cfg = apply_operator(cfg, op)
    return cfg


def config_literal(value, indent: int = 0) -> str:
    """A Python literal of ``value`` wrapped to 100 columns after ``indent`` characters."""
    return pprint.pformat(_plain(value), width=100 - indent, sort_dicts=False)


def write_reduced_config(parent: str, op: str, path: str,
                         parent_cfg: Optional[Config] = None) -> Config:
    """Write ``path``: ``_base_ = <parent, relative>`` plus the changes of eps_op; return the
    loaded result. The file is written atomically (mode 0644)."""
    parent_cfg = parent_cfg or Config.fromfile(parent)
    delta = operator_delta(parent_cfg, op)
    rel = osp.relpath(osp.abspath(parent), osp.dirname(osp.abspath(path)))
    lines = [f'# PAS: eps_{op}(_base_), written by vidplugins.pas.operators',
             f'_base_ = {rel!r}', '']
    lines += [f'{key} = {config_literal(value, len(key) + 3)}' for key, value in delta.items()]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:
        f.write('\n'.join(lines) + '\n')
    return Config.fromfile(path)


# ----------------------------------------------------------------------------- student inputs
def student_frame_index(num_frames: int, ops: Sequence[str]) -> List[int]:
    """Indices of the base clip's frames that the reduced network sees (same video, same start):
    ``t`` keeps the first half, ``f`` every second frame, in the order applied."""
    index = list(range(num_frames))
    for step in ops:
        for o in step.split('+'):
            if o == 't':
                index = index[:len(index) // GAMMAS['t']]
            elif o == 'f':
                index = index[::GAMMAS['f']]
    return index


def reduced_size(size: Tuple[int, int], ops: Sequence[str]) -> Tuple[int, int]:
    """(H, W) after the ``s`` steps of ``ops`` (same rounding as the pipelines)."""
    h, w = size
    for step in ops:
        for o in step.split('+'):
            if o == 's':
                h, w = reduce_size(h, GAMMAS['s']), reduce_size(w, GAMMAS['s'])
    return h, w
