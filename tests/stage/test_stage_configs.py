"""STAGE configs: thesis settings of the main models, ablations that change only what their name
says, and a metafile that lists every config with its parameter count."""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

import vidplugins  # noqa: F401
from mmaction.registry import MODELS
from vidplugins.stage.ensemble import average_predictions

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'stage')
# Feature-level configs of the thesis's tables; the end-to-end configs (no thesis results, no
# metafile entry yet) are built by tests/test_configs.py and trained in test_roi_head.py.
CONFIGS = sorted(p for p in glob.glob(osp.join(CFG, '*.py'))
                 if 'cpu-demo' not in p and not osp.basename(p).startswith('stage-e2e_'))
MAIN = {'i3d': (1024, 4, 6.25e-5), 'r101-i3d-nl': (2048, 2, 1e-5),
        'slowfast-nl-8x8': (2304, 2, 1e-5)}
ABLATION = {
    'no-box-proximity': dict(adjacency='none'), 'no-temporal': dict(temporal_radius=0),
    'no-actor-actor': dict(actor_actor=False), 'no-object-object': dict(object_object=False),
    'dot-product-attention': dict(attention='dot_product'),
    'feature-distance-adjacency': dict(adjacency='feature'),
    'non-local-no-temporal': dict(attention='dot_product', temporal_radius=0),
}


def cfg_of(name):
    return Config.fromfile(osp.join(CFG, name + '.py'))


def test_there_is_a_config_per_table_row():
    # End-to-end configs (the thesis's future work, no table row) are checked in test_roi_head.py.
    names = {osp.basename(p)[:-3] for p in CONFIGS} - {
        n for n in (osp.basename(p)[:-3] for p in CONFIGS) if n.startswith('stage-e2e_')}
    # 3 main + 3 x 8 grid cells (Table 3.6) + 3 x 7 ablations (Tables 3.7, 3.8) + 3 x 2 STO
    # + 3 linear (AVA) + 3 AVA 2.2 (8x8, 16x8, their averaged features) + 3 STAGE and 3 linear
    # (Table 3.5) + J-HMDB-21 splits 2 and 3 of both backbones (Table 3.5 averages 3 splits)
    # + the ground-truth-box test (Sec. 3.3.2) + the thesis read literally (no input dropout).
    assert len(names) == 3 + 24 + 21 + 6 + 3 + 3 + 6 + 4 + 1 + 1
    assert {'stage_i3d_ava21', 'stage_r101-i3d-nl_ava21', 'stage_slowfast-nl-8x8_ava21'} <= names


