"""Sampling (Sec. 4.1.3), masking (Eq. 4.4), datasets and bad input."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from vidplugins.rmsnet.datasets import (FeatureFileError, SoccerNetGameDataset,
                                        SoccerNetWindowDataset, event_free_windows,
                                        event_windows)
from vidplugins.rmsnet.samplers import SpottingBalancedSampler, challenge_class_counts
from vidplugins.rmsnet.transforms import MaskEventContext, mask_event_context
from vidplugins.soccernet import LabelFileError, find_games


# ---------------------------------------------------------------- windows (Sec. 4.1.3)
def test_event_windows_all_offsets_and_clipping():
    # T = 5, event at frame 6 of a 20-frame half: starts 2..6, offsets 4/5 .. 0.
    assert event_windows(6, 20, 5) == [2, 3, 4, 5, 6]
    assert event_windows(1, 20, 5) == [0, 1]                    # clipped at the start
    assert event_windows(18, 20, 5) == [14, 15]                 # clipped at the end
    assert event_windows(6, 20, 5, offsets='center') == [4]


def test_event_free_windows_stride_t():
    # Events at 7 and 20 in 30 frames, T = 3: free stretches 0-6, 8-19, 21-29.
    assert event_free_windows([7, 20], 30, 3) == [0, 3, 8, 11, 14, 17, 21, 24, 27]
    assert event_free_windows([], 7, 3) == [0, 3]


def test_event_free_windows_keep_a_gap_from_events():
    # Gap 3 on each side of the events (not at the half's ends): free 0-3, 11-16, 24-29.
    assert event_free_windows([7, 20], 30, 3, gap=3) == [0, 11, 14, 24, 27]
    assert event_free_windows([], 7, 3, gap=3) == [0, 3]


def _background_too_close(ds, T, gap):
    """Background windows of ``ds`` with an event of their half within ``gap`` frames."""
    infos = [ds.get_data_info(int(i)) for i in ds.background_indices]
    events = {}
    for game in {d['game'] for d in infos}:
        for ev in ds._read_events(game):
            events.setdefault((game, ev.half), []).append(ev.frame)
    assert events
    close = 0
    for d in infos:
        frames = np.asarray(events.get((d['game'], d['half']), []))
        close += int(((frames >= d['start'] - gap) & (frames < d['start'] + T + gap)).any())
    return close


def test_background_windows_keep_the_authors_gap_by_default(demo_soccernet):
    """Issue 10, item 6: background windows stay T frames away from every event, as the
    authors' loader; ``background_gap=0`` gives the old behaviour (right after an event)."""
    root, _ = demo_soccernet
    kw = dict(data_root=root, ann_file=osp.join(root, 'listgame_Train.npy'), window_size=41,
              pipeline=[dict(type='PackSpottingInputs')])
    default = SoccerNetWindowDataset(**kw)
    assert len(default.background_indices) > 0
    assert _background_too_close(default, 41, 41) == 0
    no_gap = SoccerNetWindowDataset(background_gap=0, **kw)
    assert _background_too_close(no_gap, 41, 41) > 0
    assert len(no_gap.background_indices) > len(default.background_indices)
    with pytest.raises(ValueError, match='background_gap'):
        SoccerNetWindowDataset(background_gap=-1, **kw)


