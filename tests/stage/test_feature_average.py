"""Averaged actor feature sets (Table 3.3, "STAGE 16x8 + 8x8", Sec. 3.3.1) on tiny hand-made files:
the dataset reads several actor files and averages the features of the same boxes."""
import re

import h5py
import numpy as np
import pytest

from vidplugins.stage.datasets import AVAFeatureDataset
from vidplugins.stage.extraction import read_proposals
from vidplugins.stage.feature_io import (FeatureFileError, MeanFeatureReader,
                                         ProjectFeatureReader, export_boxes_as_proposals,
                                         open_feature_file, write_keyframe)

BOX_A = [0.1, 0.1, 0.5, 0.9]
BOX_B = [0.6, 0.2, 0.9, 0.8]


def project_file(path, entries, dim=2):
    """entries: {(video, ts): (feats, boxes)}, all scores 1.0 (ground-truth boxes)."""
    with open_feature_file(str(path), 'actors', 'x', dim, mode='w') as f:
        for (v, t), (feats, boxes) in entries.items():
            write_keyframe(f, 'actors', v, t, np.asarray(feats, np.float32).reshape(-1, dim),
                           np.asarray(boxes, np.float32).reshape(-1, 4), [1.0] * len(boxes))
    return str(path)


@pytest.fixture
def ann(tmp_path):
    p = tmp_path / 'ann.csv'
    p.write_text('v1,0902,0.1,0.1,0.5,0.9,12,0\nv1,0902,0.6,0.2,0.9,0.8,17,1\n'
                 'v1,0903,0.1,0.1,0.5,0.9,12,0\n')
    return str(p)


def test_two_project_files_average_box_by_box(tmp_path, ann):
    a = project_file(tmp_path / 'a.h5', {('v1', 902): ([[1, 2], [3, 4]], [BOX_A, BOX_B]),
                                         ('v1', 903): ([[0, 8]], [BOX_A])})
    # box coordinates off by 1e-4 (float rounding of another extraction): within box_atol
    b = project_file(tmp_path / 'b.h5', {('v1', 902): ([[3, 6], [-3, 0]],
                                                       [np.add(BOX_A, 1e-4), BOX_B]),
                                         ('v1', 903): ([[2, 0]], [BOX_A])})
    ds = AVAFeatureDataset(ann_file=ann, actor_file=[a, b], actor_dim=2, test_mode=True)
    assert len(ds) == 2
    # (1+3)/2, (2+6)/2 ; (3-3)/2, (4+0)/2 ; (0+2)/2, (8+0)/2
    assert ds[0]['inputs']['actor_feats'].tolist() == [[2, 4], [0, 2]]
    assert ds[1]['inputs']['actor_feats'].tolist() == [[1, 4]]
    # boxes are the first file's
    assert np.allclose(ds[0]['inputs']['actor_boxes'].numpy(), [BOX_A, BOX_B])
    # one file: unchanged behaviour
    one = AVAFeatureDataset(ann_file=ann, actor_file=a, actor_dim=2, test_mode=True)
    assert one[0]['inputs']['actor_feats'].tolist() == [[1, 2], [3, 4]]


def test_slowfast_release_averaged_with_a_project_file(tmp_path, ann):
    """The Table 3.3 setting: the authors' 8x8 release (labels, clip numbers) + a project file."""
    sf = str(tmp_path / 'sf.h5')
    with h5py.File(sf, 'w') as f:    # clip 0 = v1 (the only video of the csv)
        g = f.create_group('0_902')
        g['features'] = np.array([[1, 1, 1], [2, 2, 2]], np.float32).reshape(2, 3, 1, 1, 1)
        g['boxes'] = np.array([BOX_A, BOX_B], np.float32)
        g['labels'] = np.eye(80, dtype=np.float32)[[11, 16]]   # AVA ids 12 and 17
    p = project_file(tmp_path / 'p.h5', {('v1', 902): ([[3, 5, 7], [0, 0, 4]], [BOX_A, BOX_B])},
                     dim=3)
    ds = AVAFeatureDataset(ann_file=ann, actor_file=[sf, p],
                           feature_format=['stage-slowfast', 'vidplugins'], actor_dim=3,
                           on_missing_actors='skip')
    assert len(ds) == 1 and ds.skipped == {'keyframes without actor features': 1}   # 903: none
    item = ds[0]
    assert item['inputs']['actor_feats'].tolist() == [[2, 3, 4], [1, 1, 3]]
    labels = item['data_samples'].gt_instances.labels     # the release's labels
    assert [row.nonzero().flatten().tolist() for row in labels] == [[12], [17]]


