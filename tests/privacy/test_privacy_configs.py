"""Privacy configs: Tran et al.'s networks (parameters / FLOPs of the thesis), the thesis's
hyper-parameters (Sec. 5.3.1) and a metafile entry for every config."""
import glob
import os.path as osp

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

import vidplugins  # noqa: F401
from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DIR = osp.join(REPO, 'configs', 'privacy')
CONFIGS = sorted(glob.glob(osp.join(DIR, '*.py')))
R2P1 = osp.join(DIR, 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py')
R3D = osp.join(DIR, 'r3d_r18_64xb24-16x1x1-45e_kinetics400-rgb.py')
SLOWFAST = osp.join(DIR, 'slowfast_r50_64xb32-4x16x1-45e_kinetics400-rgb.py')


def build(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmaction')
    return cfg, MODELS.build(cfg.model)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def gflops(model, shape):
    """Multiply-accumulates per view (the thesis's "FLOPs") of convolutions and linear layers,
    counted on the meta device (no compute). mmengine's get_model_complexity_info also counts
    BatchNorm: 40.83 for R(2+1)D-18 where this gives 40.52."""
    from torch.utils.flop_counter import FlopCounterMode
    model = model.to('meta')
    model.eval()   # mmaction2's ResNet3d.train() returns None, so no chaining
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(shape, device='meta'))
    return counter.get_total_flops() / 2 / 1e9


def test_r2plus1d_is_tran_et_al_r2plus1d_18():
    """Thesis Table 6.1 / environment facts: 31.5M parameters, 40.8 GFLOPs at 16 x 112 x 112; the
    same network, parameter for parameter, as torchvision's r2plus1d_18 (Tran et al.)."""
    from torchvision.models.video import r2plus1d_18
    cfg, model = build(R2P1)
    assert n_params(model) == n_params(r2plus1d_18(num_classes=400)) == 31_505_325
    ours = gflops(model.backbone, (1, 3, 16, 112, 112))
    assert ours == pytest.approx(40.8, abs=0.35)
    ref = r2plus1d_18(num_classes=400)
    assert ours == pytest.approx(gflops(ref, (1, 3, 16, 112, 112)), abs=0.01)   # + the fc only
    out = model.backbone.to('meta')(torch.empty(1, 3, 16, 112, 112, device='meta'))
    assert out.shape == (1, 512, 2, 7, 7)   # no stem max-pool: 112 / 16


def test_mmaction_r2plus1d_differs_by_the_stem_pool():
    """Why the subclass exists: mmaction2's ResNet2Plus1d pools in the stem (about 11.9 GFLOPs)."""
    cfg = Config.fromfile(R2P1)
    backbone = dict(cfg.model.backbone, type='ResNet2Plus1d')
    for key in ('stem_mid_channels', 'with_pool1'):
        backbone.pop(key)
    init_default_scope('mmaction')
    assert gflops(MODELS.build(backbone), (1, 3, 16, 112, 112)) < 13


def test_r3d_is_tran_et_al_r3d_18():
    from torchvision.models.video import r3d_18
    _, model = build(R3D)
    assert n_params(model) == n_params(r3d_18(num_classes=400)) == 33_371_472
    assert gflops(model.backbone, (1, 3, 16, 112, 112)) == pytest.approx(
        gflops(r3d_18(num_classes=400), (1, 3, 16, 112, 112)), abs=0.01)


def test_slowfast_4x16_flops():
    """Environment facts: 36.3 GFLOPs at 32 x 256 x 256 (thesis: 36.6)."""
    cfg, model = build(SLOWFAST)
    assert gflops(model.backbone, (1, 3, 32, 256, 256)) == pytest.approx(36.3, abs=0.6)
    train = cfg.train_dataloader.dataset.dataset.pipeline
    sample = next(t for t in train if t.type == 'SampleFrames')
    assert (sample.clip_len, sample.frame_interval) == (32, 2)   # 64 raw frames
    assert cfg.model.backbone.resample_rate == 8 and cfg.model.backbone.speed_ratio == 8
    assert cfg.train_dataloader.batch_size * 64 == 2048
    assert cfg.optim_wrapper.optimizer.lr == 1.6


@pytest.mark.parametrize('path', [R2P1, R3D])
def test_tran_recipe(path):
    """Sec. 5.3.1: 16 frames, 128 x 171 resize, 112 crop, 3 clips per video per epoch, batch 1536,
    lr 0.96 with 10 warm-up epochs then /10 every 10 epochs, 45 epochs, 10-clip test."""
    cfg = Config.fromfile(path)
    train = cfg.train_dataloader
    assert train.dataset.type == 'RepeatDataset' and train.dataset.times == 3
    assert train.batch_size * 64 == 1536
    steps = {t.type: t for t in train.dataset.dataset.pipeline}
    assert steps['SampleFrames'].clip_len == 16
    assert steps['Resize'].scale == (171, 128) and steps['RandomCrop'].size == 112
    test = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
    assert test['SampleFrames'].num_clips == 10 and test['CenterCrop'].crop_size == 112
    assert cfg.model.cls_head.average_clips == 'prob'
    assert cfg.optim_wrapper.optimizer.lr == 0.96 and cfg.train_cfg.max_epochs == 45
    warmup, step = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 10)
    # mmengine counts MultiStepLR milestones from the scheduler's begin: the lr drops at epochs
    # 20, 30 and 40 (Sec. 5.3.1); tests/test_schedules.py steps the real schedulers.
    assert [step.begin + m for m in step.milestones] == [20, 30, 40] and step.gamma == 0.1


