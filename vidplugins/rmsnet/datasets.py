"""SoccerNet datasets for RMS-Net: training windows (Sec. 4.1.3) and whole halves for inference.

Both read the official layout unchanged: ``<data_root>/<league>/<season>/<game>/`` with
``Labels.json`` (v1) or ``Labels-v2.json`` (v2) and ``1_<feature>.npy`` / ``2_<feature>.npy``
(frames at 2 fps x D). A split is an official game list (``ann_file``: v1 ``listgame_*.npy``, a JSON
list, or a text file); without one, every game under ``data_root`` is used.

Bad input never disappears silently: a missing or unreadable feature file, a wrong feature size,
NaN / inf features and unknown labels raise an error naming the file (``strict=True``, default);
with ``strict=False`` the half or label is skipped. Every skip (half-time substitutions, events past
the end of the features, halves shorter than T, games without events, ...) is counted in
``dataset.skipped`` and logged once.
"""
from __future__ import annotations

import os
import os.path as osp
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mmaction.registry import DATASETS, TRANSFORMS

from vidplugins.soccernet import (LABEL_FILES, V1_IGNORED_LABELS, LabelFileError, classes_for,
                                  find_games, read_game_list, read_labels)


class FeatureFileError(ValueError):
    """A feature file is missing, unreadable or holds invalid values."""


def load_half_features(path: str, feature_dim: Optional[int] = None,
                       check_finite: bool = True, mmap: bool = True) -> np.ndarray:
    """Open one half's features ``(frames, D)``, validating them.

    Raises ``FeatureFileError`` naming the file for a missing file, a non-2D array, a feature size
    other than ``feature_dim``, or (``check_finite``) NaN / inf values (with the first bad frame).
    """
    if not osp.isfile(path):
        raise FeatureFileError(f'{path}: feature file not found')
    try:
        feats = np.load(path, mmap_mode='r' if mmap else None, allow_pickle=False)
    except Exception as e:  # truncated file, pickled object array, ...
        raise FeatureFileError(f'{path}: cannot read features ({e})') from None
    if feats.ndim != 2:
        raise FeatureFileError(f'{path}: features must be (frames, D), got shape {feats.shape}')
    if feats.shape[0] == 0:
        raise FeatureFileError(f'{path}: no frames')
    if feature_dim is not None and feats.shape[1] != feature_dim:
        raise FeatureFileError(
            f'{path}: feature size {feats.shape[1]} != expected {feature_dim}')
    if check_finite:
        bad = ~np.isfinite(feats).all(axis=1)
        if bad.any():
            frames = np.flatnonzero(bad)
            raise FeatureFileError(
                f'{path}: {len(frames)} frame(s) with NaN/inf features (first: frame {frames[0]})')
    return feats


