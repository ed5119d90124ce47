"""The compiled reader of results_spotting.json files against the orjson + dict reader.

Property checked: whenever ``json_scan`` takes a file, the file is valid JSON and the columns
equal those of the dict path (``_prediction_columns_fast`` on ``parse_json``); files outside
its subset fall back, and ``load_predictions`` then gives the dict path's result or error.
"""
import json

import numpy as np
import pytest

from vidplugins.soccernet.evaluation import json_scan
from vidplugins.soccernet.evaluation.average_map import (_label_index, _prediction_columns_fast,
                                                     _scanned_columns, load_predictions)
from vidplugins.soccernet import CLASSES_V1, CLASSES_V2, LabelFileError, parse_json


def dict_columns(raw: bytes, version: int):
    # parse_json: orjson, or Python's json for what orjson refuses (e.g. 1e999 -> inf).
    items = parse_json(raw, 'x.json')['predictions']
    return _prediction_columns_fast(items, _label_index(version), version)


def assert_same_columns(raw: bytes, version: int):
    scanned = _scanned_columns(raw, version)
    assert scanned is not None, raw[:200]
    expected = dict_columns(raw, version)
    assert expected is not None
    for got, want in zip(scanned, expected):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def random_file(rng, version, indent, numbers, shuffle, extras, n=40) -> bytes:
    classes = CLASSES_V2 if version == 2 else CLASSES_V1
    entries = []
    for _ in range(n):
        known = version == 1 or rng.random() < 0.8
        label = classes[rng.integers(len(classes))] if known else 'Not a class'
        half = int(rng.integers(1, 3))
        position = int(rng.integers(0, 3_000_000))
        confidence = float(rng.choice([rng.random(), 1.0, 0.0, 1e-7, 0.25]))
        entry = {'gameTime': f'{half} - {position // 60000:02d}:{position // 1000 % 60:02d}',
                 'label': label,
                 'position': position if numbers else str(position),
                 'half': half if numbers else str(half),
                 'confidence': confidence if numbers else repr(confidence)}
        if extras:
            entry['extra'] = [None, True, {'a': [1.5e-3, -2]}, 'x']
            entry['team'] = None
        if shuffle:
            keys = list(entry)
            rng.shuffle(keys)
            entry = {k: entry[k] for k in keys}
        entries.append(entry)
    doc = {'UrlLocal': 'league/season/game', 'predictions': entries}
    if extras:
        doc = {'meta': {'model': 'rmsnet', 'layers': [[1, 2], []], 'ok': False}, **doc,
               'after': -0.5e+3}
    return json.dumps(doc, indent=indent).encode()


def test_numba_fast_path_is_available():
    # numba is pinned in requirements/runtime.txt; without it the evaluator is ~4x slower.
    assert json_scan.available()


@pytest.mark.parametrize('version', [1, 2])
def test_generated_files_give_the_dict_columns(version):
    rng = np.random.default_rng(version)
    for indent in (None, 4):
        for numbers in (False, True):
            for shuffle in (False, True):
                for extras in (False, True):
                    raw = random_file(rng, version, indent, numbers, shuffle, extras)
                    assert_same_columns(raw, version)


def test_empty_predictions_and_only_unknown_labels():
    assert_same_columns(b'{"predictions": []}', 2)
    raw = b'{"predictions": [{"label": "x", "half": "1", "position": "5"}]}'
    keep, half, position, label, score = _scanned_columns(raw, 2)
    assert len(keep) == 0 and len(score) == 0  # an unknown label needs no confidence


@pytest.mark.parametrize('entry', [
    '{"label": "Goal\\u0021", "half": "1", "position": "5", "confidence": "0.5"}',  # escape
    '{"label": "Goal", "half": "1", "position": "5", "confidence": null}',
    '{"label": "Goal", "half": "3", "position": "5", "confidence": "0.5"}',
    '{"label": "Goal", "half": 1.0, "position": "5", "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": " 5", "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": "-5", "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": 5.0, "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": "5", "confidence": "nan"}',
    '{"label": "Goal", "half": "1", "position": "5", "confidence": " 0.5"}',
    '{"label": "Goal", "half": "1", "position": "5", "half": "2", "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": "5"}',
    '{"label": 3, "half": "1", "position": "5", "confidence": "0.5"}',
    '{"label": "Goal", "half": "1", "position": "1234567890123456789", "confidence": "0.5"}',
])
def test_outside_the_subset_falls_back(entry, tmp_path):
    raw = ('{"predictions": [%s]}' % entry).encode()
    assert json_scan.scan_predictions(raw, CLASSES_V2, strict_labels=False) is None
    # load_predictions still answers, exactly as the dict path does (or with its error).
    path = tmp_path / 'results_spotting.json'
    path.write_bytes(raw)
    try:
        halves = load_predictions(str(path), 2)
    except LabelFileError as e:
        assert str(path) in str(e)
    else:
        assert len(halves) == 2


def test_v1_unknown_label_falls_back_to_the_named_error(tmp_path):
    raw = b'{"predictions": [{"label": "Goal", "half": "1", "position": "5", "confidence": "1"}]}'
    assert json_scan.scan_predictions(raw, CLASSES_V1, strict_labels=True) is None
    path = tmp_path / 'results_spotting.json'
    path.write_bytes(raw)
    with pytest.raises(LabelFileError, match=r'predictions\[0\]: label'):
        load_predictions(str(path), 1)


def test_mutated_files_are_never_taken_when_invalid():
    """Random byte edits of a valid file: taken => valid JSON with the dict path's columns."""
    rng = np.random.default_rng(0)
    base = random_file(rng, 2, indent=1, numbers=True, shuffle=True, extras=True, n=4)
    alphabet = np.frombuffer(b'{}[]:,"\\ -+.0123456789eEtrufalsn\t\nx\x01\xc3', np.uint8)
    taken = 0
    for trial in range(3000):
        buf = bytearray(base)
        for _ in range(int(rng.integers(1, 3))):
            k = int(rng.integers(len(buf)))
            op = rng.integers(3)
            if op == 0:
                buf[k] = int(rng.choice(alphabet))
            elif op == 1:
                del buf[k]
            else:
                buf.insert(k, int(rng.choice(alphabet)))
        raw = bytes(buf)
        scanned = _scanned_columns(raw, 2)
        if scanned is None:
            continue
        taken += 1
        expected = dict_columns(raw, 2)  # raises if the scanner took invalid JSON
        assert expected is not None, raw
        for got, want in zip(scanned, expected):
            np.testing.assert_array_equal(got, want)
    # Many edits keep the file valid (inside strings, digits...): the property was exercised.
    assert taken > 300


def test_truncated_and_trailing_garbage_fall_back():
    raw = random_file(np.random.default_rng(1), 2, None, False, False, False, n=5)
    for cut in range(1, len(raw)):
        assert json_scan.scan_predictions(raw[:cut], CLASSES_V2, False) is None
    assert json_scan.scan_predictions(raw + b' x', CLASSES_V2, False) is None
    assert json_scan.scan_predictions(raw + b' \n', CLASSES_V2, False) is not None
