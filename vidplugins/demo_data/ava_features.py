"""A small AVA-style feature set whose labels need context: STAGE's proof of learning.

Writes, deterministically, in the real formats read by ``AVAFeatureDataset``::

    <root>/annotations/ava_{split}_demo.csv                          official csv (with person ids)
    <root>/annotations/ava_{split}_excluded_timestamps_demo.csv      video_id,timestamp
    <root>/annotations/ava_action_list_demo.pbtxt                    official label-map layout
    <root>/features/{split}_actors.h5, {split}_objects.h5           project feature format

Each video has keyframes 1 s apart (timestamps from 902, as AVA) with up to 3 actor tracks that
stay in place for a few seconds, and 2-5 objects. Features are Gaussian noise plus planted
patterns (amplitude ``signal`` along fixed orthogonal directions). Four real AVA classes, each
decided by a different part of the graph (thesis Sec. 3.1):

* 12 *stand* (pose): the actor's own pattern D. A per-actor linear classifier solves it.
* 15 *answer phone* (person-object): an object of kind *phone* lies within ``near`` (box-centre
  distance) of the actor. Needs actor-object edges and box proximity (Eq. 3.1, 3.5).
* 74 *listen to (a person)* (person-person): the actor is not talking (own pattern T off) and
  another actor of the keyframe is (T on). Needs actor-actor edges.
* 6 *get up* (pose, temporal): the actor is still (own pattern still) and is *up* (pattern U) in
  the NEXT keyframe. The two main actors of each video cycle still -> up -> settled (pattern
  S) -> still, so "still here, up in a neighbouring keyframe" can only mean "up next": it needs
  temporal edges (Sec. 3.1.3), as node features carry no time direction.

Training actors are the ground-truth boxes (score 1.0); validation actors are detections: the
ground-truth boxes jittered (IoU > 0.6) with scores in [0.75, 1) plus false positives with scores
below 0.5, dropped by the test score threshold (0.7, Sec. 3.2.2).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from ..stage.feature_io import open_feature_file, write_keyframe
from ..utils.io import atomic_write

#: class id -> (name, what decides it): real AVA ids and names.
DEMO_CLASSES = {
    6: 'get up',
    12: 'stand',
    15: 'answer phone',
    74: 'listen to (a person)',
}
OBJECT_KINDS = ('phone', 'cup', 'chair', 'door')
FIRST_TIMESTAMP = 902
STILL, UP, SETTLED, NONE = 0, 1, 2, -1


def _directions(dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n orthonormal directions in R^dim (rows)."""
    q, _ = np.linalg.qr(rng.standard_normal((dim, n)))
    return q.T.astype(np.float32)


def _box(centre, w, h):
    cx, cy = centre
    return np.array([np.clip(cx - w / 2, 0, 1), np.clip(cy - h / 2, 0, 1),
                     np.clip(cx + w / 2, 0, 1), np.clip(cy + h / 2, 0, 1)], np.float32)


def _track_states(n: int, rng: np.random.Generator) -> np.ndarray:
    """still (2-4 s) -> up (1-2 s) -> settled (1 s) -> still ... for n keyframes."""
    out = []
    state = (STILL, UP, SETTLED)[int(rng.integers(0, 3))]  # start anywhere in the cycle
    while len(out) < n:
        length = {STILL: rng.integers(2, 5), UP: rng.integers(1, 3), SETTLED: 1}[state]
        out.extend([state] * int(length))
        state = (state + 1) % 3
    return np.asarray(out[:n])


def _persistent_flags(n: int, rng: np.random.Generator, p_on: float = 0.5,
                      p_flip: float = 0.2) -> np.ndarray:
    """(n,) bool, on a fraction ``p_on`` of the time, changing ``p_flip`` times a second on
    average (a two-state Markov chain with stationary probability ``p_on``)."""
    to_on, to_off = 2 * p_flip * p_on, 2 * p_flip * (1 - p_on)
    flags = np.empty(n, bool)
    flags[0] = rng.random() < p_on
    for t in range(1, n):
        flags[t] = (rng.random() >= to_off) if flags[t - 1] else (rng.random() < to_on)
    return flags


def _place(rng, anchor=None, r=(0.04, 0.12)):
    if anchor is None:
        return rng.uniform(0.08, 0.92, 2)
    ang = rng.uniform(0, 2 * np.pi)
    return np.clip(anchor + rng.uniform(*r) * np.array([np.cos(ang), np.sin(ang)]), 0.02, 0.98)


