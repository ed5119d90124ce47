"""Window scores -> spots -> official prediction files (Sec. 4.2.2, 4.3)."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, shared
from vidplugins.rmsnet.postprocess import (nms_1d, spots_to_predictions, windows_to_spots,
                                           write_predictions)
from vidplugins.soccernet import CLASSES_V1
from vidplugins.soccernet.evaluation.average_map import load_predictions


def test_windows_to_spots_per_class_by_hand():
    # T = 10; window 0 predicts offset 0.25 -> frame 2.5 -> 2 (round half to even), window 1
    # offset 0.95 -> 19.5 -> 20, clipped to the half's last frame 19.
    starts = np.array([0, 10])
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])   # 2 classes + background
    frames, labels, conf = windows_to_spots(starts, scores, np.array([0.25, 0.95]), 10, 20,
                                            rule='per_class')
    assert frames.tolist() == [2, 2, 19, 19]
    assert labels.tolist() == [0, 1, 0, 1]
    assert np.allclose(conf, [0.7, 0.2, 0.1, 0.6])
    # Two windows pointing at the same frame keep the more confident spot per class.
    f, l, c = windows_to_spots(np.array([0, 1]), scores, np.array([0.5, 0.4]), 10, 20,
                               rule='per_class')
    assert f.tolist() == [5, 5] and np.allclose(c, [0.7, 0.6])


def test_windows_to_spots_default_is_the_thesis_clip_class_rule():
    """Sec. 4.2.2: each window predicts the clip class (arg-max of its C + 1 scores) at
    s + offset * T; a background window gives no spot."""
    starts = np.array([0, 10, 20, 30])
    scores = np.array([[0.7, 0.2, 0.1],     # class 0
                       [0.1, 0.6, 0.3],     # class 1
                       [0.3, 0.2, 0.5],     # background: no spot, although 0.3 > 0
                       [0.4, 0.4, 0.2]])    # tie: the first class, as np.argmax
    offsets = np.array([0.25, 0.5, 0.5, 0.0])
    frames, labels, conf = windows_to_spots(starts, scores, offsets, 10, 40)
    assert frames.tolist() == [2, 15, 30]
    assert labels.tolist() == [0, 1, 0]
    assert np.allclose(conf, [0.7, 0.6, 0.4])
    # The per-class rule gives every window one candidate per foreground class.
    assert len(windows_to_spots(starts, scores, offsets, 10, 40, rule='per_class')[0]) == 8
    # min_score applies to the clip class's score.
    f, _, _ = windows_to_spots(starts, scores, offsets, 10, 40, min_score=0.65)
    assert f.tolist() == [2]
    with pytest.raises(ValueError, match='rule'):
        windows_to_spots(starts, scores, offsets, 10, 40, rule='argmax')


def test_spotting_metric_uses_the_thesis_rule_by_default_and_the_configs_say_so():
    from mmengine.config import Config

    from vidplugins.rmsnet.metric import SpottingMetric
    assert SpottingMetric().spot_rule == 'clip_class'
    assert SpottingMetric(spot_rule='per_class').spot_rule == 'per_class'
    for name in ('rmsnet_resnet152-pca512_soccernet-v1.py',
                 'rmsnet_resnet152-e2e-frames_soccernet-v2-challenge.py'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'rmsnet', name),
                              import_custom_modules=False)
        assert cfg.test_evaluator['spot_rule'] == 'clip_class', name
        assert cfg.val_evaluator['spot_rule'] == 'clip_class', name


def test_nms_keeps_local_maxima_per_class():
    frames = np.array([10, 20, 40, 41, 100, 20])
    labels = np.array([0, 0, 0, 0, 0, 1])
    conf = np.array([0.5, 0.9, 0.8, 0.3, 0.1, 0.2])
    f, l, c = nms_1d(frames, labels, conf, window=31)          # suppress within +-15 frames
    kept = sorted(zip(l.tolist(), f.tolist()))
    # class 0: 20 (0.9) suppresses 10; 40 is 20 away: kept, and suppresses 41; 100 kept.
    assert kept == [(0, 20), (0, 40), (0, 100), (1, 20)]


def test_prediction_file_round_trips_through_the_evaluator_reader(tmp_path):
    halves = {1: (np.array([0, 1201]), np.array([2, 0]), np.array([0.9, 0.25])),
              2: (np.array([7]), np.array([1]), np.array([0.5]))}
    preds = spots_to_predictions('league/2015-2016/game', halves, CLASSES_V1)
    assert preds['predictions'][1] == dict(gameTime='1 - 10:00', label='card',
                                           position='600500', half='1', confidence='0.25')
    path = write_predictions(str(tmp_path), 'league/2015-2016/game', preds)
    back = load_predictions(path, version=1)
    assert dict(zip(back[0].frames.tolist(), back[0].labels.tolist())) == {0: 2, 1201: 0}
    assert back[1].frames.tolist() == [7] and back[1].values.tolist() == [0.5]
    assert json.load(open(path))['UrlLocal'] == 'league/2015-2016/game'


def test_extract_frames_on_a_real_video(tmp_path):
    video = shared('videos', 'mmaction2_demo_demo.mp4')              # 10 s at 28 fps
    game = tmp_path / 'league' / 'season' / 'game'
    game.mkdir(parents=True)
    (game / '1_224p.mp4').symlink_to(video)
    cmd = [sys.executable, osp.join(REPO, 'tools', 'data', 'soccernet', 'extract_frames.py'),
           str(tmp_path), '--video', '224p.mp4', '--size', '64', '96', '--workers', '1']
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames = sorted((game / '1_frames_64x96').iterdir())
    assert len(frames) == 20                                         # 10 s at 2 fps
    assert '1 halves: 20 frames written' in out
    again = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert '1 already done' in again                                 # resumable
    from vidplugins.rmsnet.datasets import read_frames
    assert read_frames([str(frames[0])]).shape == (1, 64, 96, 3)
