"""The SoccerNet on-disk format: label files, game lists and class vocabularies (thesis Sec. 4.2.1).

A game folder is ``<root>/<league>/<season>/<game>/`` and holds ``Labels.json`` (SoccerNet-v1,
3 classes) or ``Labels-v2.json`` (SoccerNet-v2, 17 classes) and per-half feature files
``1_<feat>.npy`` / ``2_<feat>.npy`` sampled at 2 fps. Frame conventions follow the official
evaluator (pip package ``SoccerNet``, module ``SoccerNet.Evaluation.ActionSpotting``): an event's
frame is ``int(fps * position_ms / 1000)`` when ``position`` is present, else ``fps * seconds`` of
its ``gameTime``.

Why a package of its own and not ``vidplugins.rmsnet``: the format and its official metric
(``vidplugins.soccernet.evaluation``) belong to the benchmark, not to one method, and they must be
importable without torch or any OpenMMLab package. ``import vidplugins.rmsnet`` registers RMS-Net in
mmaction2's registries (it imports torch, mmengine and mmaction2: seconds), whereas this package
needs NumPy, orjson and (optionally) numba only, so that ``tools/eval_spotting.py`` starts in a
fraction of a second and runs where no deep-learning stack is installed.
``tests/rmsnet/test_imports.py`` checks that importing it pulls in none of them.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import orjson

#: SoccerNet-v1 classes, in the official evaluator's order (``EVENT_DICTIONARY_V1``). These are also
#: the label strings a v1 ``results_spotting.json`` must use.
CLASSES_V1 = ('card', 'subs', 'soccer')
#: SoccerNet-v2 classes, in the official evaluator's order (``EVENT_DICTIONARY_V2``).
CLASSES_V2 = ('Penalty', 'Kick-off', 'Goal', 'Substitution', 'Offside', 'Shots on target',
              'Shots off target', 'Clearance', 'Ball out of play', 'Throw-in', 'Foul',
              'Indirect free-kick', 'Direct free-kick', 'Corner', 'Yellow card', 'Red card',
              'Yellow->red card')
LABEL_FILES = {1: 'Labels.json', 2: 'Labels-v2.json'}
#: v1 labels that are not one of its three classes (the official evaluator skips them).
V1_IGNORED_LABELS = ('penalty-missed', )
#: Length of the evaluator's dense per-half vector, in seconds (events later are clipped to it).
EVAL_HALF_SECONDS = 120 * 60


def classes_for(version: int) -> tuple:
    """Class names (foreground only) of SoccerNet ``version`` 1 or 2."""
    if version == 1:
        return CLASSES_V1
    if version == 2:
        return CLASSES_V2
    raise ValueError(f'SoccerNet version must be 1 or 2, got {version!r}')


def v1_class_index(label: str) -> Optional[int]:
    """Map a raw v1 label (``y-card``, ``substitution-in``, ``soccer-ball-own``...) to its class.

    Same substring rule as the official evaluator; labels it ignores (``penalty-missed``) give None.
    """
    if 'card' in label:
        return 0
    if 'subs' in label:
        return 1
    if 'soccer' in label:
        return 2
    return None


class LabelFileError(ValueError):
    """A label or prediction file does not follow the SoccerNet format."""


def parse_game_time(game_time: str, path: str = '?') -> tuple:
    """``"2 - 12:34"`` -> ``(half=2, seconds=754)``."""
    try:
        half = int(game_time[0])
        minutes = int(game_time[-5:-3])
        seconds = int(game_time[-2:])
    except (TypeError, ValueError, IndexError):
        raise LabelFileError(f'{path}: gameTime {game_time!r} is not "<half> - MM:SS"') from None
    return half, minutes * 60 + seconds


def format_game_time(half: int, position_ms: int) -> str:
    """``(1, 754000)`` -> ``"1 - 12:34"``."""
    seconds = int(position_ms) // 1000
    return f'{half} - {seconds // 60:02d}:{seconds % 60:02d}'


@dataclass
class Event:
    """One annotated event of a game."""
    half: int            # 1 or 2
    frame: int           # frame index at ``fps`` (evaluator convention)
    label: int           # class index in ``classes_for(version)``
    visible: bool        # False for v2 "not shown"
    raw_label: str       # the label string in the file
    position_ms: int     # position within the half, in milliseconds


def event_frame(annotation: dict, fps: float, path: str = '?') -> tuple:
    """(half, frame, position_ms) of one annotation dict, with the official evaluator's rounding."""
    half, seconds = parse_game_time(annotation.get('gameTime'), path)
    if 'position' in annotation:
        try:
            position_ms = int(annotation['position'])
        except (TypeError, ValueError):
            raise LabelFileError(
                f'{path}: position {annotation["position"]!r} is not an integer (ms)') from None
        if position_ms < 0:
            raise LabelFileError(f'{path}: negative position {position_ms}')
        return half, int(fps * (position_ms / 1000)), position_ms
    return half, int(fps * seconds), seconds * 1000


