"""AVA annotation files: the real label map, csv excerpt and excluded timestamps parse."""
import numpy as np
import pytest

from tests.conftest import shared
from vidplugins.stage.ava import (AnnotationFileError, action_groups, group_actors,
                                  read_ava_csv, read_ava_ground_truth, read_excluded,
                                  read_label_map)


def test_official_label_map_has_the_60_classes_and_the_groups_of_table_3_4():
    labels = read_label_map(shared('ava', 'ava_action_list_v2.1_for_activitynet_2018.pbtxt'))
    assert len(labels) == 60
    assert labels[12] == 'stand' and labels[80] == 'watch (a person)'
    groups = action_groups(labels)
    assert {k: len(v) for k, v in groups.items()} == {'pose': 13, 'person_object': 32,
                                                      'person_person': 15}
    assert 2 not in labels and 2 not in groups['pose']  # crawl: not evaluated


def test_mmaction2_text_label_map_is_the_same():
    pbtxt = read_label_map(shared('ava', 'ava_action_list_v2.1_for_activitynet_2018.pbtxt'))
    assert read_label_map(shared('ava', 'mmaction2_ava_label_map.txt')) == pbtxt


def test_real_csv_excerpt_groups_rows_into_actors():
    gt = read_ava_ground_truth(shared('ava', 'ava_val_v2.2_excerpt_1j20qq1JyX4_0902-0960.csv'))
    assert len(gt) == 59 and min(gt)[1] == 902 and max(gt)[1] == 960
    boxes, labels = gt[('1j20qq1JyX4', 902)]
    # rows: person 1 at (0.002, 0.118, ...) stand + talk to; person 0: stand, carry, talk to
    assert labels.shape == (2, 81)
    by_x1 = {round(float(b[0]), 3): set(np.flatnonzero(lab)) for b, lab in zip(boxes, labels)}
    assert by_x1 == {0.002: {12, 79}, 0.444: {12, 17, 79}}
    rows = read_ava_csv(shared('ava', 'ava_val_v2.2_excerpt_1j20qq1JyX4_0902-0960.csv'))
    assert sum(len(r[1]) for r in rows.values()) == 221


def test_excluded_timestamps_and_exclusion_from_ground_truth():
    excluded = read_excluded(shared('ava', 'mmaction2_tests_ava_excluded_timestamps_sample.csv'))
    assert excluded == {('0f39OWEqJ24', 903), ('_-Z6wFjXtGQ', 902)}
    gt = read_ava_ground_truth(shared('ava', 'mmaction2_tests_ava_sample.csv'), excluded=excluded)
    assert list(gt) == [('0f39OWEqJ24', 902)]


def test_group_actors_by_hand():
    boxes = np.array([[0, 0, .5, .5], [.5, .5, 1, 1], [0, 0, .5, .5]], np.float32)
    b, multi = group_actors(boxes, np.array([12, 80, 17]), num_classes=81)
    assert b.tolist() == [[0, 0, .5, .5], [.5, .5, 1, 1]]
    assert [list(np.flatnonzero(m)) for m in multi] == [[12, 17], [80]]
    _, single = group_actors(boxes, np.array([3, 5, 4]), num_classes=22, multilabel=False)
    assert single.tolist() == [3, 5]   # one label per actor: its first row
    with pytest.raises(ValueError, match='1..21'):
        group_actors(boxes, np.array([3, 22, 4]), num_classes=22)


def test_bad_files_name_the_file(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('vid,0902,0.1,0.1\n')
    with pytest.raises(AnnotationFileError, match='bad.csv'):
        read_ava_csv(str(bad))
    with pytest.raises(AnnotationFileError, match='missing.csv: AVA csv not found'):
        read_ava_csv(str(tmp_path / 'missing.csv'))
    lm = tmp_path / 'labels.txt'
    lm.write_text('1: walk\nrun\n')
    with pytest.raises(AnnotationFileError, match='labels.txt: line 2'):
        read_label_map(str(lm))
