"""Slice initialisation of channel / layer hypotheses (thesis Sec. 6.1.4, its future work).

The thesis trains an eps_c / eps_l hypothesis from random weights. Here it can instead start from
a *slice* of R_{tau-1}'s trained weights:

- eps_c: R_{tau-1} is pruned with torch-pruning's dependency graph (``torch_pruning``, MIT) down to
  exactly the widths the eps_c config builds. The graph couples every layer that shares a channel
  index (a residual stage's convolutions, BatchNorms and shortcut; a (2+1)D convolution's middle
  width; SlowFast's lateral convolutions and the slow-path convolutions that read the concatenated
  channels; the classifier's inputs), so a kept channel keeps all of its weights everywhere. Within
  each coupled group the channels with the largest group magnitude (L1 by default, or L2: torch-
  pruning's ``GroupMagnitudeImportance``, mean over the group's layers) are kept, in their order.
  The number kept per group is read from the hypothesis built from its own config (eps_c's
  rounding, ``max(1, round(w / 1.4))`` of every base width, Tran's middle widths recomputed from
  the reduced planes), so the result loads *strictly* into that network.
- eps_l: the kept blocks (the first ``max(1, n // 2)`` of each stage, which hold the stage's
  stride and shortcut) keep their weights; the removed blocks' weights are dropped.

A step of several operators (``c+l``, ``s+c``) is handled in one go: prune to the child's widths,
then keep the child's blocks. The result is written as an ordinary ``{'state_dict': ...}``
checkpoint of the hypothesis's recognizer, loaded with ``weights_only=True`` (``PASDistiller``'s
``init_from`` with ``mode='load'``, or ``load_from`` for a CE-only recognizer).

When the dependency graph cannot be built for a backbone, :func:`slice_checkpoint` says so and falls
back to the leading slice of every tensor (``distiller.slice_state_dict``), still checked strictly.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.registry import init_default_scope

from ..utils.io import atomic_write
from .complexity import recognizer_config
from .distiller import load_state_dict_file, slice_state_dict

__all__ = ['IMPORTANCES', 'build_recognizer', 'RecognizerNet', 'dependency_graph',
           'group_plan', 'prune_to', 'slice_state', 'slice_checkpoint']

#: importance name -> the norm degree p of torch-pruning's group magnitude.
IMPORTANCES = {'l1': 1, 'l2': 2}


def _cfg(cfg: Union[str, Config]) -> Config:
    return cfg if isinstance(cfg, Config) else Config.fromfile(cfg)


def build_recognizer(cfg: Union[str, Config]) -> nn.Module:
    """The network a config tests (a distiller's student), PyTorch's default initialisation (the
    weights are loaded or only their shapes read), eval mode."""
    from mmaction.registry import MODELS
    cfg = _cfg(cfg)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(copy.deepcopy(recognizer_config(cfg)))
    model.eval()   # mmaction2's ResNet3d.train() returns None: no chaining
    return model


class RecognizerNet(nn.Module):
    """``cls_head(backbone(x))`` of a recognizer: the computation the dependency graph traces.

    Shapes: (N, 3, T, H, W) -> (N, num_classes) logits (no view averaging, no softmax).
    """

    def __init__(self, recognizer: nn.Module):
        super().__init__()
        self.backbone = recognizer.backbone
        self.cls_head = recognizer.cls_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.backbone(x))


def _example_input(cfg: Config) -> torch.Tensor:
    """One small view: the config's frames (SlowFast needs its slow path's), 32 x 32 pixels (the
    graph does not depend on the spatial size)."""
    shape = cfg.get('flops_input_shape')
    if not shape:
        raise KeyError(f'{cfg.filename}: flops_input_shape is required to trace the network '
                       'for slicing')
    return torch.zeros((1,) + tuple(shape[:-2]) + (32, 32))


def dependency_graph(net: nn.Module, example: torch.Tensor):
    """torch-pruning's ``DependencyGraph`` of ``net`` (traced once, eval mode, no update of any
    running statistics)."""
    import torch_pruning as tp
    net.eval()
    return tp.DependencyGraph().build_dependency(net, example_inputs=example)


def _width(module: nn.Module) -> Optional[int]:
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.out_channels
    if isinstance(module, nn.Linear):
        return module.out_features
    return None


def group_plan(dg, source: nn.Module, target: nn.Module,
               importance: str = 'l1') -> List[Tuple[str, int, int, List[int]]]:
    """For each coupled channel group of ``source`` (rooted at a conv / linear output) that the
    ``target`` network makes narrower: (root module name, source width, target width, indices of
    the channels to remove: the lowest group magnitudes, ascending index order).

    The group's target width is the output width of the module of the same name in ``target``.
    """
    import torch_pruning as tp
    if importance not in IMPORTANCES:
        raise ValueError(f'slice importance must be one of {sorted(IMPORTANCES)}, got '
                         f'{importance!r}')
    scorer = tp.importance.GroupMagnitudeImportance(p=IMPORTANCES[importance],
                                                    group_reduction='mean', normalizer=None)
    names = {m: n for n, m in source.named_modules()}
    targets = dict(target.named_modules())
    plan = []
    for group in dg.get_all_groups(root_module_types=(nn.modules.conv._ConvNd, nn.Linear)):
        root = group[0].dep.target.module
        # the group's width in the hypothesis: any of its output layers that the hypothesis
        # keeps (eps_l may remove the root's block, not the stage's residual channels)
        outputs = [names.get(dep.target.module) for dep, _ in group
                   if dg.is_out_channel_pruning_fn(dep.handler)]
        kept = [n for n in outputs if n in targets and _width(targets[n]) is not None]
        if not kept:
            continue   # every layer of the group is in blocks eps_l removes
        name = kept[0]
        have, want = _width(root), _width(targets[name])
        if want > have:
            raise ValueError(f'slice: {name} has {have} channels, the hypothesis needs {want} '
                             '(a channel reduction can only remove channels)')
        if want == have:
            continue
        scores = scorer(group)
        order = torch.argsort(scores, stable=True)   # ties: the lower index is removed first
        plan.append((names[root], have, want, sorted(order[:have - want].tolist())))
    return plan


def prune_to(source: nn.Module, target: nn.Module, example: torch.Tensor,
             importance: str = 'l1') -> List[Tuple[str, int, int, List[int]]]:
    """Prune ``source`` (a :class:`RecognizerNet`, in place) to the widths of ``target``, group by
    group (see :func:`group_plan`); returns what was removed."""
    dg = dependency_graph(source, example)
    # Every group's importance is that of the unpruned R_{tau-1}; groups are disjoint in their
    # output channels, so one group's removal leaves the others' indices valid.
    plan = group_plan(dg, source, target, importance)
    modules = dict(source.named_modules())
    for name, _, _, idxs in plan:
        root = modules[name]
        dg.get_pruning_group(root, dg.get_pruner_of_module(root).prune_out_channels,
                             idxs).prune()
    return plan


def _check_strict(state: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor],
                  what: str) -> Dict[str, torch.Tensor]:
    missing = [k for k in target if k not in state]
    shapes = [f'{k}: {tuple(state[k].shape)} vs {tuple(target[k].shape)}' for k in target
              if k in state and state[k].shape != target[k].shape]
    if missing or shapes:
        raise ValueError(f'slice: {what} does not fit the hypothesis: missing {missing[:3]}, '
                         f'other shapes {shapes[:3]}')
    return {k: state[k] for k in target}


def slice_state(parent_cfg: Union[str, Config], parent_state: Dict[str, torch.Tensor],
                child_cfg: Union[str, Config], importance: str = 'l1',
                fallback: bool = True) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The child's recognizer state dict sliced from the parent's (module docstring).

    Args:
        parent_cfg / child_cfg: R_{tau-1}'s and the hypothesis's configs (or loaded Configs).
        parent_state: R_{tau-1}'s recognizer weights (keys ``backbone.*``, ``cls_head.*``).
        importance: ``'l1'`` / ``'l2'`` group magnitude.
        fallback: when the dependency graph fails, take leading slices (logged) instead of
            raising.
    Returns:
        (state dict with exactly the child's keys and shapes, info dict: ``method``
        (``'torch-pruning'`` / ``'leading'``), ``removed`` {group root: (from, to)}).
    """
    parent_cfg, child_cfg = _cfg(parent_cfg), _cfg(child_cfg)
    parent = build_recognizer(parent_cfg)
    parent.load_state_dict(parent_state, strict=True)
    child = build_recognizer(child_cfg)
    want = child.state_dict()
    try:
        net = RecognizerNet(parent)
        removed = prune_to(net, RecognizerNet(child), _example_input(parent_cfg), importance)
        state = _check_strict(parent.state_dict(), want, f'{parent_cfg.filename} pruned')
        info = dict(method='torch-pruning', importance=importance,
                    removed={n: (a, b) for n, a, b, _ in removed})
    except Exception as e:   # noqa: BLE001  (reported, then the documented fallback)
        if not fallback:
            raise
        print_log(f'PAS slice: torch-pruning could not prune {parent_cfg.filename} to '
                  f'{child_cfg.filename} ({type(e).__name__}: {e}); falling back to the leading '
                  'slice of every tensor (first channels), not importance-ordered',
                  logger='current', level=30)
        sliced, skipped = slice_state_dict(parent_state, want)
        state = _check_strict(sliced, want, f'the leading slice of {parent_cfg.filename}')
        info = dict(method='leading', importance=None, removed={}, error=str(e))
    return state, info


def slice_checkpoint(parent_cfg: Union[str, Config], parent_ckpt: str,
                     child_cfg: Union[str, Config], out: str, importance: str = 'l1',
                     prefix: str = '') -> dict:
    """Write ``out``: ``{'state_dict': <child recognizer weights>, 'meta': {...}}`` sliced from
    ``parent_ckpt`` (read with ``weights_only=True``; ``prefix`` selects a distiller's
    ``student.``). Atomic, mode 0644. Returns the info of :func:`slice_state`."""
    state, info = slice_state(parent_cfg, load_state_dict_file(parent_ckpt, prefix), child_cfg,
                              importance)
    with atomic_write(out, 'wb') as f:
        torch.save({'state_dict': state, 'meta': dict(
            source=osp.basename(parent_ckpt), method=info['method'],
            importance=info['importance'])}, f)
    MMLogger.get_current_instance().info(
        f'PAS slice: {out} from {parent_ckpt} ({info["method"]}, {len(info["removed"])} channel '
        'groups narrowed)')
    return info
