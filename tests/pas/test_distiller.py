"""PASDistiller (thesis Eq. 6.7, Sec. 6.1.3-6.1.4) on a tiny R(2+1)D."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

import vidplugins.pas  # noqa: F401
from vidplugins.pas.distiller import reduce_clip, slice_state_dict

TINY = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet2Plus1dTran', depth=18, pretrained=None, pretrained2d=False,
                  base_channels=8, stem_mid_channels=8, conv1_kernel=(3, 7, 7),
                  conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1),
                  spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
                  norm_cfg=dict(type='BN3d', requires_grad=True), norm_eval=False),
    cls_head=dict(type='I3DHead', num_classes=4, in_channels=64, spatial_type='avg',
                  dropout_ratio=0.0, init_std=0.01, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1],
                           format_shape='NCTHW'))


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(TINY)
    model.init_weights()
    path = tmp_path_factory.mktemp('pas_kd') / 'teacher.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path), model


def _samples(labels):
    out = []
    for y in labels:
        ds = ActionDataSample()
        ds.set_gt_label(torch.tensor([y]))
        out.append(ds)
    return out


def test_reduce_clip():
    x = torch.arange(2 * 1 * 3 * 8 * 4 * 4, dtype=torch.float32).view(2, 1, 3, 8, 4, 4)
    y = reduce_clip(x, frames=[0, 2, 4, 6])
    assert y.shape == (2, 1, 3, 4, 4, 4) and torch.equal(y[:, :, :, 1], x[:, :, :, 2])
    z = reduce_clip(torch.ones(1, 1, 3, 2, 8, 8), size=(4, 4))
    assert z.shape == (1, 1, 3, 2, 4, 4) and torch.allclose(z, torch.ones_like(z))


def test_loss_is_ce_plus_alpha_t2_kl_and_teacher_frozen(teacher_ckpt):
    path, teacher = teacher_ckpt
    student = copy.deepcopy(TINY)
    student['backbone']['base_channels'] = 6
    student['backbone']['stem_mid_channels'] = 6
    student['cls_head']['in_channels'] = 48
    model = MODELS.build(dict(type='PASDistiller', student=student, teacher=TINY,
                              teacher_ckpt=path, student_frames=[0, 2, 4, 6],
                              student_size=(12, 12)))
    model.init_weights()
    model.train()
    assert model.teacher.training and model.student.training   # Table 6.8: B in train mode
    bn = model.teacher.backbone.conv1.bn
    before = (bn.running_mean.clone(), [p.clone() for p in model.teacher.parameters()])
    torch.manual_seed(1)
    x = torch.randn(3, 1, 3, 8, 16, 16)
    samples = _samples([0, 1, 3])
    losses = model.loss(x, samples)
    # by hand: CE on the student's logits of the reduced clip + 12,500 x mean KL at t = 5
    with torch.no_grad():
        t_logits = model.teacher.cls_head(model.teacher.extract_feat(x)[0])
        s_logits = model.student.cls_head(model.student.extract_feat(
            reduce_clip(x, [0, 2, 4, 6], (12, 12)))[0])
    y = torch.tensor([0, 1, 3])
    ce = F.cross_entropy(s_logits, y)
    p_t = F.softmax(t_logits / 5, -1)
    kl = (p_t * (p_t.log() - F.log_softmax(s_logits / 5, -1))).mean()
    assert losses['loss_cls'].item() == pytest.approx(ce.item(), rel=1e-4)
    assert losses['loss_kd'].item() == pytest.approx(500 * 25 * kl.item(), rel=2e-3)  # float32
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert torch.equal(bn.running_mean, before[0])   # momentum 0: B's statistics stay
    assert all(torch.equal(a, b) for a, b in zip(model.teacher.parameters(), before[1]))
    # eval option (Table 6.8 "B eval")
    model_eval = MODELS.build(dict(type='PASDistiller', student=student, teacher=TINY,
                                   teacher_ckpt=path, teacher_train_mode=False))
    model_eval.train()
    assert not model_eval.teacher.training and model_eval.student.training


def test_adaptive_init_load_and_slice(teacher_ckpt, tmp_path):
    path, teacher = teacher_ckpt
    same = MODELS.build(dict(type='PASDistiller', student=TINY, teacher=TINY, teacher_ckpt=path,
                             init_from=dict(checkpoint=path, mode='load')))
    same.init_weights()
    for k, v in teacher.state_dict().items():
        assert torch.equal(same.student.state_dict()[k], v), k
    small = copy.deepcopy(TINY)
    small['backbone'].update(base_channels=6, stem_mid_channels=6, stage_blocks=(1, 1, 1, 1))
    small['cls_head']['in_channels'] = 48
    sliced = MODELS.build(dict(type='PASDistiller', student=small, teacher=TINY,
                               teacher_ckpt=path, init_from=dict(checkpoint=path, mode='slice')))
    sliced.init_weights()
    w_big = teacher.state_dict()['backbone.layer1.0.conv1.conv.conv_s.weight']
    w = sliced.student.state_dict()['backbone.layer1.0.conv1.conv.conv_s.weight']
    assert torch.equal(w, w_big[:w.shape[0], :w.shape[1]])
    assert 'backbone.layer1.1.conv1.conv.conv_s.weight' not in sliced.student.state_dict()
    _, skipped = slice_state_dict({'a': torch.zeros(2, 2)}, {'a': torch.zeros(3, 2),
                                                            'b': torch.zeros(1)})
    assert skipped == ['a', 'b']
    with pytest.raises(ValueError, match='does not match'):
        MODELS.build(dict(type='PASDistiller', student=small, teacher=TINY, teacher_ckpt=path,
                          init_from=dict(checkpoint=path, mode='load'))).init_weights()


def test_predict_runs_the_student_alone(teacher_ckpt):
    path, _ = teacher_ckpt
    model = MODELS.build(dict(type='PASDistiller', student=TINY, teacher=TINY,
                              teacher_ckpt=path))
    model.eval()
    calls = []
    model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    out = model(torch.randn(2, 1, 3, 4, 16, 16), _samples([0, 1]), mode='predict')
    assert len(out) == 2 and not calls
