"""STAGE tested on 2 real gloo processes (``tools/dist_test.sh``) against 1 process
(``tools/test.py``): every keyframe is predicted exactly once across the ranks, and the frame-mAP
is the same. Both kinds of config: the feature config (the CPU demo, on a small generated feature
set) and the end-to-end config (the tiny backbone of ``tests/stage/test_roi_head.py`` on generated
raw frames). Weights are random (made here): only agreement between the launches is asserted.
"""
import copy
import glob
import json
import os.path as osp
import pickle
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from .test_rmsnet_distributed import REPO, run

pytestmark = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the CPU (gloo) launch; a GPU machine runs NCCL')

FEATURES = osp.join(REPO, 'configs', 'stage', 'stage_cpu-demo_ava-features.py')
E2E = osp.join(REPO, 'configs', 'stage',
               'stage-e2e_slowonly-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py')


def random_checkpoint(model_cfg, path):
    """A checkpoint of the model built from ``model_cfg`` with seed-0 random weights."""
    import vidplugins.stage  # noqa: F401
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def keyframes(dump):
    with open(dump, 'rb') as f:
        results = pickle.load(f)
    return sorted((r['video_id'], int(r['timestamp'])) for r in results)


def dataset_keyframes(cfg):
    """(video, timestamp) of every item of the config's test dataset."""
    import vidplugins.stage  # noqa: F401
    from mmaction.registry import DATASETS
    from vidplugins.stage.samplers import keyframe_keys
    init_default_scope('mmaction')
    return keyframe_keys(DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset)))


def single_and_dist(cfg, tmp):
    """tools/test.py, then dist_test.sh on 2 ranks, on ``cfg`` with a random checkpoint: checks
    that every keyframe is predicted exactly once and that both give the same metrics. Returns
    the number of keyframes each rank predicted."""
    expected_keys = dataset_keyframes(cfg)
    assert len(set(expected_keys)) == len(expected_keys)
    ckpt = random_checkpoint(copy.deepcopy(cfg.model), tmp / 'random.pth')
    cfg.custom_imports = dict(imports=['vidplugins.stage', 'tests.cluster.hooks'],
                              allow_failed_imports=False)
    reps = {}
    for name, cmd in (('single', [sys.executable, 'tools/test.py']),
                      ('dist', ['bash', 'tools/dist_test.sh'])):
        cfg.custom_hooks = [dict(type='ClusterRankReportHook', tag=name)]
        config = str(tmp / f'{name}.py')
        cfg.dump(config)
        work, dump = tmp / name, str(tmp / f'{name}.pkl')
        log = run(cmd + [config, ckpt] + (['2'] if name == 'dist' else [])
                  + ['--work-dir', str(work), '--dump', dump])
        # every keyframe predicted exactly once (the dump holds what all ranks predicted)
        assert keyframes(dump) == sorted(expected_keys), name
        reps[name] = [json.load(open(p)) for p in sorted(glob.glob(str(work / 'ranks' / '*.json')))]
    assert log.count('distributed backend nccl -> gloo') == 2
    single, dist = reps['single'][0]['test_metrics'], reps['dist'][0]['test_metrics']
    assert [r['rank'] for r in reps['dist']] == [0, 1]
    tested = [r['test_samples'] for r in reps['dist']]
    assert sum(tested) == len(expected_keys) and min(tested) > 0   # both ranks predicted
    assert single and set(dist) == set(single)
    assert any(np.isfinite(v) for v in single.values())      # the frame-mAP was computed
    for key in single:    # category groups without classes in the data are NaN in both
        assert dist[key] == pytest.approx(single[key], abs=1e-9, nan_ok=True), key
    return tested


def test_feature_config_on_two_ranks_predicts_each_keyframe_once_with_the_same_map(tmp_path):
    from vidplugins.demo_data.ava_features import generate_ava_features
    from tests.stage.conftest import point_to
    root = str(tmp_path / 'ava')
    generate_ava_features(root, videos={'val': 3}, keyframes_per_video=7, seed=0)
    cfg = point_to(Config.fromfile(FEATURES), root)
    n = len(dataset_keyframes(cfg))
    # blocks of 6 consecutive keyframes, the first half of the blocks on rank 0
    blocks = -(-n // 6)
    assert n > 12 and single_and_dist(cfg, tmp_path) == [6 * (blocks // 2), n - 6 * (blocks // 2)]


KEYFRAMES = [('vid_a', t) for t in (902, 903, 904, 905)] + [('vid_b', 902), ('vid_b', 903)] + \
    [('vid_c', 902), ('vid_c', 903), ('vid_c', 904)]


def test_e2e_config_on_two_ranks_predicts_each_keyframe_once_with_the_same_map(tmp_path):
    from tests.stage.test_e2e_test_batches import e2e_test_loader_cfg
    from tests.stage.test_roi_head import tiny_model_cfg
    root = tmp_path / 'frames'
    rng = np.random.default_rng(0)
    for v in ('vid_a', 'vid_b', 'vid_c'):
        (root / v).mkdir(parents=True)
        for i in range(1, 12):   # fps 1: keyframe t is frame t - 900 + 1
            cv2.imwrite(str(root / v / f'img_{i:05d}.jpg'),
                        rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (root / 'ann.csv').write_text(''.join(f'{v},{t},0.1,0.1,0.5,0.9,12,0\n'
                                          for v, t in KEYFRAMES))
    (root / 'labels.pbtxt').write_text('item {\n  name: "a"\n  id: 12\n}\n')
    props = {f'{v},{t:04d}': np.array([[0.1, 0.1, 0.5, 0.9, 1.0], [0.5, 0.2, 0.9, 0.8, 1.0]],
                                      np.float32) for v, t in KEYFRAMES}
    objects = {f'{v},{t}': np.array([[0.0, 0.0, 0.5, 0.5, 0.9]], np.float32)
               for v, t in KEYFRAMES}
    for name, data in (('props.pkl', props), ('objects.pkl', objects)):
        with open(root / name, 'wb') as f:
            pickle.dump(data, f)
    cfg = Config.fromfile(E2E)
    cfg.model = tiny_model_cfg()
    cfg.test_dataloader = e2e_test_loader_cfg(root)
    cfg.test_evaluator = dict(type='AVAMetric', ann_file=str(root / 'ann.csv'),
                              label_file=str(root / 'labels.pbtxt'), exclude_file=None)
    # one block per video (4, 2, 3 keyframes): vid_a on rank 0, vid_b and vid_c on rank 1
    assert sorted(dataset_keyframes(cfg)) == sorted(KEYFRAMES)
    assert single_and_dist(cfg, tmp_path) == [4, 5]
