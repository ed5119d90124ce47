"""Dataset, label assignment, block sampler and packing on small hand-made feature files."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from vidplugins.stage.data_preprocessor import STAGEDataPreprocessor, pack_keyframes
from vidplugins.stage.datasets import AVAFeatureDataset
from vidplugins.stage.feature_io import FeatureFileError, open_feature_file, write_keyframe
from vidplugins.stage.label_assignment import KeyframeLabelAssigner, assign_labels
from vidplugins.stage.samplers import KeyframeBlockSampler, keyframe_blocks

GT_A = [0.1, 0.1, 0.5, 0.9]   # person 0
GT_B = [0.6, 0.2, 0.9, 0.8]   # person 1


@pytest.fixture
def files(tmp_path):
    """Video v1: keyframes 902-904 annotated, 903 excluded; v2: 902 (no actor features)."""
    ann = tmp_path / 'ann.csv'
    ann.write_text('v1,0902,0.1,0.1,0.5,0.9,12,0\nv1,0902,0.1,0.1,0.5,0.9,17,0\n'
                   'v1,0902,0.6,0.2,0.9,0.8,79,1\n'
                   'v1,0903,0.1,0.1,0.5,0.9,12,0\nv1,0904,0.1,0.1,0.5,0.9,12,0\n'
                   'v2,0902,0.1,0.1,0.5,0.9,12,0\n')
    exc = tmp_path / 'excluded.csv'
    exc.write_text('v1,0903\n')
    actors, objects = str(tmp_path / 'actors.h5'), str(tmp_path / 'objects.h5')
    with open_feature_file(actors, 'actors', 'x', 3, mode='w') as f:
        # 902: GT A (score 1), a detection of B with IoU 0.6 (x2 0.9 -> 0.78: 0.18/0.3), score
        # 0.95, and a detection of B with IoU 0.4 and score 0.8
        b_iou06 = [0.6, 0.2, 0.78, 0.8]
        b_iou04 = [0.6, 0.2, 0.72, 0.8]
        write_keyframe(f, 'actors', 'v1', 902, np.eye(3), [GT_A, b_iou06, b_iou04],
                       [1.0, 0.95, 0.8])
        write_keyframe(f, 'actors', 'v1', 903, np.ones((1, 3)), [GT_A], [1.0])
        write_keyframe(f, 'actors', 'v1', 904, np.zeros((0, 3)), np.zeros((0, 4)), [])
    with open_feature_file(objects, 'objects', 'vg', 2, mode='w') as f:
        write_keyframe(f, 'objects', 'v1', 902, np.ones((2, 2)), [[0, 0, .1, .1]] * 2, [.9, .5])
        write_keyframe(f, 'objects', 'v1', 903, np.ones((1, 2)), [[0, 0, .1, .1]], [.9])
    return dict(ann_file=str(ann), exclude_file=str(exc), actor_file=actors,
                object_file=objects), tmp_path


def test_assign_labels_by_hand():
    gt = np.array([GT_A, GT_B], np.float32)
    labels = np.array([3, 5])
    det = np.array([GT_B, [0.6, 0.2, 0.78, 0.8], [0.6, 0.2, 0.72, 0.8], [0, 0, .05, .05]])
    out, iou = assign_labels(det, gt, labels, pos_iou_thr=0.5)
    np.testing.assert_allclose(iou, [1.0, 0.6, 0.4, 0.0], atol=1e-5)
    assert out.tolist() == [5, 5, 0, 0]
    out, _ = assign_labels(det, gt, labels, pos_iou_thr=0.9)   # R101 / SlowFast threshold
    assert out.tolist() == [5, 0, 0, 0]
    keep, lab = KeyframeLabelAssigner(det_score_thr=0.9, pos_iou_thr=0.5, keep_unmatched=False)(
        np.array([1.0, 0.95, 0.92, 0.5]), det, gt, labels)
    assert keep.tolist() == [0, 1] and lab.tolist() == [5, 5]


def test_dataset_keyframes_labels_and_counted_skips(files):
    paths, _ = files
    ds = AVAFeatureDataset(**paths, actor_dim=3, object_dim=2, on_missing_objects='empty')
    # 903 excluded, v2 has no actor features (skipped, counted), 904 no objects (counted)
    infos = map(ds.get_data_info, range(len(ds)))
    assert [(d['video_id'], d['timestamp']) for d in infos] == [('v1', 902), ('v1', 904)]
    assert ds.skipped == {'keyframes without actor features': 1,
                          'keyframes without object entries (no objects used)': 1}
    item = ds[0]
    assert item['inputs']['actor_feats'].shape == (3, 3)
    assert item['inputs']['object_feats'].shape == (2, 2)
    labels = item['data_samples'].gt_instances.labels
    assert labels.shape == (3, 81)
    assert [torch.nonzero(r).flatten().tolist() for r in labels] == [[12, 17], [79], []]
    assert item['data_samples'].metainfo['video_id'] == 'v1'
    empty = ds[1]   # a keyframe with no actor is valid
    assert empty['inputs']['actor_feats'].shape == (0, 3)
    assert empty['inputs']['object_feats'].shape == (0, 2)   # 904 has no object entry ...
    # ... which is an error by default
    with pytest.raises(FeatureFileError, match=r'objects.h5: no object entry for keyframe v1,0904'):
        AVAFeatureDataset(**paths, on_missing_objects='error')


def test_dataset_test_mode_keeps_detections_above_the_score_threshold(files):
    paths, _ = files
    ds = AVAFeatureDataset(**paths, test_mode=True, assigner=dict(det_score_thr=0.9),
                           on_missing_objects='empty')
    item = ds[0]
    assert item['inputs']['actor_feats'].shape == (2, 3)     # the 0.8 detection is dropped
    assert 'gt_instances' not in item['data_samples']
    with pytest.raises(FeatureFileError,
                       match=r'actors.h5: no actor features for keyframe v2,0902'):
        AVAFeatureDataset(**paths, on_missing_actors='error', on_missing_objects='empty')
    with pytest.raises(FeatureFileError, match='feat_dim=3, expected 1024'):
        AVAFeatureDataset(**paths, actor_dim=1024)


def test_block_sampler():
    assert [b.tolist() for b in keyframe_blocks(7, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    s = KeyframeBlockSampler(list(range(20)), block_size=6, shuffle=True, seed=3,
                             shift_borders=False)
    epochs = []
    for e in range(3):
        s.set_epoch(e)
        idx = list(s)
        assert len(idx) == len(s) == 20 and sorted(idx) == list(range(20))
        blocks = [idx[i:i + 6] for i in range(0, 18, 6)]
        assert all(b == list(range(b[0], b[0] + 6)) and b[0] % 6 == 0 for b in blocks)
        assert idx[18:] == [18, 19]          # the short block is last: batches stay aligned
        epochs.append(idx)
    assert epochs[0] != epochs[1] or epochs[1] != epochs[2]   # reshuffled
    s.set_epoch(0)
    assert list(s) == epochs[0]                                # deterministic
    assert list(KeyframeBlockSampler(list(range(8)), 3, shuffle=False)) == list(range(8))


def consecutive_pairs(blocks):
    return {(a, a + 1) for b in blocks for a, c in zip(b, b[1:]) if c == a + 1}


def test_block_borders_move_every_epoch():
    """Authors' loader: a pair of consecutive keyframes cut apart in one epoch is linked in
    another; every epoch still yields each keyframe once, in blocks of b (the tail last)."""
    n, b = 40, 6
    s = KeyframeBlockSampler(list(range(n)), block_size=b, shuffle=True, seed=0)
    fixed = KeyframeBlockSampler(list(range(n)), block_size=b, shuffle=True, seed=0,
                                 shift_borders=False)
    offsets, linked = set(), set()
    for e in range(12):
        s.set_epoch(e)
        idx = list(s)
        assert sorted(idx) == list(range(n)) and len(idx) == len(s) == n
        off = s.border_offset(e)
        offsets.add(off)
        blocks = [idx[i:i + b] for i in range(0, n - n % b, b)] + [idx[n - n % b:]]
        # every full block is b consecutive keyframes of the order rotated by the offset
        rotated = [(i + off) % n for i in range(n)]
        starts = {rotated[i] for i in range(0, n - n % b, b)}
        assert {blk[0] for blk in blocks[:-1]} == starts
        assert all(blk == [(blk[0] + j) % n for j in range(len(blk))] for blk in blocks)
        linked |= consecutive_pairs(blocks)
    assert len(offsets) > 1
    # with fixed borders the pairs (5, 6), (11, 12), ... are never in one block; moving ones
    # link every consecutive pair in some epoch
    never = {(a, a + 1) for a in range(b - 1, n - 1, b)}
    assert not never & consecutive_pairs(fixed.epoch_blocks(0))
    assert never <= linked
    s.set_epoch(3)
    assert list(s) == list(s)   # deterministic per epoch


def test_packing_by_hand(files):
    paths, _ = files
    ds = AVAFeatureDataset(**paths, on_missing_objects='empty')
    batch = pseudo_collate([ds[0], ds[1], ds[0]])
    batch['data_samples'][2].set_metainfo(dict(video_id='v9', timestamp=12))
    out = STAGEDataPreprocessor()(batch, training=True)
    x = out['inputs']
    assert x['actor_feats'].shape == (6, 3) and x['object_feats'].shape == (4, 2)
    assert x['actor_clip'].tolist() == [0, 0, 0, 2, 2, 2]
    assert x['object_clip'].tolist() == [0, 0, 2, 2]
    assert x['clip_video'].tolist() == [0, 0, 1] and x['clip_time'].tolist() == [902, 904, 12]
    with pytest.raises(ValueError, match='actor features of different sizes'):
        pack_keyframes([dict(actor_feats=torch.ones(1, 3), actor_boxes=torch.zeros(1, 4),
                             object_feats=torch.ones(0, 2), object_boxes=torch.zeros(0, 4)),
                        dict(actor_feats=torch.ones(2, 4), actor_boxes=torch.zeros(2, 4),
                             object_feats=torch.ones(0, 2), object_boxes=torch.zeros(0, 4))],
                       ['a', 'a'], [1, 2])


def test_demo_set_through_the_dataset(demo_ava):
    root, info = demo_ava
    tr = info['train']
    ds = AVAFeatureDataset(**{k: tr[k] for k in ('ann_file', 'exclude_file', 'label_file',
                                                 'actor_file', 'object_file')},
                           actor_dim=16, object_dim=24)
    keys = [(d['video_id'], d['timestamp']) for d in map(ds.get_data_info, range(len(ds)))]
    with open(tr['ann_file']) as f:
        annotated = {tuple(line.split(',')[:2]) for line in f}
    assert keys == sorted(keys) and len(keys) == len(annotated) - 1   # one excluded
    assert ds.metainfo['class_ids'] == (6, 12, 15, 74)
    assert sum(len(ds[i]['inputs']['actor_feats']) for i in range(len(ds))) <= tr['actors']
    cached = AVAFeatureDataset(**{k: tr[k] for k in ('ann_file', 'actor_file', 'object_file')},
                               actor_dim=16, object_dim=24, cache_features=True)
    for _ in range(2):  # the second read comes from memory, unchanged
        a, b = cached[5]['inputs'], AVAFeatureDataset.__getitem__(cached, 5)['inputs']
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert list(cached._cache) == [5]


def test_authors_releases_through_the_dataset(tmp_path):
    import h5py
    ann = tmp_path / 'ann.csv'
    ann.write_text('bbb,0902,0.1,0.1,0.5,0.9,12,0\naaa,0902,0.1,0.1,0.5,0.9,12,0\n')
    (tmp_path / 'actors' / 'bbb').mkdir(parents=True)
    lab81 = np.zeros((1, 81), np.float32)
    lab81[0, 17] = 1   # the release's label, not the csv's 12
    with h5py.File(tmp_path / 'actors' / 'bbb' / '902.h5', 'w') as f:
        f['features'] = np.ones((1, 4, 2, 2, 2), np.float32)
        f['boxes'] = np.array([GT_A], np.float32)
        f['labels'] = lab81
    with h5py.File(tmp_path / 'objects.h5', 'w') as f:
        f['bbb_902_features'] = np.ones((2, 3), np.float32)
        f['bbb_902_boxes'] = np.zeros((2, 4), np.float32)
    ds = AVAFeatureDataset(ann_file=str(ann), actor_file=str(tmp_path / 'actors'),
                           object_file=str(tmp_path / 'objects.h5'), feature_format='stage-i3d',
                           actor_dim=4, object_dim=3)
    assert len(ds) == 1 and ds.skipped == {'keyframes without actor features': 1}   # aaa
    item = ds[0]
    assert torch.nonzero(item['data_samples'].gt_instances.labels[0]).flatten().tolist() == [17]
    assert item['inputs']['object_feats'].shape == (2, 3)
    # SlowFast release: clip 1 is 'bbb', the second of the sorted video ids of the csv
    with h5py.File(tmp_path / 'sf.h5', 'w') as f:
        g = f.create_group('1_902')
        g['features'], g['boxes'] = np.ones((1, 5), np.float32), np.array([GT_A], np.float32)
        g['labels'] = np.eye(80, dtype=np.float32)[[78]]   # column 78 = AVA id 79
    ds = AVAFeatureDataset(ann_file=str(ann), actor_file=str(tmp_path / 'sf.h5'),
                           object_file=str(tmp_path / 'objects.h5'),
                           feature_format='stage-slowfast', actor_dim=5, object_dim=3)
    assert [ds.get_data_info(0)['video_id']] == ['bbb']
    assert torch.nonzero(ds[0]['data_samples'].gt_instances.labels[0]).flatten().tolist() == [79]
