"""Ground-truth actor boxes never reach validation / test predictions (issue: features extracted
with ``--ann-file`` hold them with score 1.0), unless a config asks for the ground-truth-box
experiment (Sec. 3.3.2); shards of an extraction; the J-HMDB-21 split average."""
import glob
import json
import os
import os.path as osp
import runpy

import h5py
import numpy as np
import pytest

from vidplugins.stage.datasets import AVAFeatureDataset
from vidplugins.stage.ensemble import average_split_metrics, read_metrics
from vidplugins.stage.extraction import (ExtractionInputError, actor_keyframes, parse_shard,
                                         shard_keyframes)
from vidplugins.stage.feature_io import (FeatureFileError, ProjectFeatureReader,
                                         merge_feature_files, open_feature_file, write_keyframe)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GT = [0.1, 0.1, 0.5, 0.9]
DET = [0.11, 0.1, 0.5, 0.9]     # the same person, detected (IoU 0.975)
FP = [0.6, 0.1, 0.9, 0.5]       # a detection matching nobody


@pytest.fixture
def marked(tmp_path):
    """Val features as extract_actor_features.py --ann-file writes them: GT first (score 1.0,
    is_gt), then the detections."""
    ann = tmp_path / 'val.csv'
    ann.write_text('v,0902,0.1,0.1,0.5,0.9,12,0\n')
    path = str(tmp_path / 'val_actors.h5')
    with open_feature_file(path, 'actors', 'x', 2, mode='w', split='val') as f:
        write_keyframe(f, 'actors', 'v', 902, [[1, 0], [0, 1], [1, 1]], [GT, DET, FP],
                       [1.0, 0.95, 0.9], is_gt=[True, False, False])
    return str(ann), path


def dataset(ann, path, **kw):
    return AVAFeatureDataset(ann_file=ann, actor_file=path, actor_dim=2,
                             assigner=dict(det_score_thr=0.7), **kw)


def test_marks_are_written_and_read(marked):
    _, path = marked
    reader = ProjectFeatureReader(path, 'actors')
    assert reader.version == 2 and reader.split == 'val' and reader.marks_gt
    assert reader.read('v', 902)['is_gt'].tolist() == [True, False, False]
    with h5py.File(path, 'r') as f:
        assert f['v/0902/is_gt'].dtype == np.uint8


def test_test_mode_drops_the_ground_truth_boxes(marked):
    ann, path = marked
    item = dataset(ann, path, test_mode=True)[0]
    # before the fix the score-1.0 GT box was kept: 3 actors, one a perfect box
    np.testing.assert_allclose(item['inputs']['actor_boxes'].numpy(), [DET, FP])


def test_ground_truth_experiment_keeps_only_the_marked_boxes(marked):
    ann, path = marked
    item = dataset(ann, path, test_mode=True, test_boxes='ground_truth')[0]
    np.testing.assert_allclose(item['inputs']['actor_boxes'].numpy(), [GT])
    item = dataset(ann, path, test_mode=True, test_boxes='all')[0]
    assert len(item['inputs']['actor_boxes']) == 3


def test_training_uses_the_ground_truth_boxes(marked):
    ann, path = marked
    item = dataset(ann, path)[0]
    assert len(item['inputs']['actor_boxes']) == 3
    labels = item['data_samples'].gt_instances.labels
    assert labels[:, 12].tolist() == [1, 1, 0]


def test_unmarked_version_1_files_are_refused_at_test_time(marked, tmp_path):
    ann, path = marked
    with h5py.File(path, 'a') as f:   # what the previous tool wrote: no marks, version 1
        f.attrs['version'] = 1
        del f['v/0902/is_gt']
    assert len(dataset(ann, path)[0]['inputs']['actor_boxes']) == 3   # training: fine
    with pytest.raises(FeatureFileError, match='does not mark ground-truth boxes'):
        dataset(ann, path, test_mode=True)
    assert len(dataset(ann, path, test_mode=True, test_boxes='all')[0]['inputs'][
        'actor_boxes']) == 3
    with pytest.raises(FeatureFileError, match='version'):   # no resume into a v1 file
        open_feature_file(path, 'actors', 'x', 2)
    with pytest.raises(ValueError, match='test_boxes'):
        dataset(ann, path, test_boxes='gt')


def test_gt_boxes_config_is_the_only_one_that_tests_on_them():
    from mmengine.config import Config
    for p in glob.glob(osp.join(REPO, 'configs', 'stage', '*.py')):
        cfg = Config.fromfile(p)
        for key in ('val_dataloader', 'test_dataloader'):
            want = 'ground_truth' if p.endswith('_gt-boxes_ava21.py') else 'detections'
            assert cfg[key].dataset.get('test_boxes', 'detections') == want, p


def test_keyframes_of_the_tool_mark_the_csv_boxes(tmp_path):
    import pickle
    csv = tmp_path / 'gt.csv'
    csv.write_text('v,0902,0.1,0.1,0.5,0.9,12,0\n')
    pkl = tmp_path / 'dets.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump({'v,0902': np.array([DET + [0.95], FP + [0.5]])}, f)
    boxes, scores, is_gt = actor_keyframes(str(csv), str(pkl))[('v', 902)]
    assert is_gt.tolist() == [True, False, False] and scores.tolist()[0] == 1.0


