"""A small, deterministic SoccerNet in the official on-disk format, with a learnable planted signal.

Layout written under ``root`` (exactly as the real dataset, only smaller)::

    root/listgame_Train.npy, listgame_Valid.npy, listgame_Test.npy   # "league/season/game" arrays
    root/<league>/<season>/<game>/Labels.json        # v1: gameTime only, raw v1 label names
    root/<league>/<season>/<game>/Labels-v2.json     # v2: gameTime, position (ms), visibility
    root/<league>/<season>/<game>/1_<feature>.npy    # (frames at 2 fps, D) float32
    root/<league>/<season>/<game>/2_<feature>.npy

The signal mirrors the thesis's observation that cues follow an event (Sec. 4.1.2): features are
an AR(1) noise process; at an event of class c a shared "onset" pattern appears exactly at the
event frame, followed by a class pattern that decays over the next ~6 s. Nothing precedes the
event, so a model must localise the onset to score well at tight tolerances. v1 files also hold
the real dataset's oddities: half-time substitutions at ``"2 - 00:00"`` and ``penalty-missed``
labels (not a v1 class).
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from vidplugins.soccernet import CLASSES_V1, CLASSES_V2, format_game_time, write_game_list
from vidplugins.utils.io import atomic_write, dump_json_atomic

#: raw v1 label names per v1 class (card, subs, soccer), as they appear in the real Labels.json.
V1_RAW_LABELS = (('y-card', 'r-card', 'yr-card'), ('substitution-in', ), ('soccer-ball',
                                                                           'soccer-ball-own'))
LEAGUES = (('england_epl', '2015-2016'), ('spain_laliga', '2016-2017'),
           ('italy_serie-a', '2016-2017'), ('europe_uefa-champions-league', '2015-2016'))
TEAMS = ('Arsenal', 'Chelsea', 'Roma', 'Napoli', 'Barcelona', 'Sevilla', 'Porto', 'Ajax')


def _game_meta(rng: np.random.Generator, i: int) -> dict:
    """Folder name ``league/season/YYYY-MM-DD - HH-MM Home G - G Away`` and v1 metadata."""
    league, season = LEAGUES[i % len(LEAGUES)]
    home, away = (TEAMS[j] for j in rng.choice(len(TEAMS), size=2, replace=False))
    date = f'{season[:4]}-{1 + i % 12:02d}-{1 + i % 28:02d}'
    score = f'{int(rng.integers(4))} - {int(rng.integers(4))}'
    return dict(game=f'{league}/{season}/{date} - 20-45 {home} {score} {away}',
                gameHomeTeam=home, gameAwayTeam=away, gameDate=date, gameScore=score)


def _event_frames(rng: np.random.Generator, length: int, n: int, min_gap: int) -> List[int]:
    """n event frames (even: SoccerNet-v1 labels have 1 s resolution) at least min_gap apart."""
    frames: List[int] = []
    for _ in range(200 * n):
        if len(frames) == n:
            break
        f = 2 * int(rng.integers(min_gap // 2, (length - min_gap) // 2))
        if all(abs(f - g) >= min_gap for g in frames):
            frames.append(f)
    return sorted(frames)


def planted_features(rng: np.random.Generator, length: int, events: List[tuple],
                     patterns: np.ndarray, onset: np.ndarray, decay_frames: float = 4.0,
                     duration: int = 12, rho: float = 0.9) -> np.ndarray:
    """AR(1) noise ``(length, D)`` with each event's onset + decaying class pattern added.

    Args:
        events: (frame, class) pairs. patterns: (C, D) class patterns. onset: (D,).
    """
    d = patterns.shape[1]
    noise = rng.standard_normal((length, d)).astype(np.float32) * np.sqrt(1 - rho**2)
    feats = np.empty_like(noise)
    feats[0] = rng.standard_normal(d)
    for t in range(1, length):                     # vectorised over D; length is small
        feats[t] = rho * feats[t - 1] + noise[t]
    for frame, cls in events:
        feats[frame] += onset
        k = np.arange(min(duration, length - frame))
        feats[frame + k] += np.exp(-k / decay_frames)[:, None] * patterns[cls][None]
    return feats.astype(np.float32)


def generate_soccernet(root: str, version: int = 1, splits: Optional[Dict[str, int]] = None,
                       half_frames: int = 900, feature_dim: int = 512,
                       feature_name: str = 'ResNet_PCA512', events_per_half: int = 8,
                       signal: float = 10.0, seed: int = 0) -> Dict[str, List[str]]:
    """Write a demo SoccerNet (v1 or v2) under ``root``; returns ``{split: [games]}``.

    Args:
        splits: games per split, default ``{'Train': 16, 'Valid': 4, 'Test': 4}``.
        half_frames: frames per half at 2 fps (900 = 7.5 min; real halves are ~5,400).
        events_per_half: events planted per half (the real v1 average is ~6.7).
        signal: norm of the onset / class patterns (the noise has unit variance per dimension).
        seed: everything is a deterministic function of the arguments.
    """
    splits = splits or {'Train': 16, 'Valid': 4, 'Test': 4}
    classes = CLASSES_V1 if version == 1 else CLASSES_V2
    C = len(classes)
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((C + 1, feature_dim))
    basis = signal * basis / np.linalg.norm(basis, axis=1, keepdims=True)
    patterns, onset = basis[:C].astype(np.float32), basis[C].astype(np.float32)
    label_file = 'Labels.json' if version == 1 else 'Labels-v2.json'
    out: Dict[str, List[str]] = {}
    index = 0
    for split, n_games in splits.items():
        games = []
        for _ in range(n_games):
            meta = _game_meta(rng, index)
            game = meta.pop('game')
            index += 1
            games.append(game)
            folder = osp.join(root, game)
            os.makedirs(folder, exist_ok=True)
            annotations = []
            for half in (1, 2):
                frames = _event_frames(rng, half_frames, events_per_half, min_gap=60)
                events = [(f, int(rng.integers(C))) for f in frames]
                feats = planted_features(rng, half_frames, events, patterns, onset)
                with atomic_write(osp.join(folder, f'{half}_{feature_name}.npy'), 'wb') as f:
                    np.save(f, feats)
                for frame, cls in events:
                    annotations.append(_annotation(rng, version, half, frame, cls))
            if version == 1 and index % 3 == 0:
                # Real v1 oddities: a half-time substitution (no visual cue, dropped from training
                # and still evaluated) and a label that is not a v1 class.
                annotations.append(dict(gameTime='2 - 00:00', label='substitution-in',
                                        team='home'))
                annotations.append(dict(gameTime='1 - 03:10', label='penalty-missed',
                                        team='away'))
            annotations.sort(key=lambda a: (a['gameTime'][0], a.get('position', 0),
                                            a['gameTime']))
            labels = dict(UrlLocal=game + '/', UrlYoutube='', annotations=annotations)
            if version == 1:
                labels.update(meta)
            dump_json_atomic(labels, osp.join(folder, label_file), indent=4)
        write_game_list(osp.join(root, f'listgame_{split}.npy'), games)
        out[split] = games
    return out


def _annotation(rng: np.random.Generator, version: int, half: int, frame: int, cls: int) -> dict:
    position = int(frame * 500)                  # 2 fps: frame k starts at k * 500 ms
    if version == 1:
        raw = V1_RAW_LABELS[cls][int(rng.integers(len(V1_RAW_LABELS[cls])))]
        return dict(gameTime=format_game_time(half, position), label=raw,
                    team=('home', 'away')[int(rng.integers(2))])
    return dict(gameTime=format_game_time(half, position), label=CLASSES_V2[cls],
                position=str(position + int(rng.integers(500))),
                team=('home', 'away')[int(rng.integers(2))],
                visibility='visible' if rng.random() < 0.85 else 'not shown')


def main(argv=None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description='Write a small demo SoccerNet with a planted '
                                     'learnable signal, in the official file layout.')
    parser.add_argument('root')
    parser.add_argument('--version', type=int, default=1, choices=(1, 2))
    parser.add_argument('--train', type=int, default=16)
    parser.add_argument('--valid', type=int, default=4)
    parser.add_argument('--test', type=int, default=4)
    parser.add_argument('--half-frames', type=int, default=900)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    out = generate_soccernet(args.root, args.version,
                             dict(Train=args.train, Valid=args.valid, Test=args.test),
                             half_frames=args.half_frames, seed=args.seed)
    print(json.dumps({k: len(v) for k, v in out.items()}))


if __name__ == '__main__':
    main()
