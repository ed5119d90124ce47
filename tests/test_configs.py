"""Every config builds its model, and the main RMS-Net config holds the thesis's settings.

Models are built, never initialised: ``init_weights`` would download the ImageNet checkpoints of
the end-to-end configs (``init_cfg=dict(type='Pretrained', ...)``).
"""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

import vidplugins  # noqa: F401  (registers RMS-Net; the configs also import it themselves)
from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: configs/pas/{ablation,teacher_bn,without_pas,transfer} (56 generated configs) are built by
#: tests/pas/test_experiment_configs.py: a representative subset fully, the rest's merged dicts.
PAS_GENERATED = ('ablation', 'teacher_bn', 'without_pas', 'transfer')
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep) and not any(
                     osp.join('configs', 'pas', f, '') in p for f in PAS_GENERATED))
MAIN = osp.join(REPO, 'configs', 'rmsnet', 'rmsnet_resnet152-pca512_soccernet-v1.py')

#: ImageNet ResNets (torchvision / mmpretrain), parameters with the 1000-way classifier.
RESNET_PARAMS = {18: 11_689_512, 50: 25_557_032, 152: 60_192_808}
RESNET_OUT = {18: 512, 50: 2048, 152: 2048}


def head_params(d, c, hidden=256, conv=128, fc=64, k=9):
    """Table 4.1, layer by layer (weights + biases): FC_1, two convolutions, FC_2, FC_cls,
    FC_regr."""
    return (d * hidden + hidden) + (k * hidden * hidden + hidden) + (k * hidden * conv + conv) \
        + (conv * fc + fc) + (fc * (c + 1) + c + 1) + (fc + 1)