def simulate_video(rng: np.random.Generator, num_keyframes: int, near: float = 0.25,
                   num_tracks: int = 3, p_move: float = 0.08) -> List[dict]:
    """Actors (track, centre, own patterns) and objects (kind, centre) of one video, and the
    labels of every actor, per keyframe.

    Scenes are coherent in time, as the thesis assumes for consecutive clips (Sec. 3.1.3): actors
    and objects stay in place and move now and then (probability ``p_move`` per second).
    """
    pos = rng.uniform(0.12, 0.88, (num_tracks, 2))
    stand = np.stack([_persistent_flags(num_keyframes, rng) for _ in range(num_tracks)])
    talk = np.stack([_persistent_flags(num_keyframes, rng, p_on=0.2, p_flip=0.1)
                     for _ in range(num_tracks)])
    # the two main actors (tracks 0, 1) go through the still -> up -> settled cycle
    states = np.full((num_tracks, num_keyframes), NONE)
    for k in range(min(2, num_tracks)):
        states[k] = _track_states(num_keyframes, rng)
    present = rng.random((num_tracks, num_keyframes)) < 0.92
    # scene objects: one phone (present 70% of the time), 2-4 others
    kinds = [0] + [int(k) for k in rng.integers(1, len(OBJECT_KINDS), int(rng.integers(2, 5)))]
    opos = [_place(rng, pos[rng.integers(num_tracks)] if rng.random() < 0.6 else None)
            for _ in kinds]
    phone_on = _persistent_flags(num_keyframes, rng, p_on=0.7, p_flip=0.15)
    frames = []
    for t in range(num_keyframes):
        move = rng.random(num_tracks) < p_move
        pos[move] = rng.uniform(0.12, 0.88, (int(move.sum()), 2))
        for o in range(len(kinds)):
            if rng.random() < p_move:  # objects, the phone above all, end up next to someone
                opos[o] = _place(rng, pos[rng.integers(num_tracks)] if rng.random() < 0.6
                                 else None)
        tracks = [k for k in range(num_tracks) if present[k, t]] or [int(rng.integers(num_tracks))]
        centres = pos[tracks] + rng.normal(0, 0.005, (len(tracks), 2))
        objects = [(k, opos[o] + rng.normal(0, 0.005, 2)) for o, k in enumerate(kinds)
                   if k != 0 or phone_on[t]]
        frames.append(dict(tracks=tracks, centres=centres, objects=objects,
                           stand=stand[tracks, t], talk=talk[tracks, t],
                           states=states[tracks, t]))
    for t, fr in enumerate(frames):
        nxt = frames[t + 1] if t + 1 < num_keyframes else None
        labels = []
        for i, k in enumerate(fr['tracks']):
            c = fr['centres'][i]
            lab = set()
            if fr['stand'][i]:
                lab.add(12)
            if any(kind == 0 and np.linalg.norm(oc - c) <= near for kind, oc in fr['objects']):
                lab.add(15)
            if not fr['talk'][i] and any(fr['talk'][j] for j in range(len(fr['tracks']))
                                         if j != i):
                lab.add(74)
            if (fr['states'][i] == STILL and nxt is not None and k in nxt['tracks']
                    and nxt['states'][nxt['tracks'].index(k)] == UP):
                lab.add(6)
            labels.append(sorted(lab))
        fr['labels'] = labels
    return frames


