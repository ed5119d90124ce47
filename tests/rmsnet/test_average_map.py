"""SoccerNet action-spotting Average-mAP (thesis Sec. 4.2.1): hand-computed cases, tie-breaking
and overlapping windows, agreement with the official evaluator, the CLI and bad input."""
import contextlib
import io
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from vidplugins.soccernet.evaluation import (SpotArrays, average_map, evaluate_folders,
                                          load_ground_truth, load_predictions)
from vidplugins.soccernet.evaluation.average_map import (_ground_truth_columns_fast,
                                                      _numeric_strings,
                                                      _prediction_columns_checked,
                                                      _prediction_columns_fast, _threshold_bins)
from vidplugins.soccernet import CLASSES_V1, CLASSES_V2, LabelFileError, format_game_time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
N = 120 * 60 * 2  # frames per half at 2 fps


def spots(frames, labels, values):
    return SpotArrays(np.asarray(frames, np.int64), np.asarray(labels, np.int64),
                      np.asarray(values, np.float64))


def one_class(gt, preds, deltas_s=(2, )):
    """Average-mAP of one class in one half. gt: [(frame, +-1)], preds: [(frame, score)]."""
    gt_halves = [spots([f for f, _ in gt], [0] * len(gt), [v for _, v in gt])]
    pred_halves = [spots([f for f, _ in preds], [0] * len(preds), [s for _, s in preds])]
    return average_map(gt_halves, pred_halves, 1, deltas_s)


# ---------------------------------------------------------------- hand-computed
def test_tiny_case_by_hand():
    # delta = 2 s = 4 frames: a prediction matches an event within |diff| <= 2 frames.
    # Events: 10 (visible), 30 (visible), 50 (not shown). Predictions (frame: score):
    # 11: .9, 12: .9, 29: .4, 80: .7.
    # Matching: event 10 sees 11 and 12 (equal scores): the earlier, 11, wins. Event 30 takes 29.
    # Event 50 sees nothing. TP = {11, 29}.
    # Closest event: 10 owns frames [0, 20), 30 owns [20, 40), 50 owns [40, end): 11, 12, 29 are
    # "visible" predictions, 80 an "unshown" one.
    # All (3 events): threshold <= .4: 2 TP / 4 det, recall 2/3; (.4, .7]: 1/3, r 1/3;
    # (.7, .9]: 1/2, r 1/3; > .9: nothing (p = r = 0). 11-point AP: precision .5 is reached
    # at recall 2/3 >= 0, .1, ..., .6 (7 levels), none at .7 .. 1: AP = 7 * .5 / 11.
    # Visible (2 events; predictions 11, 12, 29): <= .4: 2/3 precision at recall 1, so all 11
    # levels get 2/3: AP = 2/3. Unshown (1 event; prediction 80, not a TP): AP = 0.
    # With a single tolerance the results are that tolerance's mAP (no 17/13 factor).
    r = one_class([(10, 1), (30, 1), (50, -1)], [(11, .9), (12, .9), (29, .4), (80, .7)])
    assert r['a_mAP'] == pytest.approx(3.5 / 11, abs=1e-12)
    assert r['a_mAP_per_class'] == pytest.approx([3.5 / 11], abs=1e-12)
    assert r['a_mAP_visible'] == pytest.approx(2 / 3, abs=1e-12)
    assert r['a_mAP_unshown'] == 0.0
    assert r['mAP_per_delta'] == [r['a_mAP']]


def test_trapezoid_and_unshown_scale():
    # Event 10 (not shown) and one prediction at 13 (score 1): |diff| = 3 frames, a miss at
    # delta 2 s (radius 2 frames), a hit at delta 3 s (radius 3). mAP per delta: 0 then 1, so the
    # Average-mAP is the trapezoid (0 + 1) / 2 = .5; unshown is scaled by 17/13 upstream.
    r = one_class([(10, -1)], [(13, 1.0)], deltas_s=(2, 3))
    assert r['mAP_per_delta'] == [0.0, 1.0]
    assert r['a_mAP'] == 0.5
    assert r['a_mAP_unshown'] == pytest.approx(0.5 * 17 / 13, abs=1e-15)
    assert r['a_mAP_visible'] == 0.0  # no visible event: recall 0 everywhere