@pytest.mark.parametrize('bb', MAIN)
def test_main_configs_follow_sec_3_2_2(bb):
    dim, heads, lr = MAIN[bb]
    cfg = cfg_of(f'stage_{bb}_ava21')
    m = cfg.model
    assert (m.type, m.actor_dim, m.object_dim, m.num_heads, m.num_layers) == \
        ('STAGE', dim, 2048, heads, 2)
    assert (m.temporal_radius, m.adjacency, m.attention, m.dropout, m.negative_slope) == \
        (1, 'box', 'graph', 0.5, 0.2)
    assert m.loss == 'bce' and m.num_classes == 81
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_dataloader.batch_size == 6
    assert cfg.train_dataloader.dataset.get('pipeline') == [dict(type='PackSTAGEInputs')]
    plateau, = cfg.param_scheduler
    # patience 9: mmengine lowers the lr after patience + 1 epochs without a gain (the epoch
    # by epoch lr is checked against Sec. 3.2.2 in tests/test_schedules.py)
    assert (plateau.type, plateau.monitor, plateau.rule, plateau.factor, plateau.patience) == \
        ('ReduceOnPlateauLR', 'mAP/frame_mAP', 'greater', 0.1, 9)
    stop, = [h for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook']
    assert (stop.monitor, stop.rule, stop.patience) == ('mAP/frame_mAP', 'greater', 15)
    assert cfg.flops_inputs == dict(num_actors=4, num_objects=25)


@pytest.mark.parametrize('path', [p for p in CONFIGS if re.search(r'_\d+h-\d+l_', p)],
                         ids=osp.basename)
def test_grid_configs_change_heads_and_layers_only(path):
    name = osp.basename(path)[:-3]
    bb, h, l = re.match(r'stage_(.+)_(\d+)h-(\d+)l_ava21$', name).groups()
    main = cfg_of(f'stage_{bb}_ava21').model
    assert Config.fromfile(path).model == dict(main, num_heads=int(h), num_layers=int(l))


@pytest.mark.parametrize('path', [p for p in CONFIGS
                                  if any(f'_{a}_' in p for a in ABLATION)], ids=osp.basename)
def test_ablation_configs_change_what_their_name_says(path):
    name = osp.basename(path)[:-3]
    bb, ablation = re.match(r'stage_(.+?)_([a-z-]+)_ava21$', name).groups()
    main = cfg_of(f'stage_{bb}_ava21')
    cfg = Config.fromfile(path)
    assert cfg.model == dict(main.model, **ABLATION[ablation])
    assert cfg.train_dataloader == main.train_dataloader
    assert cfg.optim_wrapper == main.optim_wrapper


@pytest.mark.parametrize('bb', MAIN)
def test_sto_and_linear_baselines_use_the_same_data(bb):
    main = cfg_of(f'stage_{bb}_ava21')
    for name, typ in ((f'sto_{bb}_1l_ava21', 'STO'), (f'sto_{bb}_2l_ava21', 'STO'),
                      (f'actor-linear_{bb}_ava21', 'ActorLinearClassifier')):
        cfg = cfg_of(name)
        assert cfg.model.type == typ and cfg.model.actor_dim == MAIN[bb][0]
        assert cfg.train_dataloader == main.train_dataloader
    assert cfg_of(f'sto_{bb}_2l_ava21').model.num_layers == 2


@pytest.mark.parametrize('name', ['stage_action-tubes_jhmdb21', 'stage_amtnet_jhmdb21',
                                  'stage_amtnet_ucf101-24'])
def test_table_3_5_configs_use_softmax_and_no_objects(name):
    cfg = cfg_of(name)
    assert cfg.model.loss == 'ce' and cfg.model.object_dim is None
    assert (cfg.model.num_heads, cfg.model.num_layers) == (4, 2)
    assert cfg.model.num_classes == cfg.train_dataloader.dataset.num_classes
    assert cfg.model.actor_dim == cfg.train_dataloader.dataset.actor_dim


def test_metafile_lists_every_config_with_its_parameters():
    with open(osp.join(CFG, 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    by_config = {m['Config']: m for m in models}
    assert set(by_config) == {osp.relpath(p, REPO) for p in CONFIGS}
    init_default_scope('mmaction')
    for path in CONFIGS:
        meta = by_config[osp.relpath(path, REPO)]
        assert meta['Name'] == osp.basename(path)[:-3]
        model = MODELS.build(Config.fromfile(path).model)
        assert meta['Metadata']['Parameters'] == sum(p.numel() for p in model.parameters()), path
    main = by_config['configs/stage/stage_slowfast-nl-8x8_ava21.py']
    assert main['Results'][0]['Metrics']['Val frame-mAP@0.5 (thesis, Table 3.2)'] == 29.8


def test_averaged_features_config_reads_both_feature_sets():
    # Table 3.3 "16x8 + 8x8": the 8x8 model on the mean of the two 2304-d sets of the same boxes
    avg = cfg_of('stage_slowfast-nl-8x8-16x8-avg_ava22')
    base = cfg_of('stage_slowfast-nl-8x8_ava22')
    assert avg.model == base.model and avg.model.actor_dim == 2304
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds, ds16 = avg[split].dataset, cfg_of('stage_slowfast-nl-16x8_ava22')[split].dataset
        assert ds.actor_file[0] == base[split].dataset.actor_file
        assert ds.feature_format == ['stage-slowfast', 'vidplugins'] and ds.actor_dim == 2304
        assert ds.object_file == base[split].dataset.object_file == ds16.object_file
        assert ds.object_format == ds16.object_format == 'stage-i3d'


def test_score_ensemble_averages_matching_keyframes():
    import torch
    box = torch.tensor([[0.1, 0.1, 0.5, 0.9]])
    a = [dict(video_id='v', timestamp=902, pred_instances=dict(bboxes=box,
                                                               scores=torch.tensor([[0., .2]])))]
    b = [dict(video_id='v', timestamp=902, pred_instances=dict(bboxes=box,
                                                               scores=torch.tensor([[0., .6]])))]
    out = average_predictions([a, b], ['a.pkl', 'b.pkl'])
    assert torch.allclose(out[0]['pred_instances']['scores'], torch.tensor([[0., .4]]))
    b[0]['pred_instances']['bboxes'] = box + 0.1
    with pytest.raises(ValueError, match='b.pkl.*other actor boxes'):
        average_predictions([a, b], ['a.pkl', 'b.pkl'])
    b[0]['timestamp'] = 903
    with pytest.raises(ValueError, match='b.pkl.*missing'):
        average_predictions([a, b], ['a.pkl', 'b.pkl'])


def test_input_dropout_follows_the_authors_by_default_and_the_thesis_by_config():
    """Authors' gat.py drops 0.5 of every layer's input; the thesis names only the dropout after
    the heads: stage_i3d_no-input-dropout_ava21 reproduces that reading, nothing else changes."""
    init_default_scope('mmaction')
    main = MODELS.build(cfg_of('stage_i3d_ava21').model)
    literal_cfg = cfg_of('stage_i3d_no-input-dropout_ava21')
    literal = MODELS.build(literal_cfg.model)
    assert [layer.input_dropout.p for layer in main.net.layers] == [0.5, 0.5]
    assert [layer.input_dropout.p for layer in literal.net.layers] == [0.0, 0.0]
    assert [layer.heads.dropout.p for layer in literal.net.layers] == [0.5, 0.5]
    assert literal_cfg.model == dict(cfg_of('stage_i3d_ava21').model, input_dropout=0.0)
    assert literal_cfg.train_dataloader == cfg_of('stage_i3d_ava21').train_dataloader


def test_block_borders_move_in_every_training_config():
    """The authors' moving borders everywhere but in the CPU demo, whose published figures were
    measured with fixed ones."""
    for path in glob.glob(osp.join(CFG, '*.py')):
        sampler = Config.fromfile(path).train_dataloader.sampler
        if sampler.type == 'KeyframeBlockSampler':
            assert sampler.get('shift_borders', True) is ('cpu-demo' not in path), path
