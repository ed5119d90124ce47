"""AVA annotation files: csv of boxes and actions, excluded timestamps, label map, action groups.

The readers of mmaction2 (``mmaction.evaluation.functional.ava_utils``: ``read_csv``,
``read_exclusions``, ``read_labelmap``, copies of the official ActivityNet evaluation code) parse
the files; this module turns their per-row output into per-keyframe actors with multi-hot labels
(one row per (box, action) in the csv, several rows per actor) and names the file on bad input.

Action groups (thesis Table 3.4, Sec. 3.3.1): the official AVA action list orders classes by
category: ids 1-14 person pose (PERSON_MOVEMENT), 15-63 person-object (OBJECT_MANIPULATION),
64-80 person-person (PERSON_INTERACTION). Among the 60 evaluated classes this gives the 13 / 32 /
15 classes of Table 3.4.
"""
from __future__ import annotations

import io
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Set, Tuple

import numpy as np

from mmaction.evaluation.functional.ava_utils import read_csv, read_exclusions, read_labelmap

#: category of every AVA action id (official action list ordering), name -> id range.
ACTION_GROUP_RANGES = {
    'pose': range(1, 15),
    'person_object': range(15, 64),
    'person_person': range(64, 81),
}
#: evaluated classes per group in the 60-class protocol (Table 3.4).
ACTION_GROUP_SIZES = {'pose': 13, 'person_person': 15, 'person_object': 32}

Key = Tuple[str, int]


class AnnotationFileError(ValueError):
    """An AVA csv, excluded-timestamps file or label map is missing or malformed."""


def _open(path: str, what: str):
    if path is None or not osp.isfile(path):
        raise AnnotationFileError(f'{path}: {what} not found')
    return open(path)


def _parse_key(image_key: str) -> Key:
    video_id, ts = image_key.rsplit(',', 1)
    return video_id, int(ts)


def read_label_map(path: str) -> Dict[int, str]:
    """Class id -> name from the official ``.pbtxt`` label map or mmaction2's ``id: name`` text.

    Raises ``AnnotationFileError`` naming the file when it holds no class.
    """
    with _open(path, 'label map') as f:
        text = f.read()
    if 'item' in text and ('name:' in text):
        entries, _ = read_labelmap(io.StringIO(text))
        labels = {int(e['id']): e['name'] for e in entries}
    else:
        labels = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            m = re.match(r'^\s*(\d+)\s*:\s*(.+?)\s*$', line)
            if m is None:
                raise AnnotationFileError(f'{path}: line {n}: expected "id: name", got {line!r}')
            labels[int(m.group(1))] = m.group(2)
    if not labels:
        raise AnnotationFileError(f'{path}: no class in the label map')
    return labels


def read_excluded(path: Optional[str]) -> Set[Key]:
    """(video_id, timestamp) keyframes excluded from training and evaluation (empty for None)."""
    if path is None:
        return set()
    with _open(path, 'excluded timestamps file') as f:
        try:
            keys = read_exclusions(f)
        except (AssertionError, ValueError, IndexError) as e:
            raise AnnotationFileError(f'{path}: malformed excluded timestamps ({e})') from None
    return {_parse_key(k) for k in keys}


def read_ava_csv(path: str, class_whitelist: Optional[Iterable[int]] = None
                 ) -> Dict[Key, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Rows of an AVA csv grouped per keyframe: ``{(video_id, ts): (boxes, labels, scores)}``.

    ``boxes`` (R, 4) are normalised x1, y1, x2, y2 (mmaction2's reader returns y1, x1, y2, x2; they
    are put back in the project's order), ``labels`` (R,) action ids, ``scores`` (R,) the 8th
    column (detections: the score; ground truth: the person id, which the official reader also
    reads into this field; 1.0 for 7-column files). One row per (box, action) as in the file,
    sorted by decreasing 8th column.
    """
    whitelist = set(int(c) for c in class_whitelist) if class_whitelist is not None else None
    with _open(path, 'AVA csv') as f:
        try:
            boxes, labels, scores = read_csv(f, whitelist)
        except (AssertionError, TypeError, ValueError, IndexError) as e:
            # mmaction2's reader asserts 7-8 columns (and fails building its own message).
            raise AnnotationFileError(f'{path}: malformed AVA csv ({e.__class__.__name__}: '
                                      f'{e}); expected video_id,timestamp,x1,y1,x2,y2,'
                                      f'action_id[,person_id|score]') from None
    out = {}
    for key in boxes:
        yxyx = np.asarray(boxes[key], np.float32).reshape(-1, 4)
        out[_parse_key(key)] = (yxyx[:, [1, 0, 3, 2]], np.asarray(labels[key], np.int64),
                                np.asarray(scores[key], np.float32))
    return out


def group_actors(boxes: np.ndarray, labels: np.ndarray, num_classes: int = 81,
                 multilabel: bool = True, decimals: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    """Merge the rows of one keyframe into actors: identical boxes are one actor.

    Args:
        boxes: (R, 4) one box per csv row.
        labels: (R,) action ids (1..num_classes-1).
        num_classes: C, with column 0 the background (mmaction2's AVA layout).
        multilabel: multi-hot (A, C) float labels (AVA); else (A,) long, the first action of each
            actor (J-HMDB-21 / UCF101-24 have one label per actor).
        decimals: boxes equal to this many decimals are the same actor (the csv has 3).

    Returns:
        (A, 4) boxes and (A, C) float32 or (A,) int64 labels, actors in order of first row.
    """
    if len(labels) and (labels.min() < 1 or labels.max() >= num_classes):
        raise ValueError(f'action ids must be in 1..{num_classes - 1}, got '
                         f'{labels.min()}..{labels.max()}')
    keys, index = {}, []
    for box in np.round(boxes.astype(np.float64), decimals):
        index.append(keys.setdefault(tuple(box.tolist()), len(keys)))
    index = np.asarray(index, np.int64)
    a = len(keys)
    merged = np.zeros((a, 4), np.float32)
    merged[index] = boxes
    if multilabel:
        multi = np.zeros((a, num_classes), np.float32)
        multi[index, labels] = 1.0
        return merged, multi
    single = np.zeros(a, np.int64)
    for i, lab in zip(index[::-1], labels[::-1]):  # first row of each actor wins
        single[i] = lab
    return merged, single


def read_ava_ground_truth(path: str, num_classes: int = 81, multilabel: bool = True,
                          excluded: Optional[Set[Key]] = None
                          ) -> Dict[Key, Tuple[np.ndarray, np.ndarray]]:
    """Actors of every annotated keyframe: ``{(video_id, ts): (boxes (A, 4), labels)}``.

    Every action id of the file is kept (training uses all 80 AVA classes; the 60 evaluated ones
    are chosen by the label map at evaluation). Excluded keyframes are dropped.
    """
    rows = read_ava_csv(path)
    excluded = excluded or set()
    out = {}
    for key, (boxes, labels, _) in rows.items():
        if key in excluded:
            continue
        try:
            out[key] = group_actors(boxes, labels, num_classes, multilabel)
        except ValueError as e:
            raise AnnotationFileError(f'{path}: keyframe {key[0]},{key[1]:04d}: {e}') from None
    return out


def action_groups(class_ids: Iterable[int]) -> Dict[str, List[int]]:
    """Split evaluated class ids into the groups of Table 3.4 (pose / person-person /
    person-object) by the official category ranges."""
    ids = sorted(int(c) for c in class_ids)
    return {name: [c for c in ids if c in rng] for name, rng in ACTION_GROUP_RANGES.items()}
