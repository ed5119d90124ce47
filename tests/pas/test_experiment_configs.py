"""Configs of the thesis's PAS experiments (Tables 6.2, 6.4, 6.6, 6.8): the shipped files are
exactly what ``tools/pas_experiment_configs.py`` writes from the base and Table 6.1 configs (so
they cannot drift from the operators and the training recipe), and each sets what its table row
says. They are written as ``_base_`` plus the keys that differ (a shared teacher / dataset file
in ``_base_/``, a variant inheriting its sibling). A representative subset is built fully (every
kind of file: distiller, variant, CE recognizer, transfer of both backbones); every other one is
loaded and its merged model checked against what those builds cover (tests/test_configs.py
leaves these folders to this file)."""
import glob
import os
import os.path as osp
import runpy
import shutil

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..conftest import REPO

PAS = osp.join(REPO, 'configs', 'pas')
FOLDERS = ('without_pas', 'ablation', 'teacher_bn', 'transfer', '_base_')
R21D_LR = 0.96   # Sec. 6.2.2 (configs/_base_/schedules/sgd_warmup10-step10_45e_privacy.py)


def _shipped():
    return sorted(osp.relpath(p, PAS) for f in FOLDERS
                  for p in glob.glob(osp.join(PAS, f, '*.py')))


def _cfg(rel):
    return Config.fromfile(osp.join(PAS, rel))


def test_shipped_configs_are_what_the_generator_writes(tmp_path):
    # the generator, run on a copy of configs/pas's top-level configs, writes the same files
    root = tmp_path / 'configs'
    (root / 'pas').mkdir(parents=True)
    os.symlink(osp.join(REPO, 'configs', '_base_'), root / '_base_')
    for path in glob.glob(osp.join(PAS, '*.py')):
        shutil.copy(path, root / 'pas')
    tool = runpy.run_path(osp.join(REPO, 'tools', 'pas_experiment_configs.py'))
    written = sorted(osp.relpath(p, root / 'pas') for p in tool['write_all'](str(root / 'pas')))
    assert written == _shipped()
    assert len(written) == 10 + 11 + 14 + 3 * 21 + 3   # + the teacher and two dataset bases
    for rel in written:
        with open(root / 'pas' / rel) as a, open(osp.join(PAS, rel)) as b:
            assert a.read() == b.read(), rel


@pytest.mark.parametrize('stem,ops', [('pas_r2plus1d-18', 'cfttt'),
                                      ('pas_slowfast-4x16-r50', 'cstsf')])
def test_table_6_2_without_pas(stem, ops):
    """Same network as PAS-k, B's recipe: CE only (a recognizer, no teacher), random init."""
    for k in range(1, 6):
        cfg = _cfg(f'without_pas/{stem}-pas{k}_k400_ce-scratch.py')
        arch = _cfg(f'{stem}-pas{k}_k400.py')
        assert cfg.model == arch.model and cfg.model.type == 'Recognizer3D'
        assert cfg.get('load_from') is None and 'init_from' not in cfg.model
        assert cfg.optim_wrapper == arch.optim_wrapper
        assert cfg.pas_training.kd is False and ''.join(cfg.pas_training.ops) == ops[:k]


@pytest.mark.parametrize('op', ['s', 't', 'f'])
def test_table_6_4_ablation(op):
    """Iteration 3 of R(2+1)D-18: KD + fine-tune (PAS), fine-tune without KD, KD from scratch."""
    stem = f'ablation/pas_r2plus1d-18-pas3-{op}_k400'
    full, ce_ft, kd_scratch = (_cfg(f'{stem}_{s}.py') for s in ('kd-ft', 'ce-ft', 'kd-scratch'))
    pas2 = 'checkpoints/pas_r2plus1d-18-pas2_k400.pth'
    assert full.model.type == kd_scratch.model.type == 'PASDistiller'
    assert full.model.init_from == dict(checkpoint=pas2, prefix='', mode='load')
    assert full.optim_wrapper.optimizer.lr == pytest.approx(R21D_LR / 10)
    assert ce_ft.model.type == 'Recognizer3D' and ce_ft.load_from == pas2
    assert ce_ft.optim_wrapper.optimizer.lr == pytest.approx(R21D_LR / 10)
    assert kd_scratch.model.get('init_from') is None   # random init (PASDistiller's default)
    assert kd_scratch.optim_wrapper.optimizer.lr == pytest.approx(R21D_LR)
    # the student is eps_op(PAS-2): the same network for the three rows
    assert full.model.student == kd_scratch.model.student == ce_ft.model
    assert full.model.teacher == _cfg('pas_r2plus1d-18_k400_base.py').model
    frames = full.model.student_frames
    if op == 's':   # B's 16 x 112 clip -> every other frame (f of PAS-2), 80 x 80
        assert frames == list(range(0, 16, 2)) and list(full.model.student_size) == [80, 80]
    else:           # t: the first half of those frames; f: every second one again
        assert frames == (list(range(0, 8, 2)) if op == 't' else list(range(0, 16, 4)))
        assert full.model.student_size is None


