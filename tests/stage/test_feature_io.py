"""Feature files: the project format round trip, the authors' two releases, bad input."""
import h5py
import numpy as np
import pytest

from vidplugins.stage.feature_io import (FeatureFileError, ProjectFeatureReader,
                                         StageI3DActorReader, StageObjectReader,
                                         StageSlowFastReader, build_reader, open_feature_file,
                                         write_keyframe)


def test_project_format_round_trip_and_empty_keyframe(tmp_path):
    path = str(tmp_path / 'actors.h5')
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    boxes = np.array([[0, 0, .5, .5], [.2, .2, .4, .9], [.5, .5, 1, 1]], np.float32)
    with open_feature_file(path, 'actors', 'i3d', 4, mode='w') as f:
        write_keyframe(f, 'actors', 'vidA', 902, feats, boxes, [1.0, 0.9, 0.3])
        write_keyframe(f, 'actors', 'vidA', 903, np.zeros((0, 4)), np.zeros((0, 4)), [])
    with h5py.File(path) as f:
        assert f.attrs['format'] == 'vidplugins-stage-features' and f.attrs['feat_dim'] == 4
        assert sorted(f['vidA']) == ['0902', '0903']
    r = ProjectFeatureReader(path, kind='actors', feat_dim=4)
    assert r.keys() == [('vidA', 902), ('vidA', 903)]
    kf = r.read('vidA', 902)
    np.testing.assert_array_equal(kf['feats'], feats)
    np.testing.assert_allclose(kf['scores'], [1.0, 0.9, 0.3])
    empty = r.read('vidA', 903)
    assert empty['feats'].shape == (0, 4) and empty['boxes'].shape == (0, 4)
    with pytest.raises(FeatureFileError, match=r'actors.h5: no entry for keyframe vidA/0904'):
        r.read('vidA', 904)
    with pytest.raises(FeatureFileError, match='feat_dim=4, expected 8'):
        ProjectFeatureReader(path, feat_dim=8)
    with pytest.raises(FeatureFileError, match="kind='actors', expected 'objects'"):
        ProjectFeatureReader(path, kind='objects')


def test_resume_refuses_other_features_and_writer_checks_shapes(tmp_path):
    path = str(tmp_path / 'objects.h5')
    with open_feature_file(path, 'objects', 'vg', 3, mode='w') as f:
        write_keyframe(f, 'objects', 'v', 1, np.ones((2, 3)), np.zeros((2, 4)), [.5, .6],
                       labels=[4, 7])
        with pytest.raises(FeatureFileError, match=r'v/0002/feats: feature size 5 != expected 3'):
            write_keyframe(f, 'objects', 'v', 2, np.ones((2, 5)), np.zeros((2, 4)), [.5, .6])
        with pytest.raises(FeatureFileError, match=r'v/0002/scores: expected \(2,\)'):
            write_keyframe(f, 'objects', 'v', 2, np.ones((2, 3)), np.zeros((2, 4)), [.5])
        with pytest.raises(FeatureFileError, match=r'v/0002/feats: 1 row\(s\) with NaN'):
            write_keyframe(f, 'objects', 'v', 2, [[1, np.nan, 0], [0, 0, 0]],
                           np.zeros((2, 4)), [.5, .6])
    with pytest.raises(FeatureFileError, match='backbone'):
        open_feature_file(path, 'objects', 'other', 3)
    assert ProjectFeatureReader(path).read('v', 1)['labels'].tolist() == [4, 7]


def test_nan_in_a_stored_entry_names_file_and_key(tmp_path):
    path = str(tmp_path / 'a.h5')
    with open_feature_file(path, 'actors', 'x', 2, mode='w') as f:
        write_keyframe(f, 'actors', 'v', 7, np.ones((1, 2)), np.zeros((1, 4)), [1.0])
        f['v/0007/feats'][0, 1] = np.nan  # corrupted after writing
    with pytest.raises(FeatureFileError, match=r'a.h5: v/0007/feats: 1 row\(s\) with NaN'):
        ProjectFeatureReader(path).read('v', 7)


def test_authors_i3d_release(tmp_path):
    d = tmp_path / 'actors_train' / '-5KQ66BBWC4'
    d.mkdir(parents=True)
    feats = np.arange(2 * 3 * 2 * 1 * 2, dtype=np.float32).reshape(2, 3, 2, 1, 2)  # N,D,t,h,w
    labels = np.zeros((2, 81), np.float32)
    labels[0, [0, 12]] = 1
    with h5py.File(d / '0902.h5', 'w') as f:
        f['features'], f['boxes'], f['labels'] = feats, np.zeros((2, 4), np.float32), labels
    r = StageI3DActorReader(str(tmp_path / 'actors_train'), feat_dim=3)
    assert r.keys() == [('-5KQ66BBWC4', 902)]
    kf = r.read('-5KQ66BBWC4', 902)
    # average over t, h, w (Sec. 3.2.2): feature 0 of actor 0 = mean(0, 1, 2, 3) = 1.5
    np.testing.assert_allclose(kf['feats'][0], [1.5, 5.5, 9.5])
    assert kf['gt_labels'].shape == (2, 81) and kf['scores'].tolist() == [1.0, 1.0]
    objects = tmp_path / 'objects.h5'
    with h5py.File(objects, 'w') as f:  # official key: timestamp without leading zeros
        f['-5KQ66BBWC4_902_features'] = np.ones((3, 5), np.float32)
        f['-5KQ66BBWC4_902_boxes'] = np.zeros((3, 4), np.float32)
        f['-5KQ66BBWC4_902_cls_prob'] = np.array([[.1, .9], [.8, .2], [.3, .7]], np.float32)
    o = StageObjectReader(str(objects), feat_dim=5)
    ob = o.read('-5KQ66BBWC4', 902)
    assert ob['labels'].tolist() == [1, 0, 1]
    np.testing.assert_allclose(ob['scores'], [.9, .8, .7])
    with pytest.raises(FeatureFileError, match='objects.h5: missing key -5KQ66BBWC4_903_features'):
        o.read('-5KQ66BBWC4', 903)


def test_authors_slowfast_release_numbers_clips_by_the_video_list(tmp_path):
    path = str(tmp_path / 'ava2.1_val.h5')
    with h5py.File(path, 'w') as f:
        g = f.create_group('1_902')
        g['features'] = np.ones((2, 6), np.float32)
        g['boxes'] = np.zeros((2, 4), np.float32)
        lab = np.zeros((2, 80), np.float32)
        lab[1, 11] = 1  # column 11 of 80 = AVA id 12
        g['labels'] = lab
    r = build_reader('stage-slowfast', 'actors', path, feat_dim=6, video_list=['aaa', 'bbb'])
    assert isinstance(r, StageSlowFastReader)
    assert r.keys() == [('bbb', 902)]
    kf = r.read('bbb', 902)
    assert kf['gt_labels'].shape == (2, 81) and np.flatnonzero(kf['gt_labels'][1]).tolist() == [12]
    with pytest.raises(FeatureFileError, match="video 'ccc' is not in the video list"):
        r.read('ccc', 902)
    with pytest.raises(FeatureFileError, match='feature size 6 != expected 2304'):
        build_reader('stage-slowfast', 'actors', path, 2304, video_list=['aaa', 'bbb']).read(
            'bbb', 902)
