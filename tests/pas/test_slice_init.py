"""Slice initialisation of c / l hypotheses (thesis Sec. 6.1.4's future work; vidplugins/pas/
slicing.py): R_{tau-1} pruned by torch-pruning's dependency graph to exactly the widths the eps_c
config builds. The derivable check: channels whose every weight in their coupled group was zeroed
first carry nothing (BN eval: (x - mu) / sigma * 0 + 0 = 0), so they are the ones the L1 group
magnitude removes and the pruned network computes the zeroed network's logits exactly."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

import vidplugins.pas  # noqa: F401
from vidplugins.pas.complexity import complexity
from vidplugins.pas.hypothesis import write_training_config
from vidplugins.pas.operators import apply_operator, write_reduced_config
from vidplugins.pas.slicing import (RecognizerNet, _example_input, build_recognizer,
                                    dependency_graph, group_plan, slice_checkpoint, slice_state)

from ..conftest import REPO

DEMO = osp.join(REPO, 'configs', 'pas', 'pas_r2plus1d-tiny_cpu-demo.py')
HEAD = dict(type='I3DHead', num_classes=5, in_channels=64, spatial_type='avg', dropout_ratio=0.0)
PRE = dict(type='ActionDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1], format_shape='NCTHW')
#: a tiny Tran R(2+1)D-18 (widths 8..64, stem middle width 10)
R21D = Config(dict(model=dict(
    type='Recognizer3D', data_preprocessor=PRE, cls_head=HEAD,
    backbone=dict(type='ResNet2Plus1dTran', depth=18, pretrained=None, pretrained2d=False,
                  base_channels=8, stem_mid_channels=10, conv1_kernel=(3, 7, 7),
                  conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1),
                  spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
                  norm_cfg=dict(type='BN3d', requires_grad=True), norm_eval=False)),
    flops_input_shape=(1, 3, 8, 32, 32)))
#: a tiny SlowFast-R50 whose fast path is free (slow 16 -> 11, fast 4 -> 3 channels after eps_c):
#: the lateral convolutions and the concatenations they feed are in the coupled groups
SLOWFAST = Config(dict(model=dict(
    type='Recognizer3D', data_preprocessor=PRE,
    backbone=dict(
        type='ResNet3dSlowFastWidths', resample_rate=4, speed_ratio=4, channel_ratio=4,
        slow_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=True,
                          base_channels=16, conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1),
                          conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1)),
        fast_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=False,
                          base_channels=4, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
                          pool1_stride_t=1)),
    cls_head=dict(type='SlowFastHead', in_channels=(16 + 4) * 32, num_classes=5,
                  spatial_type='avg', dropout_ratio=0.0)),
    flops_input_shape=(1, 3, 8, 32, 32)))


def _randomise_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=g) + 0.5
            m.bias.data = torch.randn(n, generator=g) * 0.1
            m.running_mean = torch.randn(n, generator=g) * 0.1
            m.running_var = torch.rand(n, generator=g) + 0.5


def _zero(dg, root, idxs):
    """Zero every weight of channels ``idxs`` of ``root``'s coupled group (producers' outputs,
    BatchNorm scale and shift, consumers' inputs; the indices mapped through concatenations)."""
    for dep, local in dg.get_pruning_group(root, dg.get_pruner_of_module(root).prune_out_channels,
                                           idxs):
        layer, out = dep.target.module, dg.is_out_channel_pruning_fn(dep.handler)
        local = list(local)
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.weight.data[local] = 0
            layer.bias.data[local] = 0
        elif isinstance(layer, (nn.modules.conv._ConvNd, nn.Linear)):
            if out:
                layer.weight.data[local] = 0
                if layer.bias is not None:
                    layer.bias.data[local] = 0
            else:
                layer.weight.data[:, local] = 0