# ---------------------------------------------------------------- tie-breaking and chains
def test_chain_of_overlapping_windows_is_sequential():
    # Radius 2 frames. Events 10, 13, 16 have pairwise overlapping windows [8, 12], [11, 15],
    # [14, 18]. Predictions 12: .9, 14: .8, 15: .1. Event 10 takes 12; event 13 would take 12 too
    # but it is gone, so it takes 14; event 16 then only has 15. All three events are found and all
    # predictions are TP: AP = 1. Matching the events independently would find only 2 of them.
    r = one_class([(10, 1), (13, 1), (16, 1)], [(12, .9), (14, .8), (15, .1)])
    assert r['a_mAP'] == 1.0


def test_equal_scores_earliest_frame_wins():
    # Event 20 sees 19 and 21 with equal scores and takes 19 (the earliest), leaving 21 to event
    # 23 (window [21, 25]): 2 TP, AP = 1. Taking 21 first would leave event 23 without a match
    # (precision 1/2 at recall 1/2: AP = 6 * .5 / 11).
    assert one_class([(20, 1), (23, 1)], [(19, .5), (21, .5)])['a_mAP'] == 1.0
    # A strictly higher score beats an earlier frame: event 20 takes 21 (.6), event 23 gets
    # nothing (19 is out of its window): 1 TP of 2 predictions; recall 1/2.
    # Thresholds <= .5: p 1/2, r 1/2; (.5, .6]: p 1, r 1/2: AP = 6 * 1 / 11.
    r = one_class([(20, 1), (23, 1)], [(19, .5), (21, .6)])
    assert r['a_mAP'] == pytest.approx(6 / 11, abs=1e-12)


def test_closest_event_midpoint_quirk():
    # Events 10 (visible) and 13 (not shown): upstream splits at floor((10 + 13) / 2) = 11, so a
    # prediction at frame 11, nearer to 10, still takes the visibility of 13 ("unshown").
    # Delta 1 s = 2 frames (|diff| <= 1): prediction 11 matches event 10, a TP that counts in the
    # unshown curve only.
    r = one_class([(10, 1), (13, -1)], [(11, .8)], deltas_s=(1, ))
    # Unshown: 1 TP / 1 detection, recall 1 over the 1 not-shown event: AP 1.
    assert r['a_mAP_unshown'] == 1.0
    # Visible: no visible prediction: precision 0 everywhere.
    assert r['a_mAP_visible'] == 0.0


def test_prediction_of_a_class_without_events_is_unshown():
    # Class 0 has an event in the half, class 1 none: class 1's prediction counts as "unshown"
    # (upstream's default closest value is -1), class 0's as visible.
    gt = [spots([100], [0], [1])]
    pred = [spots([100, 500], [0, 1], [.9, .9])]
    r = average_map(gt, pred, 2, (5, ))
    assert r['a_mAP_per_class_visible'] == [1.0, 0.0]
    # Unshown: class 1 has 1 detection, 0 TP, and no not-shown event: AP 0 for both classes.
    assert r['a_mAP_per_class_unshown'] == [0.0, 0.0]


def test_threshold_bins_match_binary_search():
    thresholds = np.linspace(0, 1, 200)
    scores = np.concatenate([thresholds, np.nextafter(thresholds, 2),
                             np.nextafter(thresholds[1:], -1),
                             np.random.default_rng(0).random(10000), [1.5, 1e300, 5e-324]])
    assert (_threshold_bins(scores) == np.searchsorted(thresholds, scores, 'right')).all()


def test_from_entries_last_written_wins_and_clips():
    s = SpotArrays.from_entries([5, 5, N - 1, N + 40], [0, 0, 1, 1], [.1, .7, .2, .3], N)
    assert s.frames.tolist() == [5, N - 1] and s.labels.tolist() == [0, 1]
    assert s.values.tolist() == [.7, .3]  # (N-1, 1) was written last by the clipped entry


