"""RMS-Net configs added by issue 10 (item 6): the clip-length grid of Sec. 4.2.3 and the
SoccerNet-v2 train + valid -> test setting of Sec. 4.3."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.conftest import REPO

CONFIGS = osp.join(REPO, 'configs', 'rmsnet')


def load(name):
    return Config.fromfile(osp.join(CONFIGS, name + '.py'), import_custom_modules=False)


@pytest.mark.parametrize('seconds', [5, 10, 15, 30, 40, 60])
def test_clip_length_grid_uses_t_everywhere(seconds):
    cfg = load(f'rmsnet_resnet152-pca512_soccernet-v1_clip{seconds}s')
    main = load('rmsnet_resnet152-pca512_soccernet-v1')
    T = 2 * seconds + 1                               # frames at 2 fps, as T = 41 for 20 s
    assert cfg.model.window_size == T
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.window_size == T, loader
    assert cfg.val_evaluator.window_size == cfg.test_evaluator.window_size == T
    # Only T changes.
    assert cfg.model.head == main.model.head
    assert cfg.train_dataloader.sampler == main.train_dataloader.sampler
    assert cfg.optim_wrapper == main.optim_wrapper


def test_v2_trainval_config_trains_on_train_and_valid_and_tests_on_labelled_test():
    cfg = load('rmsnet_resnet152-e2e-frames_soccernet-v2-trainval')
    train = cfg.train_dataloader.dataset
    assert train.version == 2
    assert [train.ann_file] + list(train.extra_ann_files) == ['listgame_v2_train.json',
                                                              'listgame_v2_valid.json']
    test = cfg.test_dataloader.dataset
    assert test.ann_file == 'listgame_v2_test.json' and test.with_labels and test.version == 2
    assert cfg.test_evaluator.version == 2 and cfg.test_evaluator.nms_window == 31
    assert cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.default_hooks.checkpoint.save_best is None and cfg.custom_hooks == []
    assert cfg.train_cfg.max_epochs == 20