KD_CONFIGS = [p for p in CONFIGS if osp.basename(p).startswith('privileged-kd')]


@pytest.mark.parametrize('path', KD_CONFIGS, ids=osp.basename)
def test_kd_configs_follow_the_thesis(path):
    """lambda = 12,500, T = 5, beta = 10 (Sec. 5.3.1); paired originals / anonymised clips of the
    level the name says; the student tested on that level."""
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    losses = cfg.model.distill_losses
    assert cfg.model.type == 'PrivilegedDistiller'
    assert losses.loss_kd.loss_weight == 12500 and losses.loss_kd.temperature == 5
    assert ('loss_rkd' in losses) == name.startswith('privileged-kd-rkd')
    if 'loss_rkd' in losses:
        assert losses.loss_rkd.loss_weight == 10
    assert cfg.model.student.backbone == cfg.model.teacher.backbone   # same architecture
    train = cfg.train_dataloader.dataset
    train = train.get('dataset', train)
    assert train.type == 'PairedVideoDataset'
    assert train.pipeline[-1].type == 'PackPairedInputs'
    level = 'faces' if '-faces-' in name else 'body' if '-body-' in name else None
    orig, obf = train.data_prefix.video, train.obfuscated_prefix
    test_dir = cfg.test_dataloader.dataset.data_prefix.video
    if level is None:   # self-distillation (Table 5.2 rows 2-3)
        assert 'faces' not in obf and 'body' not in obf and 'faces' not in test_dir
    else:
        assert 'faces' not in orig and 'body' not in orig
        assert obf.endswith(level) and test_dir.endswith(level)


def test_metafile_lists_every_config_with_the_thesis_numbers():
    with open(osp.join(DIR, 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    listed = {m['Config'] for m in models}
    real = {osp.relpath(p, REPO) for p in CONFIGS if 'cpu-demo' not in p}
    assert real <= listed
    for m in models:
        assert osp.isfile(osp.join(REPO, m['Config'])), m['Config']
        assert osp.basename(m['Config']) == m['Name'] + '.py'
    top1 = {m['Name']: m['Results'][0]['Metrics']['Top 1 Accuracy'] for m in models
            if m.get('Results')}
    r = 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400'
    assert top1[r + '-rgb'] == 69.2 and top1[r + '-rgb_test-faces'] == 67.2
    assert top1[r + '-rgb_test-body'] == 56.5
    assert top1['privileged-kd-rkd_' + r + '-body-rgb'] == 68.5