def test_no_uniform_offsets_ablation_draws_as_many_windows_as_the_full_model(demo_soccernet):
    """Table 4.3's "w/o uniformly distributed offsets" changes which windows exist (centred
    ones only), not how many an epoch draws: same n_F and n_B as the main model."""
    from mmengine.config import Config

    from tests.conftest import REPO
    root, _ = demo_soccernet
    sizes = {}
    for name in ('', '_no-uniform-offsets'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'rmsnet',
                                       f'rmsnet_resnet152-pca512_soccernet-v1{name}.py'),
                              import_custom_modules=False)
        dcfg = dict(cfg.train_dataloader.dataset)
        dcfg.pop('type')
        dcfg.update(data_root=root, ann_file=osp.join(root, 'listgame_Train.npy'),
                    pipeline=[dict(type='PackSpottingInputs')])
        ds = SoccerNetWindowDataset(**dcfg)
        scfg = dict(cfg.train_dataloader.sampler)
        scfg.pop('type')
        sampler = SpottingBalancedSampler(ds, seed=0, **scfg)
        sizes[name] = (len(ds.foreground_indices), len(sampler), len(sampler.epoch_indices(0)))
    assert sizes['_no-uniform-offsets'][0] * 10 < sizes[''][0]      # far fewer distinct windows
    assert sizes['_no-uniform-offsets'][1:] == sizes[''][1:] == (40000, 40000)


# ---------------------------------------------------------------- masking (Eq. 4.4)
def test_mask_event_context_by_hand():
    x = np.arange(6)[:, None] * np.ones((1, 2))
    z = -np.ones((6, 2))
    before = mask_event_context(x, 2, z, 'before')
    assert before[:, 0].tolist() == [-1, -1, 2, 3, 4, 5]
    after = mask_event_context(x, 2, z, 'after')
    assert after[:, 0].tolist() == [0, 1, 2, -1, -1, -1]


def _results(label, offset, start=10, event_frame=12, T=6):
    return dict(inputs=np.ones((T, 2)), label=label, num_classes=3, offset=offset, start=start,
                event_frame=event_frame, background_source=lambda rng: np.zeros((T, 2)))


def test_masking_transform_conditions():
    always = MaskEventContext(p=1.0, q=0.5, seed=0)
    r = always(_results(label=0, offset=2 / 6))
    assert r['masked'] and r['inputs'][:2].sum() == 0 and r['inputs'][2:].sum() == 8
    assert not always(_results(label=0, offset=0.6))['masked']          # r > q: never
    assert not always(_results(label=3, offset=0.0))['masked']          # background: never
    never = MaskEventContext(p=0.0, q=1.0, seed=0)
    assert not never(_results(label=0, offset=0.1))['masked']
    third = MaskEventContext(p=1 / 3, q=0.5, seed=0)
    rate = np.mean([third(_results(0, 0.3))['masked'] for _ in range(3000)])
    assert abs(rate - 1 / 3) < 0.03


# ---------------------------------------------------------------- samplers
def test_challenge_class_counts_rule():
    # /5 above 10,000 spots, x10 below 100, background = mean of the classes.
    counts = challenge_class_counts([20000, 5000, 50])
    assert counts.tolist() == [4000, 5000, 500, round((20000 + 5000 + 50) / 3)]


class _FakeWindows:
    classes = ('a', 'b', 'c')
    window_size = 2

    def __init__(self):
        self.labels = np.array([0] * 40 + [1] * 20 + [2] * 10 + [3] * 30)
        self.foreground_indices = np.flatnonzero(self.labels < 3)
        self.background_indices = np.flatnonzero(self.labels == 3)


def test_balanced_sampler_draws_nf_and_nf_over_c_and_redraws():
    ds = _FakeWindows()
    s = SpottingBalancedSampler(ds, num_foreground=30, seed=0)
    e0 = list(s)
    assert len(e0) == len(s) == 40                          # 30 + 30 / 3
    assert (ds.labels[e0] < 3).sum() == 30 and (ds.labels[e0] == 3).sum() == 10
    s.set_epoch(1)
    assert list(s) != e0                                   # redrawn every epoch
    s.set_epoch(0)
    assert list(s) == e0                                   # deterministic
    pc = SpottingBalancedSampler(ds, mode='per_class', seed=0)
    # spots = windows / T: 20, 10, 5 -> x10 below 100 -> 200, 100, 50; background mean 35/3.
    assert pc.counts.tolist() == [200, 100, 50, 12]
    assert np.bincount(ds.labels[list(pc)], minlength=4).tolist() == [200, 100, 50, 12]