# ---------------------------------------------------------------- files
def write_json(path, obj):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def random_game(rng, version):
    """(annotations, predictions) of one game with the corner cases the evaluator must mirror."""
    v1_raw = ('yellow-card', 'red-card', 'substitution-in', 'soccer-ball', 'soccer-ball-own',
              'penalty-missed')
    gt_names = list(CLASSES_V2) + ['Not a class'] if version == 2 else list(v1_raw)
    pred_names = list(CLASSES_V2) + ['Not a class'] if version == 2 else list(CLASSES_V1)
    annotations, predictions = [], []
    for half in (1, 2):
        # Events crowd a few classes so that windows overlap; some beyond 45 min and 2 hours.
        positions = np.concatenate([rng.integers(0, 300_000, 25), rng.integers(0, 3_000_000, 10),
                                    [7_199_900, 7_300_000]])
        for pos in positions.tolist():
            label = gt_names[int(rng.integers(3))] if rng.random() < .6 else \
                gt_names[int(rng.integers(len(gt_names)))]
            ann = {'gameTime': format_game_time(half, pos), 'label': label}
            if version == 2 or rng.random() < .5:  # v1 style: second precision only
                ann['position'] = str(pos) if rng.random() < .5 else pos
            if rng.random() < .3:
                ann['visibility'] = 'not shown' if rng.random() < .6 else 'visible'
            annotations.append(ann)
        annotations.append(dict(annotations[-3]))  # a duplicate
        for pos in np.concatenate([rng.integers(0, 310_000, 150), [7_400_000, 7_199_999]]).tolist():
            score = float(rng.choice([rng.random(), round(rng.random(), 1), -0.5, 0.0, 1.0, 1.2,
                                      float(np.linspace(0, 1, 200)[int(rng.integers(200))])]))
            # null: upstream's float grid stores NaN, which no threshold reaches.
            confidence = None if rng.random() < .02 else \
                repr(score) if rng.random() < .5 else score
            predictions.append({
                'gameTime': format_game_time(half, pos),
                'label': pred_names[int(rng.integers(3))] if rng.random() < .7 else
                pred_names[int(rng.integers(len(pred_names)))],
                'position': str(pos) if rng.random() < .7 else pos,
                'half': str(half) if rng.random() < .7 else half,
                'confidence': confidence})
        # Same cell written twice (last wins), and a half upstream ignores.
        predictions.append(dict(predictions[-5], confidence='0.05'))
        predictions.append(dict(predictions[-7], confidence=-1))
        predictions.append(dict(predictions[-1], half='3', confidence='0.99'))
    return annotations, predictions


def write_random_tree(root, version, games, seed):
    rng = np.random.default_rng(seed)
    labels_dir, preds_dir = osp.join(root, 'labels'), osp.join(root, 'preds')
    label_file = 'Labels-v2.json' if version == 2 else 'Labels.json'
    for g in range(games):
        game = osp.join('league', f'season-{g % 2}', f'game {g}')
        annotations, predictions = random_game(rng, version)
        write_json(osp.join(labels_dir, game, label_file), {'annotations': annotations})
        write_json(osp.join(preds_dir, game, 'results_spotting.json'),
                   {'UrlLocal': game, 'predictions': predictions})
    return labels_dir, preds_dir


@pytest.mark.parametrize('version', [1, 2])
def test_matches_official_evaluator(tmp_path, version):
    official = pytest.importorskip('SoccerNet.Evaluation.ActionSpotting',
                                   reason='the official evaluator (pip SoccerNet) is not installed')
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V1, EVENT_DICTIONARY_V2
    labels_dir, preds_dir = write_random_tree(str(tmp_path), version, games=3, seed=version)
    for metric in ('loose', 'tight'):
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bars
            ref = official.evaluate(
                labels_dir, preds_dir, prediction_file='results_spotting.json', version=version,
                metric=metric, framerate=2, dataset=None,
                label_files='Labels-v2.json' if version == 2 else 'Labels.json',
                EVENT_DICTIONARY=EVENT_DICTIONARY_V2 if version == 2 else EVENT_DICTIONARY_V1)
        ours = evaluate_folders(labels_dir, preds_dir, metric=metric, version=version)
        assert ref['a_mAP'] > 0
        for key, value in ref.items():
            if value is None:
                assert ours[key] is None, key
            else:
                np.testing.assert_allclose(ours[key], value, rtol=0, atol=1e-6, err_msg=key)