def test_mismatches_name_both_files_and_the_keyframe(tmp_path, ann):
    a = project_file(tmp_path / 'a.h5', {('v1', 902): ([[1, 2], [3, 4]], [BOX_A, BOX_B]),
                                         ('v1', 903): ([[0, 8]], [BOX_A])})
    cases = {
        'missing': ({('v1', 902): ([[1, 2], [3, 4]], [BOX_A, BOX_B])}, 2,
                    r'keyframe v1,0903 is in .*a\.h5 but not in .*b\.h5'),
        'count': ({('v1', 902): ([[1, 2]], [BOX_A]), ('v1', 903): ([[0, 8]], [BOX_A])}, 2,
                  r'a\.h5 and .*b\.h5: keyframe v1,0902: 2 vs 1 boxes'),
        'box': ({('v1', 902): ([[1, 2], [3, 4]], [BOX_A, BOX_A]),
                 ('v1', 903): ([[0, 8]], [BOX_A])}, 2,
                r'a\.h5 and .*b\.h5: keyframe v1,0902: box 1 differs'),
        'dim': ({('v1', 902): ([[1, 2, 3], [3, 4, 5]], [BOX_A, BOX_B]),
                 ('v1', 903): ([[0, 8, 0]], [BOX_A])}, 3,
                r'different feature sizes: .*a\.h5: 2, .*b\.h5: 3'),
    }
    for name, (entries, dim, msg) in cases.items():
        b = project_file(tmp_path / name / 'b.h5', entries, dim=dim)
        with pytest.raises(FeatureFileError, match=msg):
            ds = AVAFeatureDataset(ann_file=ann, actor_file=[a, b], test_mode=True)
            for i in range(len(ds)):
                ds[i]
    with pytest.raises(ValueError, match='2 format.*3 actor file'):
        AVAFeatureDataset(ann_file=ann, actor_file=[a, a, a], feature_format=['vidplugins'] * 2)


def test_feature_size_mismatch_inside_entries_names_both_files(tmp_path):
    """Readers without a file-level feature size (the authors' releases) are checked per entry."""
    a = project_file(tmp_path / 'a.h5', {('v1', 902): ([[1, 2]], [BOX_A])})
    sf = str(tmp_path / 'sf.h5')
    with h5py.File(sf, 'w') as f:
        g = f.create_group('0_902')
        g['features'], g['boxes'] = np.ones((1, 3), np.float32), np.array([BOX_A], np.float32)
        g['labels'] = np.zeros((1, 80), np.float32)
    from vidplugins.stage.feature_io import StageSlowFastReader
    r = MeanFeatureReader([ProjectFeatureReader(a), StageSlowFastReader(sf, ['v1'], None)])
    with pytest.raises(FeatureFileError,
                       match=re.escape(f'{a} and {sf}: keyframe v1,0902: feature size 2 vs 3')):
        r.read('v1', 902)


def test_export_boxes_keeps_the_box_order(tmp_path):
    """Boxes of one set exported as proposals, to extract another backbone on the same boxes."""
    a = project_file(tmp_path / 'a.h5', {('v1', 902): ([[1, 2], [3, 4]], [BOX_B, BOX_A]),
                                         ('v2', 1000): (np.zeros((0, 2)), np.zeros((0, 4)))})
    out = str(tmp_path / 'boxes.pkl')
    assert export_boxes_as_proposals(ProjectFeatureReader(a), out) == 2
    props = read_proposals(out)
    assert np.allclose(props[('v1', 902)], [BOX_B + [1.0], BOX_A + [1.0]])
    assert props[('v2', 1000)].shape == (0, 5)


def test_export_feature_boxes_tool(tmp_path):
    """The command-line tool writes the same proposal pkl; the SlowFast release needs --ann-file."""
    import subprocess
    import sys

    from tests.conftest import REPO
    a = project_file(tmp_path / 'a.h5', {('v1', 902): ([[1, 2], [3, 4]], [BOX_B, BOX_A])})
    out = str(tmp_path / 'boxes.pkl')
    tool = 'tools/data/ava/export_feature_boxes.py'
    p = subprocess.run([sys.executable, tool, a, '--out', out], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert '1 keyframes written' in p.stdout
    assert np.allclose(read_proposals(out)[('v1', 902)], [BOX_B + [1.0], BOX_A + [1.0]])
    p = subprocess.run([sys.executable, tool, a, '--format', 'stage-slowfast', '--out', out],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and '--ann-file' in p.stderr