def read_json(path: str):
    """Parse a JSON file, raising ``LabelFileError`` naming it when it is not valid JSON.

    orjson parses SoccerNet's large prediction files about twice as fast as the standard
    library; documents it refuses but Python's ``json`` (and so the official evaluator) accepts,
    such as bare ``NaN`` literals, go through ``json.loads``.
    """
    with open(path, 'rb') as f:
        return parse_json(f.read(), path)


def parse_json(data: bytes, path: str):
    """``read_json`` on bytes already read from ``path`` (named in the error)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LabelFileError(f'{path}: not valid JSON ({e})') from None


def read_labels(path: str, version: int, fps: float = 2.0, unknown: str = 'error',
                skipped: Optional[Dict[str, int]] = None) -> List[Event]:
    """Parse a ``Labels.json`` / ``Labels-v2.json`` file into events.

    Args:
        path: the label file.
        version: 1 or 2 (class vocabulary).
        fps: frame rate the frames refer to (features are at 2 fps).
        unknown: what to do with a label outside the vocabulary: ``'error'`` raises naming the
            file and label; ``'skip'`` drops it. v1's ``penalty-missed`` is not a v1 class (the
            official evaluator ignores it) and is always dropped.
        skipped: if given, dropped labels are counted in it by name (``penalty-missed`` too).
    """
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get('annotations'), list):
        raise LabelFileError(f'{path}: missing "annotations" list')
    classes = classes_for(version)
    events = []
    for i, ann in enumerate(data['annotations']):
        where = f'{path} annotations[{i}]'
        if not isinstance(ann, dict) or 'label' not in ann or 'gameTime' not in ann:
            raise LabelFileError(f'{where}: needs "gameTime" and "label"')
        raw = ann['label']
        if not isinstance(raw, str):
            raise LabelFileError(f'{where}: label {raw!r} is not a string')
        # The official evaluator parses the time of every annotation, known label or not.
        try:
            half, frame, pos = event_frame(ann, fps, where)
        except OverflowError:  # e.g. an infinite position
            raise LabelFileError(f'{where}: position {ann.get("position")!r} is out of range'
                                 ) from None
        if half not in (1, 2):
            raise LabelFileError(f'{where}: half {half} (first character of gameTime) '
                                 'is not 1 or 2')
        if version == 1:
            label = v1_class_index(raw)
            if label is None:
                if raw in V1_IGNORED_LABELS or unknown == 'skip':
                    if skipped is not None:
                        skipped[raw] = skipped.get(raw, 0) + 1
                    continue
                raise LabelFileError(f'{where}: unknown SoccerNet-v1 label {raw!r}')
        else:
            if raw not in classes:
                if unknown == 'skip':
                    if skipped is not None:
                        skipped[raw] = skipped.get(raw, 0) + 1
                    continue
                raise LabelFileError(f'{where}: unknown SoccerNet-v2 label {raw!r} '
                                     f'(expected one of {list(classes)})')
            label = classes.index(raw)
        visible = ann.get('visibility', 'visible') != 'not shown'
        events.append(Event(half, frame, label, visible, raw, pos))
    return events


def find_games(root: str, label_file: str) -> List[str]:
    """Games (paths relative to ``root``) that hold ``label_file``, sorted."""
    games = []
    for dirpath, _, files in os.walk(root):
        if label_file in files:
            games.append(osp.relpath(dirpath, root))
    return sorted(games)


def read_game_list(path: str) -> List[str]:
    """A split's games: the v1 ``listgame_*.npy`` (array of ``league/season/game``), a JSON list,
    or a text file with one game per line."""
    if path.endswith('.npy'):
        # The official v1 lists are plain unicode arrays; no pickle needed (or allowed).
        games = np.load(path, allow_pickle=False)
        return [str(g) for g in games.tolist()]
    if path.endswith('.json'):
        games = read_json(path)
        if not isinstance(games, list):
            raise LabelFileError(f'{path}: expected a JSON list of games')
        return [str(g) for g in games]
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def write_game_list(path: str, games: Sequence[str]) -> None:
    """Write a split in the official v1 ``.npy`` format (unicode array)."""
    from vidplugins.utils.io import atomic_write
    with atomic_write(path, 'wb') as f:
        np.save(f, np.array(list(games)))