def test_cli_last_line_is_json(tmp_path):
    labels_dir, preds_dir = write_random_tree(str(tmp_path), 2, games=2, seed=5)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get(
        'PYTHONPATH')])))
    out = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'eval_spotting.py'),
                          labels_dir, preds_dir, '--metric', 'tight', '--version', '2'],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(summary) == {'a_mAP', 'a_mAP_per_class', 'a_mAP_visible', 'a_mAP_unshown'}
    ours = evaluate_folders(labels_dir, preds_dir, metric='tight', version=2)
    assert summary['a_mAP'] == ours['a_mAP'] and len(summary['a_mAP_per_class']) == 17
    assert 'Ball out of play' in out.stdout


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize('content, field', [
    ('{"annotations": [', 'not valid JSON'),
    ('{"events": []}', 'annotations'),
    ('{"annotations": [{"gameTime": "1 - 00:05", "label": "Goal", "position": "5.5s"}]}',
     'position'),
    ('{"annotations": [{"gameTime": "3 - 00:05", "label": "Goal"}]}', 'half 3'),
    ('{"annotations": [{"gameTime": "1 - ab:cd", "label": "Goal"}]}', 'gameTime'),
    ('{"annotations": [{"gameTime": "1 - 00:05"}]}', 'label'),
])
def test_bad_label_file_names_file_and_field(tmp_path, content, field):
    path = tmp_path / 'Labels-v2.json'
    path.write_text(content)
    with pytest.raises(LabelFileError, match=field) as info:
        load_ground_truth(str(path), 2)
    assert str(path) in str(info.value)


@pytest.mark.parametrize('entry, version, field', [
    ({'label': 'Goal', 'half': '1', 'confidence': '0.5'}, 2, 'position'),
    ({'position': 'x', 'label': 'Goal', 'half': '1', 'confidence': '0.5'}, 2, 'position'),
    ({'position': '-3000', 'label': 'Goal', 'half': '1', 'confidence': '0.5'}, 2, 'negative'),
    ({'position': '5000', 'label': 'Goal', 'half': 'one', 'confidence': '0.5'}, 2, 'half'),
    ({'position': '5000', 'label': 'Goal', 'half': '1', 'confidence': 'high'}, 2, 'confidence'),
    ({'position': '5000', 'label': 'Goal', 'half': '1'}, 2, 'confidence'),
    ({'position': '5000', 'label': 'goal', 'half': '1', 'confidence': '0.5'}, 1, 'label'),
])
def test_bad_prediction_file_names_file_and_field(tmp_path, entry, version, field):
    good = {'position': '1000', 'label': CLASSES_V2[0] if version == 2 else 'card', 'half': 1,
            'confidence': 0.5}
    path = tmp_path / 'results_spotting.json'
    path.write_text(json.dumps({'predictions': [good, entry]}))
    with pytest.raises(LabelFileError, match=field) as info:
        load_predictions(str(path), version)
    assert f'{path} predictions[1]' in str(info.value)


def test_prediction_entries_upstream_skips_are_not_errors(tmp_path):
    # Unknown v2 labels and halves other than 1/2 are skipped before their confidence is read.
    path = tmp_path / 'results_spotting.json'
    path.write_text(json.dumps({'predictions': [
        {'position': '1000', 'label': 'Dribble', 'half': '1'},
        {'position': '1000', 'label': 'Goal', 'half': '3', 'confidence': 'n/a'},
        {'position': 2500, 'label': 'Goal', 'half': 2, 'confidence': '0.25'},
        # A null confidence becomes NaN upstream: it hides the earlier prediction of its cell.
        {'position': 2000, 'label': 'Goal', 'half': 1, 'confidence': 0.5},
        {'position': 2000, 'label': 'Goal', 'half': 1, 'confidence': None}]}))
    half1, half2 = load_predictions(str(path), 2)
    assert len(half1) == 0 and half2.frames.tolist() == [5] and half2.values.tolist() == [.25]
    with pytest.raises(LabelFileError, match='predictions'):
        (tmp_path / 'bad.json').write_text('{"UrlLocal": "x"}')
        load_predictions(str(tmp_path / 'bad.json'), 2)