def test_actor_tool_requires_and_reports_the_split(capsys):
    tool = runpy.run_path(osp.join(REPO, 'tools', 'data', 'ava', 'extract_actor_features.py'))
    with pytest.raises(SystemExit):
        tool['parse_args'](['c.py', 'k.pth', '--video-dir', 'x', '--out', 'o.h5'])
    assert '--split' in capsys.readouterr().err
    args = tool['parse_args'](['c.py', 'k.pth', '--video-dir', 'x', '--out', 'o.h5',
                               '--split', 'val', '--shard', '1/4'])
    assert args.split == 'val' and args.shard == '1/4'


# ------------------------------------------------------------------------------------ shards
def test_shards_partition_the_keyframes_by_video():
    keys = [(f'v{v}', t) for v in range(7) for t in range(900, 903)]
    shards = [shard_keyframes(keys, k, 3) for k in range(3)]
    assert sorted(sum(shards, [])) == sorted(keys)                 # each keyframe once
    videos = [{v for v, _ in s} for s in shards]
    assert not (videos[0] & videos[1]) and not (videos[1] & videos[2])
    assert [len(v) for v in videos] == [3, 2, 2]                   # v0, v3, v6 / v1, v4 / ...
    assert shard_keyframes(list(reversed(keys)), 1, 3) == shards[1]   # deterministic
    assert parse_shard('2/8') == (2, 8) and parse_shard(None) == (0, 1)
    for bad in ('8/8', '1-8', '-1/2', '0/0'):
        with pytest.raises(ExtractionInputError, match='--shard'):
            parse_shard(bad)


def test_merge_shard_files(tmp_path):
    paths = []
    for k, vids in enumerate((['a', 'c'], ['b'])):
        p = str(tmp_path / f'shard{k}.h5')
        with open_feature_file(p, 'actors', 'x', 2, mode='w', split='train') as f:
            for v in vids:
                write_keyframe(f, 'actors', v, 902, [[k, 1.0]], [GT], [1.0], is_gt=[True])
        paths.append(p)
    out = str(tmp_path / 'merged.h5')
    tool = runpy.run_path(osp.join(REPO, 'tools', 'data', 'ava', 'merge_feature_shards.py'))
    tool['main']([out] + paths)
    reader = ProjectFeatureReader(out, 'actors')
    assert reader.keys() == [('a', 902), ('b', 902), ('c', 902)]
    assert reader.read('b', 902)['feats'].tolist() == [[1.0, 1.0]]
    assert reader.read('c', 902)['is_gt'].tolist() == [True] and reader.split == 'train'
    assert os.stat(out).st_mode & 0o777 == 0o644
    with pytest.raises(FeatureFileError, match='keyframe a/0902 is in'):
        merge_feature_files(str(tmp_path / 'dup.h5'), [paths[0], paths[0]])
    other = str(tmp_path / 'other.h5')
    with open_feature_file(other, 'actors', 'x', 2, mode='w', split='val') as f:
        write_keyframe(f, 'actors', 'z', 902, [[0.0, 1.0]], [GT], [1.0])
    with pytest.raises(FeatureFileError, match=r"attributes \['split'\] differ"):
        merge_feature_files(str(tmp_path / 'mix.h5'), [paths[0], other])


# ------------------------------------------------------------------------------ split average
def test_average_of_the_three_jhmdb_splits(tmp_path, capsys):
    files = []
    for s, (m, t) in enumerate([(0.70, 0.5), (0.74, 0.6), (0.78, 0.7)], 1):
        p = tmp_path / f'split{s}.json'
        if s == 2:   # a JSON-lines log: the last line with metrics counts
            p.write_text(json.dumps({'lr': 1e-5, 'step': 3}) + '\n' +
                         json.dumps({'mAP/frame_mAP': m, 'mAP/x': t, 'step': 4}) + '\n')
        else:
            p.write_text(json.dumps({'mAP/frame_mAP': m, 'mAP/x': t}))
        files.append(str(p))
    tool = runpy.run_path(osp.join(REPO, 'tools', 'analysis', 'average_splits.py'))
    mean = tool['main'](files + ['--out', str(tmp_path / 'mean.json')])
    assert mean == pytest.approx({'mAP/frame_mAP': 0.74, 'mAP/x': 0.6})
    assert 'mean of 3 splits: mAP/frame_mAP 0.7400' in capsys.readouterr().out
    assert json.loads((tmp_path / 'mean.json').read_text())['mean']['mAP/frame_mAP'] == \
        pytest.approx(0.74)
    with pytest.raises(ValueError, match=r"s2: metrics \['a/c'\] differ"):
        average_split_metrics([{'a/b': 1.0}, {'a/b': 2.0}, {'a/c': 1.0}], ['s0', 's1', 's2'])
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1.0}')
    with pytest.raises(ValueError, match='bad.json: no metric'):
        read_metrics(str(bad))


def test_split_configs_read_only_their_split():
    from mmengine.config import Config
    for bb in ('amtnet', 'action-tubes'):
        for split in (1, 2, 3):
            name = f'stage_{bb}_jhmdb21' + ('' if split == 1 else f'-split{split}')
            cfg = Config.fromfile(osp.join(REPO, 'configs', 'stage', name + '.py'))
            paths = [cfg.train_dataloader.dataset.ann_file,
                     cfg.train_dataloader.dataset.actor_file,
                     cfg.val_dataloader.dataset.ann_file, cfg.val_dataloader.dataset.actor_file,
                     cfg.test_dataloader.dataset.ann_file, cfg.val_evaluator.ann_file,
                     cfg.test_evaluator.ann_file]
            for p in paths:
                assert f'split{split}' in p and not any(
                    f'split{o}' in p for o in (1, 2, 3) if o != split), (name, p)
            assert 'train' in paths[0] and 'test' in paths[2]