def generate_ava_features(root: str, videos: Optional[Dict[str, int]] = None,
                          keyframes_per_video: int = 30, actor_dim: int = 16,
                          object_dim: int = 24, signal: float = 3.0, near: float = 0.25,
                          seed: int = 0) -> Dict[str, dict]:
    """Write the demo set under ``root``; returns per split the paths and counts.

    Args:
        videos: videos per split (default ``{'train': 16, 'val': 6}``).
        keyframes_per_video: keyframes (seconds) per video.
        actor_dim, object_dim: feature sizes (objects are the larger: STAGE projects them).
        signal: amplitude of the planted patterns (noise std 1).
        near: box-centre distance that makes an object / actor "near" (normalised units).
    """
    videos = videos or {'train': 16, 'val': 6}
    rng = np.random.default_rng(seed)
    actor_dirs = _directions(actor_dim, 5, rng) * signal  # stand, up, settled, talk, still
    object_dirs = _directions(object_dim, len(OBJECT_KINDS), rng) * signal
    ann = osp.join(root, 'annotations')
    os.makedirs(ann, exist_ok=True)
    label_file = osp.join(ann, 'ava_action_list_demo.pbtxt')
    with atomic_write(label_file) as f:
        for cid, name in sorted(DEMO_CLASSES.items()):
            f.write(f'item {{\n  name: "{name}"\n  id: {cid}\n}}\n')
    out = {}
    for split, n_videos in videos.items():
        test = split != 'train'
        actor_path = osp.join(root, 'features', f'{split}_actors.h5')
        object_path = osp.join(root, 'features', f'{split}_objects.h5')
        for p in (actor_path, object_path):
            if osp.exists(p):
                os.remove(p)
        rows, excluded, n_actors = [], [], 0
        fa = open_feature_file(actor_path, 'actors', 'demo', actor_dim, mode='w')
        fo = open_feature_file(object_path, 'objects', 'vg-demo', object_dim, mode='w')
        with fa, fo:
            for v in range(n_videos):
                video_id = f'demo{split[:2]}{v:02d}_{seed:03d}'
                frames = simulate_video(rng, keyframes_per_video, near)
                for t, fr in enumerate(frames):
                    ts = FIRST_TIMESTAMP + t
                    a = len(fr['tracks'])
                    boxes = np.stack([_box(c, 0.12, 0.3) for c in fr['centres']])
                    feats = rng.standard_normal((a, actor_dim)).astype(np.float32)
                    feats += fr['stand'][:, None] * actor_dirs[0]
                    feats += (fr['states'] == UP)[:, None] * actor_dirs[1]
                    feats += (fr['states'] == SETTLED)[:, None] * actor_dirs[2]
                    feats += fr['talk'][:, None] * actor_dirs[3]
                    feats += (fr['states'] == STILL)[:, None] * actor_dirs[4]
                    for i, (k, labs) in enumerate(zip(fr['tracks'], fr['labels'])):
                        for lab in labs:
                            rows.append(f'{video_id},{ts:04d},{boxes[i, 0]:.3f},'
                                        f'{boxes[i, 1]:.3f},{boxes[i, 2]:.3f},'
                                        f'{boxes[i, 3]:.3f},{lab},{k}')
                    scores = np.ones(a, np.float32)
                    if test:  # detections: jittered boxes, plus low-score false positives
                        boxes = np.clip(boxes + rng.normal(0, 0.006, boxes.shape), 0, 1)
                        scores = rng.uniform(0.75, 1.0, a).astype(np.float32)
                        if rng.random() < 0.3:
                            fp = _box(rng.uniform(0.1, 0.9, 2), 0.12, 0.3)
                            boxes = np.concatenate([boxes, fp[None]])
                            feats = np.concatenate(
                                [feats, rng.standard_normal((1, actor_dim)).astype(np.float32)])
                            scores = np.append(scores, rng.uniform(0.1, 0.5)).astype(np.float32)
                    write_keyframe(fa, 'actors', video_id, ts, feats, boxes.astype(np.float32),
                                   scores)
                    n_actors += a
                    kinds = np.array([k for k, _ in fr['objects']], np.int64)
                    ofeats = rng.standard_normal((len(kinds), object_dim)).astype(np.float32)
                    ofeats += object_dirs[kinds]
                    oboxes = np.stack([_box(c, 0.08, 0.08) for _, c in fr['objects']])
                    write_keyframe(fo, 'objects', video_id, ts, ofeats, oboxes,
                                   rng.uniform(0.3, 1.0, len(kinds)).astype(np.float32),
                                   labels=kinds)
                fa.flush()
                fo.flush()
                excluded.append(f'{video_id},{FIRST_TIMESTAMP + 5 + v:04d}')
        ann_file = osp.join(ann, f'ava_{split}_demo.csv')
        with atomic_write(ann_file) as f:
            f.write('\n'.join(rows) + '\n')
        exclude_file = osp.join(ann, f'ava_{split}_excluded_timestamps_demo.csv')
        with atomic_write(exclude_file) as f:
            f.write('\n'.join(excluded[:1]) + '\n')  # one excluded keyframe per split
        out[split] = dict(ann_file=ann_file, exclude_file=exclude_file, label_file=label_file,
                          actor_file=actor_path, object_file=object_path,
                          keyframes=n_videos * keyframes_per_video, actors=n_actors,
                          rows=len(rows))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write the STAGE demo AVA feature set')
    parser.add_argument('root', nargs='?', default='data/ava_demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--keyframes', type=int, default=30)
    args = parser.parse_args(argv)
    info = generate_ava_features(args.root, keyframes_per_video=args.keyframes, seed=args.seed)
    for split, d in info.items():
        print(f'{split}: {d["keyframes"]} keyframes, {d["actors"]} actors, {d["rows"]} csv rows '
              f'-> {d["actor_file"]}')


if __name__ == '__main__':
    main()