def build(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    return cfg, MODELS.build(cfg.model)


def test_the_glob_finds_the_configs():
    # Guards the parametrisation below: an empty glob would silently test nothing.
    assert MAIN in CONFIGS and len(CONFIGS) >= 29
    assert len([p for p in CONFIGS if osp.join('configs', 'rmsnet') in p]) >= 29


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_its_model(path):
    cfg, model = build(path)
    assert type(model).__name__ == cfg.model.type


RMSNET_CONFIGS = [p for p in CONFIGS if osp.join('configs', 'rmsnet') in p]


@pytest.mark.parametrize('path', RMSNET_CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_rmsnet_config_parameters_follow_table_4_1(path):
    cfg, model = build(path)
    n = sum(p.numel() for p in model.parameters())
    head = cfg.model.head
    expected = head_params(head.in_channels, head.num_classes)
    backbone = cfg.model.get('backbone')
    if backbone is not None:
        # ImageNet ResNet without its classifier (the head averages the last stage).
        depth = backbone.depth
        assert head.in_channels == RESNET_OUT[depth]
        expected += RESNET_PARAMS[depth] - (RESNET_OUT[depth] * 1000 + 1000)
        assert backbone.init_cfg.type == 'Pretrained'   # built without loading it
    assert n == expected
    # Every dataset split of a config uses the model's window length (train + valid -> test
    # configs have no validation split).
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg[split] is not None:
            assert cfg[split].dataset.window_size == cfg.model.window_size


def test_main_config_has_the_thesis_hyper_parameters():
    """Thesis Sec. 4.2.2 / Table 4.2: T = 41, lambda = 10, M(p=1/3, q=0.5) before the event,
    SGD lr 0.05 momentum 0.9 wd 1e-4, batch 64, 50 epochs with early stopping, n_F = 30,000."""
    cfg = Config.fromfile(MAIN)
    assert cfg.model.window_size == 41
    assert cfg.model.regression_weight == 10
    assert cfg.model.get('use_regression', True) is True
    assert cfg.model.head.in_channels == 512 and cfg.model.head.num_classes == 3

    train = cfg.train_dataloader
    mask = train.dataset.pipeline[0]
    assert mask.type == 'MaskEventContext'
    assert mask.p == pytest.approx(1 / 3) and mask.q == 0.5 and mask.side == 'before'
    assert train.dataset.window_size == 41
    assert train.batch_size == 64
    assert train.sampler.type == 'SpottingBalancedSampler'
    assert train.sampler.mode == 'foreground' and train.sampler.num_foreground == 30000
    # n_B = n_F / C = 10,000 background windows (the sampler's default ratio 1 / C).
    assert train.sampler.get('background_ratio') is None

    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.05, 0.9, 1e-4)
    assert cfg.train_cfg.max_epochs == 50
    assert max(s.end for s in cfg.param_scheduler) == 50
    stops = [h for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook']
    assert len(stops) == 1
    assert stops[0].monitor == 'spotting/a_mAP_loose' and stops[0].rule == 'greater'
    # The model selected and stopped on is the one scored: loose Average-mAP (Sec. 4.2.1).
    assert cfg.val_evaluator.main_metric == 'loose'


ABLATIONS = [p for p in CONFIGS
             if re.search(r'_(lambda[\d.]+|mask-(after-)?[pq][\d.]+)\.py$', p)]


@pytest.mark.parametrize('path', ABLATIONS, ids=osp.basename)
def test_ablation_configs_set_what_their_names_say(path):
    """``_lambdaX`` changes only the regression weight; ``_mask[-after]-pX`` / ``_mask-qX`` only
    the masking (the other masking parameter stays at the main model's p = 1/3, q = 0.5)."""
    name = osp.basename(path)[:-3]
    cfg, main = Config.fromfile(path), Config.fromfile(MAIN)
    m = re.search(r'_lambda([\d.]+)$', name)
    if m:
        assert cfg.model.regression_weight == float(m.group(1))
        assert cfg.train_dataloader.dataset.pipeline == main.train_dataloader.dataset.pipeline
        return
    m = re.search(r'_mask-(after-)?([pq])([\d.]+)$', name)
    mask = cfg.train_dataloader.dataset.pipeline[0]
    assert mask.type == 'MaskEventContext'
    assert mask.side == ('after' if m.group(1) else 'before')
    value = float(m.group(3))
    p, q = (value, 0.5) if m.group(2) == 'p' else (1 / 3, value)
    # Names round 1/3 to 0.33.
    assert mask.p == pytest.approx(p, abs=0.005) and mask.q == pytest.approx(q, abs=0.005)
    assert cfg.model == main.model


def test_ablation_glob_matches_the_lambda_and_masking_configs():
    assert len(ABLATIONS) == 6 + 5 + 4 + 4   # Fig. 4.6, Table 4.5, Table 4.4 (p), (q)


def test_model_index_imports_the_metafile_and_its_configs_exist():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert 'configs/rmsnet/metafile.yml' in index['Import']
    for metafile in index['Import']:
        assert osp.isfile(osp.join(REPO, metafile)), metafile
        with open(osp.join(REPO, metafile)) as f:
            models = yaml.safe_load(f)['Models']
        assert models, metafile
        for model in models:
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
            # Model names are their config names (the model-zoo convention).
            assert osp.basename(model['Config']) == model['Name'] + '.py'
    with open(osp.join(REPO, 'configs', 'rmsnet', 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    main = next(m for m in meta['Models'] if m['Config'].endswith(osp.basename(MAIN)))
    _, model = build(MAIN)
    assert main['Metadata']['Parameters'] == sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ tools/analysis/get_flops.py
def get_flops(capsys, *argv):
    """Run the tool in-process: its result and its printed lines (with mmengine's log lines,
    which share stdout)."""
    import runpy
    tool = runpy.run_path(osp.join(REPO, 'tools', 'analysis', 'get_flops.py'))
    result = tool['main'](list(argv))
    return result, capsys.readouterr().out.splitlines(), tool


def test_get_flops_rmsnet_features_window(capsys):
    result, lines, _ = get_flops(capsys, MAIN)
    assert 'Input shape: (41, 512) (config)' in lines
    cfg, model = build(MAIN)
    assert f'Params: {sum(p.numel() for p in model.parameters())}' in lines
    assert result['flops'] > 0 and f'FLOPs: {result["flops"] / 1e9:.6g}G' in lines


R2PLUS1D = osp.join(REPO, 'configs', 'privacy', 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py')
R2PLUS1D_KD = osp.join(REPO, 'configs', 'privacy',
                       'privileged-kd-rkd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-faces-rgb.py')


def test_get_flops_recognizer_and_kd_student_from_the_test_pipeline(capsys):
    """R(2+1)D-18 of Tran et al. on one 16 x 112 x 112 view: 40.8 GFLOPs, ~31.5M parameters
    (docs/environment.md); the KD config runs the same student at test time and reports it
    alone (before: teacher + student, 63,010,650 parameters)."""
    plain, lines, _ = get_flops(capsys, R2PLUS1D)
    assert 'Input shape: (3, 16, 112, 112) (SampleFrames clip_len 16, CenterCrop)' in lines
    assert plain['flops'] / 1e9 == pytest.approx(40.8, rel=0.01)
    assert 31.3e6 < plain['params'] < 31.6e6
    kd, lines, _ = get_flops(capsys, R2PLUS1D_KD)
    assert f'Params (student): {plain["params"]}' in lines
    assert kd == plain


def test_get_flops_shape_without_batch(capsys):
    """``--shape C T H W`` is one clip without the batch dimension (it crashed in BatchNorm):
    FLOPs scale with T x H x W for a fully convolutional backbone."""
    small, lines, _ = get_flops(capsys, R2PLUS1D, '--shape', '3', '8', '56', '56')
    assert 'Input shape: (3, 8, 56, 56) (--shape)' in lines
    big, _, _ = get_flops(capsys, R2PLUS1D, '--shape', '3', '16', '112', '112')
    assert big['flops'] / 1e9 == pytest.approx(40.8, rel=0.01)
    assert small['flops'] < big['flops'] / 4


@pytest.mark.parametrize('name,shape', [
    ('privacy/slowfast_r50_64xb32-4x16x1-45e_kinetics400-rgb.py', (3, 32, 256, 256)),
    ('privacy/privileged-kd-rkd_slowfast_r50_64xb32-4x16x1-45e_kinetics400-faces-rgb.py',
     (3, 32, 256, 256)),
    ('privacy/r3d_r18_64xb24-16x1x1-45e_kinetics400-rgb.py', (3, 16, 112, 112)),
    ('stage/stage-e2e_slowfast-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py', (3, 32, 256, 256)),
    ('stage/stage-e2e_slowonly-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py', (3, 4, 256, 256)),
])
def test_get_flops_derives_the_input_of_every_video_config(name, shape, capsys):
    """The configs that stopped with "no input shape": the input comes from the test pipeline
    (the fast pathway's 32 frames for SlowFast); counted here on a smaller clip."""
    _, _, tool = get_flops(capsys, MAIN)
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    assert tool['clip_shape'](cfg, name)[0] == shape


def test_get_flops_stage_end_to_end_counts_backbone_rois_and_stage(capsys):
    """STAGE end to end (TypeError on proposals before): backbone + RoI pooling of 4 actors and
    25 objects + STAGE + bbox head, on a clip of the test pipeline's frames."""
    e2e = osp.join(REPO, 'configs', 'stage',
                   'stage-e2e_slowonly-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py')
    with_objects, lines, _ = get_flops(capsys, e2e, '--shape', '3', '4', '64', '64')
    assert ('Input: clip (3, 4, 64, 64) (--shape), 4 actor proposals, 25 object boxes'
            in lines)
    no_objects, _, _ = get_flops(capsys, e2e, '--shape', '3', '4', '64', '64',
                                 '--cfg-options', 'flops_inputs.num_objects=0')
    cfg, model = build(e2e)
    assert with_objects['params'] == sum(p.numel() for p in model.parameters())
    # 25 object nodes add attention and projection work on top of the same backbone
    assert with_objects['flops'] > no_objects['flops'] > 0
