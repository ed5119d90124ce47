"""The real SoccerNet label files and game lists (../shared/data; skipped when absent)."""
import zipfile
from collections import Counter

import pytest

from tests.conftest import shared
from vidplugins.soccernet import CLASSES_V2, read_game_list, read_labels


def test_real_v2_label_file_parses():
    path = shared('soccernet', 'Labels-v2_ManUtd-Arsenal_2015-05-17.json')
    events = read_labels(path, version=2)
    assert len(events) == 173                           # every annotation is a v2 class
    assert len({e.label for e in events}) == 14         # 14 of the 17 classes occur
    assert {e.half for e in events} == {1, 2}
    assert any(not e.visible for e in events)           # "not shown" events exist
    # Frames follow the evaluator: int(2 * position_ms / 1000).
    assert all(e.frame == int(2 * e.position_ms / 1000) for e in events)
    assert all(CLASSES_V2[e.label] == e.raw_label for e in events)


def test_all_500_real_v1_label_files_and_official_splits(tmp_path):
    archive = shared('soccernet', 'soccernet_v1_Labels_500games_rmsnet.zip')
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path)
    splits = {name: read_game_list(str(tmp_path / 'listgame_dir' / f'listgame_{name}.npy'))
              for name in ('Train_300', 'Valid_100', 'Test_100')}
    assert [len(v) for v in splits.values()] == [300, 100, 100]
    counts, n = Counter(), 0
    for games in splits.values():
        for game in games:
            events = read_labels(str(tmp_path / 'annotation_dir' / game / 'Labels.json'), 1)
            counts.update(e.label for e in events)
            n += len(events)
    # 6,689 annotations minus the 52 "penalty-missed", which are no v1 class.
    assert n == 6689 - 52
    assert counts == Counter({0: 2045 + 54 + 46, 1: 2849, 2: 1603 + 40})


def test_v2_game_lists_from_the_soccernet_package(tmp_path):
    """tools/data/soccernet/make_game_lists.py writes the official v2 splits (300/100/100/50)."""
    import json
    import os.path as osp
    import subprocess
    import sys
    pytest.importorskip('SoccerNet.utils', reason='the SoccerNet package holds the v2 lists')
    from tests.conftest import REPO
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'data', 'soccernet',
                                             'make_game_lists.py'), str(tmp_path)], check=True,
                   capture_output=True)
    sizes = {split: len(read_game_list(str(tmp_path / f'listgame_v2_{split}.json')))
             for split in ('train', 'valid', 'test', 'challenge')}
    assert sizes == dict(train=300, valid=100, test=100, challenge=50)
    train = json.load(open(tmp_path / 'listgame_v2_train.json'))
    assert all(g.count('/') == 2 for g in train)          # league/season/game
