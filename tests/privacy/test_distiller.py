"""PrivilegedDistiller (thesis Sec. 5.2.2-5.2.3): the frozen teacher reads x*, the student x;
only the student runs at test time; the teacher comes from a weights-only checkpoint."""
import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import LabelData  # noqa: F401  (ActionDataSample fields)

import vidplugins.privacy  # noqa: F401  (registers PrivilegedDistiller and the KD losses)
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from vidplugins.distillation.losses import kl_divergence, relational_distance_loss

RECOGNIZER = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet2Plus1dTran', depth=18, pretrained=None, pretrained2d=False,
                  base_channels=4, stage_blocks=(1, 1, 1, 1), stem_mid_channels=4,
                  inflate=(1, 1, 1, 1), conv1_kernel=(3, 7, 7), conv1_stride_t=1,
                  pool1_stride_t=1, spatial_strides=(1, 2, 2, 2),
                  temporal_strides=(1, 2, 2, 2), norm_eval=False),
    cls_head=dict(type='I3DHead', num_classes=3, in_channels=32, dropout_ratio=0.0,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1],
                           format_shape='NCTHW'))


def distiller(teacher_ckpt=None, **kwargs):
    init_default_scope('mmaction')
    return MODELS.build(dict(
        type='PrivilegedDistiller', student=copy.deepcopy(RECOGNIZER),
        teacher=copy.deepcopy(RECOGNIZER), teacher_ckpt=teacher_ckpt,
        distill_losses=dict(loss_kd=dict(type='KLDivergenceKDLoss', loss_weight=12500.0,
                                         temperature=5.0),
                            loss_rkd=dict(type='RelationalKDLoss', loss_weight=10.0)),
        **kwargs))


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    """A teacher checkpoint as tools/train.py writes it (state_dict + meta)."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    teacher = MODELS.build(copy.deepcopy(RECOGNIZER))
    teacher.init_weights()
    for p in teacher.parameters():   # distinct from any freshly initialised model
        p.data.add_(0.01 * torch.randn_like(p))
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(epoch=3)), path)
    return path, teacher.state_dict()


def samples(labels, paired_views=1):
    out = []
    for y in labels:
        ds = ActionDataSample().set_gt_label(torch.tensor(y))
        if paired_views is not None:
            ds.set_metainfo(dict(paired_views=paired_views))
        out.append(ds)
    return out


def test_teacher_loaded_frozen_and_kept_in_eval_mode(teacher_ckpt):
    path, state = teacher_ckpt
    model = distiller(path)
    model.init_weights()
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert all(p.requires_grad for p in model.student.parameters())
    model.train()
    assert model.training and model.student.training and not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())


def test_loss_teacher_reads_the_original_student_the_obfuscated(teacher_ckpt):
    model = distiller(teacher_ckpt[0])
    model.init_weights()
    model.train()
    torch.manual_seed(1)
    x = torch.randn(4, 1, 3, 8, 16, 16)        # obfuscated views (student)
    x_star = torch.randn(4, 1, 3, 8, 16, 16)   # original views (teacher)
    data = model.data_preprocessor(dict(inputs=list(torch.cat([x, x_star], 1)),
                                        data_samples=samples([0, 1, 2, 1])), True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'loss_cls', 'loss_kd', 'loss_rkd'}
    # Recompute the losses from the two networks on their own inputs (eval mode has no effect
    # on the student's logits here only through BN, so compare with BN in the same mode).
    with torch.no_grad():
        ft, _ = model.teacher.extract_feat(x_star)
        t_logits = model.teacher.cls_head(ft)
        fs, _ = model.student.extract_feat(x)
        s_logits = model.student.cls_head(fs)
        ft_wrong, _ = model.teacher.extract_feat(x)
        t_wrong = model.teacher.cls_head(ft_wrong)
    assert losses['loss_kd'].item() == pytest.approx(
        12500 * kl_divergence(s_logits, t_logits, 5.0).item(), rel=1e-4)
    assert losses['loss_kd'].item() != pytest.approx(
        12500 * kl_divergence(s_logits, t_wrong, 5.0).item(), rel=1e-3)
    assert losses['loss_rkd'].item() == pytest.approx(
        10 * relational_distance_loss(s_logits, t_logits).item(), rel=1e-4)
    # Gradients reach the student only.
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.cls_head.fc_cls.weight.grad.abs().sum() > 0


def test_unpaired_batches_are_refused():
    model = distiller()
    x = torch.randn(2, 1, 3, 8, 16, 16)
    with pytest.raises(ValueError, match='paired'):
        model(x, samples([0, 1], paired_views=None), mode='loss')
    with pytest.raises(ValueError, match='2 x 1 paired views'):
        model(x, samples([0, 1]), mode='loss')


def test_predict_runs_the_student_only():
    model = distiller()
    model.eval()

    def boom(*args, **kwargs):
        raise AssertionError('the teacher ran at test time')

    model.teacher.forward = boom
    model.teacher.extract_feat = boom
    preds = model(torch.randn(2, 3, 3, 8, 16, 16), samples([0, 2], paired_views=None),
                  mode='predict')   # 3 test views per video, averaged
    assert len(preds) == 2 and preds[0].pred_score.shape == (3,)
    assert torch.allclose(preds[0].pred_score.sum(), torch.tensor(1.0))


def test_teacher_checkpoint_errors_name_the_file(tmp_path):
    model = distiller()
    with pytest.raises(ValueError, match='teacher_ckpt is required'):
        model.init_weights()
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        distiller(str(tmp_path / 'nope.pth')).load_teacher()
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'backbone.x': torch.zeros(1)}), bad)
    with pytest.raises(KeyError, match='bad.pth'):
        distiller(bad).load_teacher()


def test_weights_only_loading_refuses_arbitrary_pickles(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=dict(hook=copy.deepcopy)), path)   # a global function
    with pytest.raises(Exception, match='[Ww]eights only load failed|weights_only'):
        distiller(path).load_teacher()


def test_distilled_student_can_be_a_teacher(teacher_ckpt, tmp_path):
    """teacher_ckpt_prefix='student.' loads a distiller checkpoint's student."""
    model = distiller(teacher_ckpt[0])
    model.init_weights()
    path = str(tmp_path / 'distilled.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    again = distiller(path, teacher_ckpt_prefix='student.')
    again.load_teacher()
    for k, v in again.teacher.state_dict().items():
        assert torch.equal(v, model.student.state_dict()[k])