def test_sampler_splits_ranks(monkeypatch):
    import vidplugins.rmsnet.samplers as samplers
    ds = _FakeWindows()
    parts = []
    for rank in (0, 1):
        monkeypatch.setattr(samplers, 'get_dist_info', lambda r=rank: (r, 2))
        parts.append(list(SpottingBalancedSampler(ds, num_foreground=30, seed=3)))
    full = SpottingBalancedSampler(ds, num_foreground=30, seed=3).epoch_indices(0)
    assert sorted(parts[0] + parts[1]) == sorted(full.tolist())


# ---------------------------------------------------------------- datasets on generated data
def test_window_dataset_on_generated_v1(demo_soccernet):
    root, games = demo_soccernet
    ds = SoccerNetWindowDataset(data_root=root, ann_file=osp.join(root, 'listgame_Train.npy'),
                                window_size=41, pipeline=[dict(type='PackSpottingInputs')])
    labels = json.load(open(osp.join(root, games['Train'][0], 'Labels.json')))
    assert 'annotations' in labels
    # Every foreground window contains its event; offsets cover [0, 40/41].
    fg = [ds.get_data_info(i) for i in ds.foreground_indices]
    assert all(d['start'] <= d['event_frame'] < d['start'] + 41 for d in fg)
    offsets = sorted({round(d['offset'] * 41) for d in fg})
    assert offsets == list(range(41))
    bg = [ds.get_data_info(i) for i in ds.background_indices[:50]]
    assert all(d['label'] == 3 for d in bg)
    item = ds[int(ds.foreground_indices[0])]
    assert tuple(item['inputs'].shape) == (41, 512)
    assert item['data_samples'].gt_label.item() < 3
    # The generator writes a half-time substitution into every third game: dropped and counted.
    n_games = len(games['Train'])
    assert ds.skipped['half-time substitution'] == n_games // 3


def test_game_dataset_windows_cover_the_half(demo_soccernet):
    root, games = demo_soccernet
    ds = SoccerNetGameDataset(data_root=root, ann_file=osp.join(root, 'listgame_Test.npy'),
                              window_size=41, stride=41, pipeline=[dict(type='PackSpottingInputs')])
    assert len(ds) == 2                                   # one game, two halves
    info = ds.get_data_info(0)
    assert info['window_starts'][:3] == [0, 41, 82] and info['window_starts'][-1] == 300 - 41
    item = ds[0]
    assert tuple(item['inputs'].shape) == (300, 512)


def _copy_game(root, tmp_path):
    """A copy of one generated v1 game, to damage."""
    g = find_games(root, 'Labels.json')[0]
    dst = tmp_path / 'data'
    shutil.copytree(osp.join(root, g), dst / g)
    return str(dst), g


def test_missing_feature_file_names_the_file(demo_soccernet, tmp_path):
    root, g = _copy_game(demo_soccernet[0], tmp_path)
    os.remove(osp.join(root, g, '2_ResNet_PCA512.npy'))
    with pytest.raises(FeatureFileError, match='2_ResNet_PCA512.npy: feature file not found'):
        SoccerNetWindowDataset(data_root=root)
    ds = SoccerNetWindowDataset(data_root=root, strict=False)
    assert ds.skipped['invalid input file'] == 1


def test_nan_features_error_names_file_and_frame(demo_soccernet, tmp_path):
    root, g = _copy_game(demo_soccernet[0], tmp_path)
    path = osp.join(root, g, '1_ResNet_PCA512.npy')
    x = np.load(path)
    x[17, 3] = np.nan
    np.save(path, x)
    with pytest.raises(FeatureFileError, match=r'1_ResNet_PCA512.npy: 1 frame\(s\) with NaN/inf '
                       r'features \(first: frame 17\)'):
        SoccerNetGameDataset(data_root=root)