@pytest.mark.parametrize('parent_cfg', [R21D, SLOWFAST], ids=['r2plus1d', 'slowfast'])
def test_zeroed_channels_are_removed_and_logits_kept(parent_cfg):
    torch.manual_seed(0)
    child_cfg = apply_operator(parent_cfg, 'c')
    parent = build_recognizer(parent_cfg)
    _randomise_bn(parent)
    net = RecognizerNet(parent)
    child = build_recognizer(child_cfg)
    dg = dependency_graph(net, _example_input(parent_cfg))
    plan = group_plan(dg, net, RecognizerNet(child))
    modules = dict(net.named_modules())
    g = torch.Generator().manual_seed(1)
    chosen = {}
    for name, have, want, _ in plan:   # zero random channels, as many as eps_c removes
        chosen[name] = sorted(torch.randperm(have, generator=g)[:have - want].tolist())
        _zero(dg, modules[name], chosen[name])
    # the L1 group magnitude ranks exactly the zeroed channels last
    again = {n: idxs for n, _, _, idxs in group_plan(dg, net, RecognizerNet(child))}
    assert again == chosen
    x = torch.randn(2, *parent_cfg.flops_input_shape[1:])
    with torch.no_grad():
        expected = net(x)
    state, info = slice_state(parent_cfg, parent.state_dict(), child_cfg, fallback=False)
    assert info['method'] == 'torch-pruning' and len(info['removed']) == len(plan)
    child.load_state_dict(state, strict=True)   # the widths are those eps_c's config builds
    with torch.no_grad():
        got = RecognizerNet(child)(x)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4), (got - expected).abs().max()
    if 'slow_path' in parent_cfg.model.backbone:   # the laterals were narrowed with the fast path
        assert info['removed']['backbone.slow_path.conv1_lateral.conv'] == (8, 6)


def test_demo_net_slice_flops_and_layers(tmp_path):
    """The CPU demo's base: c, l and c+l hypotheses load their slices strictly; the pruned
    network's FLOPs are those measured on the config; eps_l's kept blocks keep their weights."""
    base = Config.fromfile(DEMO)
    parent = build_recognizer(base)
    _randomise_bn(parent, 2)
    ckpt = tmp_path / 'parent.pth'
    torch.save({'state_dict': parent.state_dict()}, ckpt)
    _, base_gflops = complexity(base)
    for op in ('c', 'l', 'c+l'):
        child_cfg = write_reduced_config(DEMO, op, str(tmp_path / f'{op}.py'))
        out = str(tmp_path / f'{op}_slice.pth')
        info = slice_checkpoint(DEMO, str(ckpt), child_cfg, out)
        child = build_recognizer(child_cfg)
        sliced = torch.load(out, map_location='cpu', weights_only=True)['state_dict']
        child.load_state_dict(sliced, strict=True)
        _, gflops = complexity(child_cfg)
        shape = (1,) + tuple(child_cfg.flops_input_shape)
        analyzer = FlopAnalyzer(child, (torch.zeros(shape), None, 'tensor'))
        analyzer.unsupported_ops_warnings(False)
        assert analyzer.total() / 1e9 == pytest.approx(gflops, rel=1e-9)
        if op == 'l':   # no width changes: block 0 of each stage is B's own block 0
            assert info['removed'] == {}
            for k, v in sliced.items():
                assert torch.equal(v, parent.state_dict()[k]), k
            assert 'backbone.layer1.1.conv1.conv.conv_s.weight' not in sliced
        else:           # 8 -> 6 channels: (6 / 8)^2 of most convolutions' FLOPs
            assert info['removed']['backbone.conv1.conv.conv_t'] == (8, 6)
            assert gflops < 0.65 * base_gflops


def test_search_materialises_a_slice_loaded_strictly(tmp_path):
    """write_training_config(channel_init='slice') writes init_slice.pth next to the config,
    which PASDistiller loads with mode 'load' (strict, weights_only=True)."""
    from mmaction.registry import MODELS
    base = Config.fromfile(DEMO)
    torch.manual_seed(3)
    b = build_recognizer(base)
    ckpt = str(tmp_path / 'B.pth')
    torch.save({'state_dict': b.state_dict()}, ckpt)
    arch = str(tmp_path / 'iter1_c' / 'arch.py')
    write_reduced_config(DEMO, 'c', arch)
    cfg = write_training_config(arch, str(tmp_path / 'iter1_c' / 'config.py'), base, ckpt, ['c'],
                                'c', ckpt, parent_arch=DEMO, channel_init='slice')
    init = str(tmp_path / 'iter1_c' / 'init_slice.pth')
    assert cfg.model.init_from == dict(checkpoint=init, prefix='', mode='load')
    assert cfg.pas_training.init == 'slice'
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(base.optim_wrapper.optimizer.lr / 10)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    state = torch.load(init, map_location='cpu', weights_only=True)['state_dict']
    for k, v in model.student.state_dict().items():
        assert torch.equal(v, state[k]), k
    ce = write_training_config(arch, str(tmp_path / 'iter1_c' / 'ce.py'), base, ckpt, ['c'], 'c',
                               ckpt, parent_arch=DEMO, channel_init='slice', kd=False)
    assert ce.load_from == init and ce.model.type == 'Recognizer3D'
