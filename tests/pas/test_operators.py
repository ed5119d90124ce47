"""PAS reduction operators (thesis Sec. 6.1.1) on the shipped base configs: every changed value
derived by hand from the factors and the stated rounding."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from vidplugins.pas.operators import (OperatorNotApplicable, apply_operator, apply_operators,
                                      operator_delta, parse_ops, pipeline_crop_size,
                                      reduced_size, student_frame_index, write_reduced_config)

from ..conftest import REPO

R21D = osp.join(REPO, 'configs/pas/pas_r2plus1d-18_k400_base.py')
SLOWFAST = osp.join(REPO, 'configs/pas/pas_slowfast-4x16-r50_k400_base.py')


def _inner(loader):
    ds = loader.dataset
    while 'pipeline' not in ds:
        ds = ds.dataset
    return ds.pipeline


def _find(pipeline, kind):
    return [t for t in pipeline if t['type'] == kind][0]


@pytest.fixture(scope='module')
def r21d():
    return Config.fromfile(R21D)


@pytest.fixture(scope='module')
def slowfast():
    return Config.fromfile(SLOWFAST)


def test_spatial(r21d):
    out = apply_operator(r21d, 's')
    train, test = _inner(out.train_dataloader), _inner(out.test_dataloader)
    assert _find(train, 'Resize')['scale'] == (122, 91)   # round(171 / 1.4), round(128 / 1.4)
    assert _find(train, 'RandomCrop')['size'] == 80       # round(112 / 1.4)
    assert _find(test, 'CenterCrop')['crop_size'] == 80
    assert _find(_inner(out.val_dataloader), 'CenterCrop')['crop_size'] == 80
    assert out.flops_input_shape == (1, 3, 16, 80, 80)
    assert out.pas_ops == ['s']
    # the input is untouched (pure function)
    assert _find(_inner(r21d.train_dataloader), 'RandomCrop')['size'] == 112


def test_temporal_and_frame_rate(r21d):
    t = apply_operator(r21d, 't')
    f = apply_operator(r21d, 'f')
    st, sf = _find(_inner(t.test_dataloader), 'SampleFrames'), \
        _find(_inner(f.test_dataloader), 'SampleFrames')
    assert (st['clip_len'], st['frame_interval'], st['num_clips']) == (8, 1, 10)
    assert (sf['clip_len'], sf['frame_interval'], sf['num_clips']) == (8, 2, 10)
    assert t.flops_input_shape == f.flops_input_shape == (1, 3, 8, 112, 112)


def test_channels_and_layers_r2plus1d(r21d):
    c = apply_operator(r21d, 'c')
    assert c.model.backbone.base_channels == 46 and c.model.backbone.stem_mid_channels == 32
    assert c.model.cls_head.in_channels == 46 * 8
    cc = apply_operator(c, 'c')
    assert cc.model.backbone.base_channels == 33 and cc.model.cls_head.in_channels == 33 * 8
    ll = apply_operator(r21d, 'l')
    assert tuple(ll.model.backbone.stage_blocks) == (1, 1, 1, 1)
    with pytest.raises(OperatorNotApplicable, match='already has'):
        apply_operator(ll, 'l')


def test_slowfast(slowfast):
    c = apply_operator(slowfast, 'c')
    bb = c.model.backbone
    assert bb.type == 'ResNet3dSlowFastWidths'
    assert bb.slow_pathway.base_channels == 46 and bb.fast_pathway.base_channels == 6
    assert c.model.cls_head.in_channels == (46 + 6) * 8 * 4
    s = apply_operator(slowfast, 's')
    assert _find(_inner(s.train_dataloader), 'RandomRescale')['scale_range'] == (183, 229)
    assert _find(_inner(s.train_dataloader), 'RandomCrop')['size'] == 160
    assert _find(_inner(s.test_dataloader), 'CenterCrop')['crop_size'] == 183
    assert s.flops_input_shape == (1, 3, 32, 183, 183)
    l_ = apply_operator(slowfast, 'l')
    assert tuple(l_.model.backbone.slow_pathway.stage_blocks) == (1, 2, 3, 1)
    assert tuple(l_.model.backbone.fast_pathway.stage_blocks) == (1, 2, 3, 1)
    # Table 6.10: raw clip 64 -> 32 -> 16 -> 8 frames of the fast path's input; the slow path
    # (one in 8) needs at least one frame, so a fourth halving is refused.
    tt = apply_operators(slowfast, ['t', 't'])
    assert _find(_inner(tt.test_dataloader), 'SampleFrames')['clip_len'] == 8
    with pytest.raises(OperatorNotApplicable, match='below the 8 frame'):
        apply_operator(tt, 'f')


def test_composite_step_and_parse(r21d):
    both = apply_operator(r21d, 't+f')
    sf = _find(_inner(both.test_dataloader), 'SampleFrames')
    assert (sf['clip_len'], sf['frame_interval']) == (4, 2)
    assert both.pas_ops == ['t+f']
    assert parse_ops('c, f,t+f') == ['c', 'f', 't+f']
    with pytest.raises(ValueError, match="unknown PAS operator 'x'"):
        parse_ops('c,x')


def test_frames_too_short():
    cfg = Config(dict(
        model=dict(backbone=dict(type='ResNet3d')),
        test_dataloader=dict(dataset=dict(pipeline=[dict(type='SampleFrames', clip_len=1)]))))
    with pytest.raises(OperatorNotApplicable, match='1 // 2 = 0'):
        operator_delta(cfg, 't')


def test_written_config_inherits_parent(tmp_path, r21d):
    first = tmp_path / 'a' / 'pas1.py'
    second = tmp_path / 'b' / 'pas2.py'
    write_reduced_config(R21D, 'c', str(first))
    loaded = write_reduced_config(str(first), 'f', str(second))
    text = second.read_text()
    assert "_base_ = '../a/pas1.py'" in text and 'base_channels' not in text
    expected = apply_operators(r21d, ['c', 'f'])
    assert loaded.model == expected.model
    assert loaded.test_dataloader == expected.test_dataloader
    assert loaded.pas_ops == ['c', 'f']
    mask = os.umask(0)
    os.umask(mask)
    assert second.stat().st_mode & 0o777 == 0o666 & ~mask


def test_student_inputs(r21d):
    assert student_frame_index(16, ['c', 'f', 't']) == [0, 2, 4, 6]
    assert student_frame_index(16, ['t', 'f']) == [0, 2, 4, 6]
    assert student_frame_index(16, ['t+f']) == [0, 2, 4, 6]
    assert reduced_size((112, 112), ['s', 'c', 's']) == (57, 57)   # 112 -> 80 -> 57
    assert pipeline_crop_size(_inner(r21d.train_dataloader)) == (112, 112)