def test_short_half_and_events_beyond_features_are_counted(demo_soccernet, tmp_path):
    root, g = _copy_game(demo_soccernet[0], tmp_path)
    np.save(osp.join(root, g, '1_ResNet_PCA512.npy'), np.zeros((30, 512), np.float32))
    ds = SoccerNetWindowDataset(data_root=root, window_size=41)
    assert ds.skipped['half shorter than the window'] == 1
    path2 = osp.join(root, g, '2_ResNet_PCA512.npy')
    np.save(path2, np.load(path2)[:50])                 # events of half 2 now lie beyond frame 50
    ds = SoccerNetWindowDataset(data_root=root, window_size=41)
    assert ds.skipped['event beyond the end of the features'] >= 1
    test = SoccerNetGameDataset(data_root=root, window_size=41)
    assert test.skipped['half shorter than the window (padded)'] == 1
    assert tuple(test[0]['inputs'].shape) == (41, 512)   # padded to one window


def test_unknown_label_and_game_without_events(demo_soccernet, tmp_path):
    root, g = _copy_game(demo_soccernet[0], tmp_path)
    path = osp.join(root, g, 'Labels.json')
    labels = json.load(open(path))
    labels['annotations'].append(dict(gameTime='1 - 01:00', label='corner-kick'))
    json.dump(labels, open(path, 'w'))
    with pytest.raises(LabelFileError, match="Labels.json annotations.*unknown SoccerNet-v1 "
                       "label 'corner-kick'"):
        SoccerNetWindowDataset(data_root=root)
    ds = SoccerNetWindowDataset(data_root=root, strict=False)
    assert ds.skipped["unknown label 'corner-kick'"] == 1
    json.dump(dict(annotations=[]), open(path, 'w'))
    ds = SoccerNetWindowDataset(data_root=root)
    assert len(ds.foreground_indices) == 0 and len(ds.background_indices) > 0
    assert ds.skipped['game without events (background only)'] == 1


def test_v2_dataset_parses_positions_and_classes(demo_soccernet_v2):
    root, games = demo_soccernet_v2
    ds = SoccerNetWindowDataset(data_root=root, version=2,
                                ann_file=osp.join(root, 'listgame_Train.npy'))
    assert ds.labels.max() == 17 and len(ds.foreground_indices) > 0


def test_frames_modality_reads_frame_folders(tmp_path):
    """End-to-end input (Sec. 4.2.5): per-half folders of frames at 2 fps, resized on load."""
    import cv2
    game = tmp_path / 'league' / 'season' / 'game'
    for half in (1, 2):
        folder = game / f'{half}_frames_64x96'
        folder.mkdir(parents=True)
        for i in range(30):
            cv2.imwrite(str(folder / f'{i:06d}.jpg'), np.full((64, 96, 3), i * 8, np.uint8))
    json.dump(dict(annotations=[dict(gameTime='1 - 00:05', label='y-card')]),
              open(game / 'Labels.json', 'w'))
    ds = SoccerNetWindowDataset(data_root=str(tmp_path), modality='frames',
                                feature_name='frames_64x96', feature_dim=None,
                                frame_size=(32, 48), window_size=8,
                                pipeline=[dict(type='PackSpottingInputs')])
    fg = ds.get_data_info(int(ds.foreground_indices[0]))
    assert fg['event_frame'] == 10 and fg['label'] == 0
    item = ds[int(ds.foreground_indices[0])]
    assert tuple(item['inputs'].shape) == (8, 32, 48, 3)
    # Frame k of the window is image start + k (grey level 8 * index, JPEG-rounded).
    assert abs(int(item['inputs'][0, 0, 0, 0]) - 8 * fg['start']) <= 2
    os.remove(game / '2_frames_64x96' / '000003.jpg')
    with open(game / '2_frames_64x96' / '000003.jpg', 'wb') as f:
        f.write(b'not a jpeg')
    bad = SoccerNetGameDataset(data_root=str(tmp_path), modality='frames',
                               feature_name='frames_64x96', feature_dim=None, window_size=8)
    with pytest.raises(FeatureFileError, match='000003.jpg: cannot decode image'):
        bad[1]