def test_fast_and_checked_prediction_parsing_agree():
    index = {name: i for i, name in enumerate(CLASSES_V2)}
    _, predictions = random_game(np.random.default_rng(7), 2)
    fast = _prediction_columns_fast(predictions, index, 2)
    checked = _prediction_columns_checked(predictions, 'f.json', index, 2)
    assert fast is not None
    for a, b in zip(fast, checked):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('values,integer,expected', [
    (['12', '0', '5400000'], True, [12, 0, 5400000]),
    (['12', 7], True, [12, 7]),
    ([0.1, '0.2', 3], False, [0.1, 0.2, 3.0]),
    (['0.25', '1', '1e-3', '-0.0'], False, [0.25, 1.0, 1e-3, -0.0]),
    ([], False, []),
])
def test_numeric_strings_parse_like_int_and_float(values, integer, expected):
    out = _numeric_strings(values, integer)
    assert out.dtype == (np.int64 if integer else np.float64)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize('values,integer', [
    (['1.5'], True), (['+1'], True), ([True], True), ([None], False), ([float('nan')], False), (['.5'], False), (['nan'], False),
    (['1, 2'], False), (['true'], True), (['[1]'], False)])
def test_numeric_strings_leave_unusual_spellings_to_python(values, integer):
    # Each of these either differs from int() / float() or needs its per-value error message.
    assert _numeric_strings(values, integer) is None


def test_fast_ground_truth_path_equals_the_annotation_parser(tmp_path):
    annotations, _ = random_game(np.random.default_rng(11), 2)
    annotations.append({'gameTime': '1 - 10:00', 'label': 'Not a class', 'position': '600000',
                        'visibility': 'visible'})
    path = tmp_path / 'Labels-v2.json'
    path.write_text(json.dumps({'annotations': annotations}))
    assert _ground_truth_columns_fast({'annotations': annotations}, 2) is not None
    fast = load_ground_truth(str(path), 2)
    # A non-canonical gameTime ("1 - 5:00") sends the file through read_labels: same arrays.
    annotations.append({'gameTime': '1 - 5:00', 'label': 'Not a class', 'position': '300000'})
    assert _ground_truth_columns_fast({'annotations': annotations}, 2) is None
    path.write_text(json.dumps({'annotations': annotations}))
    slow = load_ground_truth(str(path), 2)
    for a, b in zip(fast, slow):
        for field in ('frames', 'labels', 'values'):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for bad in ({'gameTime': '1 - 00:01', 'label': 3, 'position': '1000'},
                {'gameTime': '1 - 00:01', 'label': 'Goal', 'position': 1000.5},
                {'gameTime': '1 - 00:01', 'label': 'Goal', 'position': '-5'},
                {'gameTime': '1 - 00:01', 'label': 'Goal'}, 'not a dict'):
        assert _ground_truth_columns_fast({'annotations': [bad]}, 2) is None, bad


def test_missing_prediction_file(tmp_path):
    labels_dir, preds_dir = write_random_tree(str(tmp_path), 2, games=2, seed=3)
    game = osp.join('league', 'season-1', 'game 1')
    os.remove(osp.join(preds_dir, game, 'results_spotting.json'))
    with pytest.raises(FileNotFoundError, match='game 1'):
        evaluate_folders(labels_dir, preds_dir, metric='tight')
    r = evaluate_folders(labels_dir, preds_dir, metric='tight', missing='empty')
    assert r['games_without_predictions'] == [game] and r['num_games'] == 2
    with pytest.raises(FileNotFoundError, match='Labels.json'):
        evaluate_folders(labels_dir, preds_dir, version=1)


def test_parallel_file_reading_gives_the_same_numbers(demo_soccernet, tmp_path):
    """``workers`` only changes who reads the files, never the result."""
    from vidplugins.rmsnet.postprocess import spots_to_predictions, write_predictions
    from vidplugins.soccernet import CLASSES_V1, find_games
    root, _ = demo_soccernet
    rng = np.random.default_rng(0)
    games = find_games(root, 'Labels.json')
    for game in games:
        halves = {h: (rng.integers(0, 300, 40), rng.integers(0, 3, 40), rng.random(40))
                  for h in (1, 2)}
        write_predictions(str(tmp_path), game, spots_to_predictions(game, halves, CLASSES_V1))
    one = evaluate_folders(root, str(tmp_path), 'loose', version=1, workers=1)
    two = evaluate_folders(root, str(tmp_path), 'loose', version=1, workers=2)
    assert one['num_games'] == len(games) and one['a_mAP'] > 0
    assert one == two