@pytest.mark.parametrize('op', ['s', 't', 'f', 'c', 'l'])
def test_table_6_8_teacher_bn(op):
    train, ev = (_cfg(f'teacher_bn/pas_r2plus1d-18-iter1-{op}_k400_bn-{m}.py')
                 for m in ('train', 'eval'))
    assert train.model.teacher_train_mode is True and ev.model.teacher_train_mode is False
    assert train.model.student == ev.model.student
    assert train.model.teacher_ckpt == 'checkpoints/pas_r2plus1d-18_k400_base.pth'
    # input operators fine-tune from B (lr / 10), c / l start from random weights
    assert ('init_from' in ev.model) == (op in 'stf')


def test_table_6_6_transfer():
    files = sorted(glob.glob(osp.join(PAS, 'transfer', '*.py')))
    # HMDB51 only from SlowFast PAS-3 (64 raw frames before); splits 1, 2 and 3
    assert len(files) == 3 * (12 + 6 + 3)
    for path in files:
        name = osp.basename(path)
        split = int(name[-4])
        cfg = Config.fromfile(path)
        dataset = 'ucf101' if 'ucf101' in name else 'hmdb51'
        assert cfg.model.cls_head.num_classes == (101 if dataset == 'ucf101' else 51)
        train = cfg.train_dataloader.dataset
        while 'pipeline' not in train:
            train = train.dataset
        assert train.ann_file == f'{dataset}_train_split_{split}_videos.txt'
        assert train.data_root == f'data/{dataset}'
        assert cfg.val_dataloader.dataset.ann_file == f'{dataset}_val_split_{split}_videos.txt'
        assert cfg.test_dataloader.dataset.ann_file == f'{dataset}_val_split_{split}_videos.txt'
        arch = _cfg(cfg.load_from[len('checkpoints/'):-len('.pth')] + '.py')
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(
            arch.optim_wrapper.optimizer.lr / 10)
        assert cfg.model.backbone == arch.model.backbone


#: built fully: a KD variant (ablation kd-scratch -> kd-ft -> teacher base), a CE fine-tune, the
#: B-eval variant of a c hypothesis, w/o PAS and transfer configs of both backbones, an eps_l
#: network (stage_blocks).
BUILT = ['ablation/pas_r2plus1d-18-pas3-s_k400_kd-scratch.py',
         'ablation/pas_r2plus1d-18-pas3-f_k400_ce-ft.py',
         'teacher_bn/pas_r2plus1d-18-iter1-c_k400_bn-eval.py',
         'without_pas/pas_slowfast-4x16-r50-pas5_k400_ce-scratch.py',
         'transfer/pas_slowfast-4x16-r50_k400-pre_ucf101-split1.py',
         'transfer/pas_r2plus1d-18-pas4_k400-pre_ucf101-split1.py',
         'teacher_bn/pas_r2plus1d-18-iter1-l_k400.py']


def _networks(model):
    """The recognizer configs a model config builds (a distiller's student and teacher)."""
    return [model.student, model.teacher] if model.type == 'PASDistiller' else [model]


@pytest.mark.parametrize('rel', BUILT)
def test_representative_configs_build(rel):
    from mmaction.registry import MODELS
    cfg = _cfg(rel)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == cfg.model.type


def test_every_generated_config_merges_to_a_buildable_model():
    """Every other config: its merged model is a registered type whose networks are backbones
    and heads of the kinds the built subset covers, with the same keys as a built config's."""
    from mmaction.registry import MODELS
    built = [_cfg(rel) for rel in BUILT]
    kinds = {}
    for c in built:
        for n in _networks(c.model):
            kinds.setdefault((n.backbone.type, n.cls_head.type), []).append(set(n.backbone))
    rest = [rel for rel in _shipped() if rel not in BUILT and not rel.startswith('_base_')]
    assert len(rest) == 56 + 2 * 21 - len(BUILT)   # + transfer splits 2 and 3
    for rel in rest:
        cfg = _cfg(rel)
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        assert MODELS.get(cfg.model.type) is not None, rel
        for net in _networks(cfg.model):
            key = (net.backbone.type, net.cls_head.type)
            assert key in kinds, (rel, key)
            assert set(net.backbone) in kinds[key], rel
            assert MODELS.get(net.backbone.type) and MODELS.get(net.cls_head.type), rel