def event_free_windows(event_frames: Sequence[int], length: int, window: int,
                       gap: int = 0) -> List[int]:
    """Starts of background windows: event-free stretches tiled with stride T (Sec. 4.1.3).

    Args:
        event_frames: frames of every event of the half (any class).
        length: number of frames in the half.
        window: T.
        gap: frames kept free on each side of every event (not at the ends of the half). The
            authors' loader (aimagelab/RMSNet_Soccer, ``data/load_data_utils.py``,
            ``load_background_train``) keeps one window, T frames, so that what follows an event
            (the celebration, the replay) is not labelled background.
    Returns:
        Sorted starts; each window ``[s, s + T)`` lies inside ``[0, length)`` and at least
        ``gap`` frames away from every event.
    """
    starts = []
    bounds = [-1] + sorted(set(int(f) for f in event_frames if 0 <= f < length)) + [length]
    for a, b in zip(bounds[:-1], bounds[1:]):
        first = a + 1 + (gap if a >= 0 else 0)          # frames first .. last hold no event
        last = b - 1 - (gap if b < length else 0)        # and are >= gap from the events
        free = last - first + 1
        if free >= window:
            starts.extend(range(first, first + (free // window) * window, window))
    return starts


def event_windows(frame: int, length: int, window: int, offsets: str = 'all') -> List[int]:
    """Starts of the windows that contain an event (Sec. 4.1.3).

    ``offsets='all'``: every window at stride 1 (the event at every relative position, offsets
    uniform by construction). ``'center'``: only the window with the event in the middle (the
    "w/o uniformly distributed offsets" ablation of Table 4.3).
    """
    if offsets == 'center':
        s = frame - window // 2
        return [s] if 0 <= s <= length - window else []
    if offsets != 'all':
        raise ValueError(f"offsets must be 'all' or 'center', got {offsets!r}")
    return list(range(max(0, frame - window + 1), min(frame, length - window) + 1))


def frame_files(folder: str) -> List[str]:
    """Sorted JPEG/PNG frames of one half's frame folder (frames at 2 fps, any zero-padded names)."""
    if not osp.isdir(folder):
        raise FeatureFileError(f'{folder}: frame folder not found')
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(('.jpg', '.jpeg', '.png')))
    if not names:
        raise FeatureFileError(f'{folder}: no frames (.jpg/.png)')
    return [osp.join(folder, n) for n in names]


def read_frames(paths: Sequence[str], size: Optional[Sequence[int]] = None) -> np.ndarray:
    """Decode frames to RGB uint8 ``(T, H, W, 3)``, resized to ``size=(H, W)`` when given."""
    import cv2
    frames = []
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise FeatureFileError(f'{path}: cannot decode image')
        if size is not None and img.shape[:2] != tuple(size):
            img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        frames.append(img[:, :, ::-1])
    return np.stack(frames)


class _SoccerNetBase(BaseDataset):
    """Shared game discovery, label parsing, input loading and skip accounting.

    ``modality='features'`` reads ``<half>_<feature_name>.npy``; ``modality='frames'`` (end-to-end
    training, Sec. 4.2.5 / 4.3) reads the folder ``<half>_<feature_name>/`` of frames extracted at
    2 fps (``tools/data/soccernet/extract_frames.py``), resized to ``frame_size=(H, W)``.
    ``extra_ann_files`` appends more game lists to ``ann_file`` (training on several splits,
    Sec. 4.3).
    """

    def __init__(self, data_root: str, ann_file: str = '', version: int = 1,
                 feature_name: str = 'ResNet_PCA512', feature_dim: Optional[int] = 512,
                 fps: float = 2.0, window_size: int = 41, strict: bool = True,
                 check_finite: bool = True, modality: str = 'features',
                 frame_size: Optional[Sequence[int]] = None,
                 extra_ann_files: Sequence[str] = (), pipeline: Sequence = (),
                 test_mode: bool = False, **kwargs):
        if modality not in ('features', 'frames'):
            raise ValueError(f"modality must be 'features' or 'frames', got {modality!r}")
        self.modality = modality
        self.extra_ann_files = list(extra_ann_files)
        self.frame_size = tuple(frame_size) if frame_size else None
        self._frames: Dict[str, List[str]] = {}
        self._mmaps: Dict[str, np.ndarray] = {}
        self.version = version
        self.classes = classes_for(version)
        self.feature_name = feature_name
        self.feature_dim = feature_dim
        self.fps = fps
        self.window_size = window_size
        self.strict = strict
        self.check_finite = check_finite
        self.skipped: Counter = Counter()
        self.skip_examples: Dict[str, str] = {}
        # Transforms come from mmaction2's registry, so the dataset builds outside a runner too.
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline,
                         test_mode=test_mode, metainfo=dict(classes=self.classes), **kwargs)

    # ------------------------------------------------------------------ helpers
    def _skip(self, reason: str, where: str, n: int = 1) -> None:
        self.skipped[reason] += n
        self.skip_examples.setdefault(reason, where)

    def _games(self) -> List[str]:
        label_file = LABEL_FILES[self.version]
        if self.ann_file:
            games = read_game_list(self.ann_file)
            for extra in self.extra_ann_files:          # e.g. train + valid + test (Sec. 4.3)
                path = extra if osp.isabs(extra) or osp.isfile(extra) else \
                    osp.join(self.data_root, extra)
                games += [g for g in read_game_list(path) if g not in games]
        else:
            games = find_games(self.data_root, label_file)
        if not games:
            raise FileNotFoundError(
                f'no SoccerNet games in {self.ann_file or self.data_root} (looked for '
                f'{label_file})')
        return games

    def _feature_path(self, game: str, half: int) -> str:
        suffix = '.npy' if self.modality == 'features' else ''
        return osp.join(self.data_root, game, f'{half}_{self.feature_name}{suffix}')

    def _label_path(self, game: str) -> str:
        return osp.join(self.data_root, game, LABEL_FILES[self.version])

    def _read_events(self, game: str):
        path = self._label_path(game)
        if not osp.isfile(path):
            raise LabelFileError(f'{path}: label file not found (game {game!r} of '
                                 f'{self.ann_file or self.data_root})')
        dropped: Dict[str, int] = {}
        events = read_labels(path, self.version, self.fps,
                             unknown='error' if self.strict else 'skip', skipped=dropped)
        for name, n in dropped.items():
            if name not in V1_IGNORED_LABELS:        # not a v1 class by definition, not an error
                self._skip(f'unknown label {name!r}', path, n)
        return events

    def _half_length(self, game: str, half: int) -> Optional[int]:
        """Frames in one half after validating its input, or None when skipped (strict=False)."""
        path = self._feature_path(game, half)
        try:
            if self.modality == 'frames':
                self._frames[path] = frame_files(path)
                return len(self._frames[path])
            return len(load_half_features(path, self.feature_dim, self.check_finite))
        except FeatureFileError as e:
            if self.strict:
                raise
            self._skip('invalid input file', str(e))
            return None

    def load_segment(self, path: str, start: int, stop: int) -> np.ndarray:
        """Inputs of frames ``start .. stop - 1`` of one half: (n, D) float32 features or
        (n, H, W, 3) uint8 frames."""
        if self.modality == 'frames':
            if path not in self._frames:
                self._frames[path] = frame_files(path)
            return read_frames(self._frames[path][start:stop], self.frame_size)
        if path not in self._mmaps:
            self._mmaps[path] = np.load(path, mmap_mode='r', allow_pickle=False)
        return np.array(self._mmaps[path][start:stop], dtype=np.float32)

    def _log_summary(self, what: str) -> None:
        logger = MMLogger.get_current_instance()
        logger.info(f'{type(self).__name__} ({self.ann_file or self.data_root}): {what}')
        for reason, n in sorted(self.skipped.items()):
            logger.warning(f'  skipped {n} x {reason} (e.g. {self.skip_examples[reason]})')


@DATASETS.register_module()
class SoccerNetWindowDataset(_SoccerNetBase):
    """Training windows of T frames (Sec. 4.1.3).

    Foreground: every window containing an event, at stride 1 (``event_offsets='all'``) or only
    the centred one (``'center'``). Background: the event-free rest tiled at stride T. Which
    windows an epoch uses is the sampler's job (``SpottingBalancedSampler``): it reads
    ``foreground_indices``, ``background_indices`` and ``labels``.

    Each item is ``dict(inputs=(T, D) float32, label, offset, ...)`` before the pipeline; label C
    is background. The pipeline usually holds ``MaskEventContext`` then ``PackSpottingInputs``.

    Args:
        drop_halftime_substitutions: drop substitutions annotated at the start of the second half
            (``"2 - 00:00"``): players change during the break, nothing visual marks the moment
            (Sec. 4.2.2). Counted in ``skipped``.
        event_offsets: ``'all'`` or ``'center'`` (see ``event_windows``).
        background_gap: frames kept free of background windows on each side of every event;
            None (default) = T, as the authors' loader (the thesis is silent); 0 = background
            may start right after an event.
    """

    def __init__(self, *args, drop_halftime_substitutions: bool = True,
                 event_offsets: str = 'all', background_gap: Optional[int] = None, **kwargs):
        self.drop_halftime_substitutions = drop_halftime_substitutions
        self.event_offsets = event_offsets
        if background_gap is not None and int(background_gap) < 0:
            raise ValueError(f'background_gap must be >= 0 or None, got {background_gap}')
        self.background_gap = background_gap
        super().__init__(*args, **kwargs)

    def _is_halftime_substitution(self, ev) -> bool:
        sub = 1 if self.version == 1 else self.classes.index('Substitution')
        return ev.label == sub and ev.half == 2 and ev.position_ms < 1000

    def load_data_list(self) -> List[dict]:
        T, C = self.window_size, len(self.classes)
        data, n_games_no_event = [], 0
        self.background = []               # (feature_path, start) for masking
        for game in self._games():
            events = self._read_events(game)
            if not events:
                n_games_no_event += 1
            for half in (1, 2):
                length = self._half_length(game, half)
                if length is None:
                    continue
                path = self._feature_path(game, half)
                if length < T:
                    self._skip('half shorter than the window', path)
                    continue
                half_events = [e for e in events if e.half == half]
                for ev in half_events:
                    if ev.frame >= length:
                        self._skip('event beyond the end of the features',
                                   f'{path}: frame {ev.frame} >= {length}')
                        continue
                    if self.drop_halftime_substitutions and self._is_halftime_substitution(ev):
                        self._skip('half-time substitution', f'{self._label_path(game)}')
                        continue
                    for s in event_windows(ev.frame, length, T, self.event_offsets):
                        data.append(dict(feature_path=path, game=game, half=half, start=s,
                                         label=ev.label, event_frame=ev.frame,
                                         offset=(ev.frame - s) / T))
                gap = T if self.background_gap is None else int(self.background_gap)
                for s in event_free_windows([e.frame for e in half_events], length, T, gap):
                    data.append(dict(feature_path=path, game=game, half=half, start=s, label=C,
                                     event_frame=-1, offset=0.0))
                    self.background.append((path, s))
        if n_games_no_event:
            self._skip('game without events (background only)', 'counted, not dropped',
                       n_games_no_event)
        labels = np.array([d['label'] for d in data], dtype=np.int64)
        self.labels = labels
        self.foreground_indices = np.flatnonzero(labels < C)
        self.background_indices = np.flatnonzero(labels == C)
        self._log_summary(f'{len(self.foreground_indices)} foreground / '
                          f'{len(self.background_indices)} background windows of {T} frames; '
                          f'per class {np.bincount(labels, minlength=C + 1).tolist()}')
        if len(data) == 0:
            raise ValueError(f'no training windows in {self.ann_file or self.data_root}')
        return data

    # ------------------------------------------------------------------ loading
    def load_window(self, path: str, start: int) -> np.ndarray:
        """Inputs of frames ``start .. start + T - 1`` of one half (see ``load_segment``)."""
        return self.load_segment(path, start, start + self.window_size)

    def random_background(self, rng: np.random.Generator) -> np.ndarray:
        """A random background window (T, D): the z frames of the masking function (Eq. 4.4)."""
        if not self.background:
            raise ValueError('masking needs background windows, but the split has none')
        path, start = self.background[rng.integers(len(self.background))]
        return self.load_window(path, start)

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        info['inputs'] = self.load_window(info['feature_path'], info['start'])
        info['num_classes'] = len(self.classes)
        info['window_size'] = self.window_size
        info['background_source'] = self.random_background
        return self.pipeline(info)


@DATASETS.register_module()
class SoccerNetGameDataset(_SoccerNetBase):
    """Whole halves for sliding-window inference (Sec. 4.2.2 / 4.3).

    One item per half: its features ``(L, D)`` and the starts of the windows to score
    (``stride`` T for the v1 protocol; 4 for the challenge protocol). A half shorter than T is
    padded by repeating its last frame (counted). ``with_labels=False`` for a split without
    labels (SoccerNet-v2 challenge): only predictions are produced.
    """

    def __init__(self, *args, stride: Optional[int] = None, with_labels: bool = True, **kwargs):
        self.stride = stride
        self.with_labels = with_labels
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        T = self.window_size
        stride = self.stride or T
        data = []
        for game in self._games():
            if self.with_labels:
                self._read_events(game)      # validate now, not in the middle of testing
            for half in (1, 2):
                length = self._half_length(game, half)
                if length is None:
                    continue
                if length < T:
                    self._skip('half shorter than the window (padded)',
                               self._feature_path(game, half))
                starts = list(range(0, max(length - T, 0) + 1, stride))
                if length > T and starts[-1] != length - T:
                    starts.append(length - T)     # the tail of the half is scored too
                data.append(dict(feature_path=self._feature_path(game, half), game=game,
                                 half=half, length=length, window_starts=starts,
                                 label_path=self._label_path(game) if self.with_labels else None))
        self._log_summary(f'{len(data)} halves, windows of {T} frames at stride {stride}')
        return data

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        feats = self.load_segment(info['feature_path'], 0, info['length'])
        if len(feats) < self.window_size:
            pad = np.repeat(feats[-1:], self.window_size - len(feats), axis=0)
            feats = np.concatenate([feats, pad])
        info['inputs'] = feats
        info['num_classes'] = len(self.classes)
        info['segment_start'] = 0
        return self.pipeline(info)
