"""AVA-style keyframe dataset on pre-extracted actor / object features (thesis Sec. 3.2).

One item is one keyframe (a clip centred on it): its actors (features, boxes, labels) and its
objects (features, boxes). Items are sorted by (video_id, timestamp), so that
:class:`~.samplers.KeyframeBlockSampler` can cut blocks of consecutive keyframes, and
:class:`~.data_preprocessor.STAGEDataPreprocessor` packs a block into the batch graph.

Keyframes are those of the annotation csv (the ones the AVA protocol evaluates), minus the
excluded timestamps. Ground truth comes from the csv; for the authors' feature releases, whose
files already carry the labels of their boxes, those are used as stored.

Bad input never disappears silently:

* a keyframe of the csv without actor features is skipped and counted
  (``on_missing_actors='skip'``) or raises (``'error'``);
* a keyframe without object entries raises ``FeatureFileError`` naming the file and the key
  (``on_missing_objects='error'``, default) or gets no objects, counted (``'empty'``);
* a wrong feature size or NaN / inf raises ``FeatureFileError`` naming the file and the key;
* a keyframe with no actor (N = 0) is valid: it is packed with zero rows.

Counts are in ``dataset.skipped`` and logged once after loading.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from mmaction.registry import DATASETS, TRANSFORMS
from mmaction.structures import ActionDataSample

from .ava import read_ava_ground_truth, read_excluded, read_label_map
from .feature_io import FEATURE_FORMATS, FeatureFileError, MeanFeatureReader, build_reader
from .label_assignment import KeyframeLabelAssigner

MISSING_ACTORS = ('skip', 'error')
MISSING_OBJECTS = ('error', 'empty')
TEST_BOXES = ('detections', 'ground_truth', 'all')


@TRANSFORMS.register_module()
class PackSTAGEInputs(BaseTransform):
    """Pack one keyframe into ``inputs`` (tensors) and an ``ActionDataSample``.

    Required keys: ``video_id``, ``timestamp``, ``actor_feats`` (A, Da), ``actor_boxes`` (A, 4),
    ``object_feats`` (O, Do), ``object_boxes`` (O, 4). Optional: ``gt_labels`` (A, C) float or
    (A,) long, ``img_shape``.

    Output: ``inputs`` = dict of float tensors ``actor_feats``, ``actor_boxes``, ``object_feats``,
    ``object_boxes``; ``data_samples`` with metainfo ``video_id``, ``timestamp``, ``img_shape``
    and, with labels, ``gt_instances.bboxes`` (A, 4) and ``gt_instances.labels``.
    """

    def transform(self, results: Dict) -> Dict:
        inputs = {k: torch.tensor(np.asarray(results[k], dtype=np.float32))  # a copy
                  for k in ('actor_feats', 'actor_boxes', 'object_feats', 'object_boxes')}
        sample = ActionDataSample()
        sample.set_metainfo(dict(video_id=results['video_id'],
                                 timestamp=int(results['timestamp']),
                                 img_shape=tuple(results.get('img_shape', (1, 1)))))
        labels = results.get('gt_labels')
        if labels is not None:
            gt = InstanceData()
            gt.bboxes = inputs['actor_boxes'].clone()
            gt.labels = torch.from_numpy(np.ascontiguousarray(labels))
            sample.gt_instances = gt
        return dict(inputs=inputs, data_samples=sample)


@DATASETS.register_module()
class AVAFeatureDataset(BaseDataset):
    """Keyframes of an AVA-style csv with their pre-extracted actor and object features.

    Args:
        ann_file: AVA csv (video_id, timestamp, x1, y1, x2, y2, action_id, person_id).
        actor_file: actor features: a project-format ``.h5``, the authors' I3D actor folder, or the
            authors' SlowFast ``.h5`` (see ``feature_format``). A list of M such sources averages
            their features box by box (Table 3.3, "STAGE 16x8 + 8x8": the SlowFast-NL 8x8 and
            16x8 features "are averaged before being forwarded through STAGE", Sec. 3.3.1): every
            source must hold the same keyframes with the same boxes in the same order
            (coordinates within ``box_atol``) and feature size, else ``FeatureFileError`` names
            the files and the keyframe; boxes, scores and labels are those of the first source.
        object_file: object features (project ``.h5`` or the authors' object ``.h5``); None: no
            objects (J-HMDB-21 / UCF101-24, Sec. 3.3.1).
        label_file: label map (``.pbtxt`` or ``id: name``), sets ``metainfo['classes']``.
        exclude_file: excluded timestamps csv (None: none).
        feature_format: 'vidplugins' (default), 'stage-i3d' or 'stage-slowfast' for the actors;
            with several ``actor_file``, one format for all or a list with one per file.
        object_format: 'vidplugins' (project format) or 'stage-i3d' (the authors' object file;
            their SlowFast release reuses the I3D release's objects). None: 'vidplugins' when the
            (first) actor format is 'vidplugins', the authors' layout otherwise.
        box_atol: several ``actor_file``: largest difference allowed between the box coordinates
            (normalised) of the files.
        actor_dim, object_dim: expected feature sizes (checked; None: not checked).
        num_classes: C, label columns with column 0 the background (81 on AVA).
        multilabel: multi-hot float labels (AVA, sigmoid BCE) or one long label per actor
            (J-HMDB-21 / UCF101-24, softmax CE).
        assigner: :class:`~.label_assignment.KeyframeLabelAssigner` arguments (score and IoU
            thresholds of Sec. 3.2.2); at test time only ``det_score_thr`` applies.
        test_boxes: actors used at validation / test time (``test_mode=True``) of a project
            file, whose ground-truth boxes are marked (``is_gt``): 'detections' (default: the
            ground-truth boxes never reach a prediction), 'ground_truth' (the marked boxes
            only: the experiment of Sec. 3.3.2, "tested with ground-truth actor boxes") or
            'all'. A version-1 project file (no marks) raises ``FeatureFileError`` with
            'detections' and 'ground_truth'. The authors' releases carry no marks: their
            boxes are used as stored. Training always uses every box (Sec. 3.2.2).
        video_list: 'stage-slowfast' only: clip number -> video id, a list or a text file with
            one id per line (default: the sorted video ids of ``ann_file``).
        on_missing_actors: 'skip' (counted) or 'error'.
        on_missing_objects: 'error' or 'empty' (counted).
        check_finite: raise on NaN / inf features.
        img_shape: metainfo ``img_shape`` of every sample (boxes are normalised: (1, 1)).
        cache_features: keep every keyframe's selected features and labels in memory after
            the first read (per worker process): for feature sets that fit in memory (the CPU
            demos), not for AVA.
    """

    def __init__(self, ann_file: str, actor_file: Union[str, Sequence[str]],
                 object_file: Optional[str] = None,
                 label_file: Optional[str] = None, exclude_file: Optional[str] = None,
                 feature_format: Union[str, Sequence[str]] = 'vidplugins',
                 object_format: Optional[str] = None, box_atol: float = 1e-3,
                 actor_dim: Optional[int] = None,
                 object_dim: Optional[int] = None, num_classes: int = 81,
                 multilabel: bool = True, assigner: Optional[dict] = None,
                 test_boxes: str = 'detections',
                 video_list: Union[None, str, Sequence[str]] = None,
                 on_missing_actors: str = 'skip', on_missing_objects: str = 'error',
                 check_finite: bool = True, img_shape=(1, 1), cache_features: bool = False,
                 data_root: str = '',
                 pipeline: Sequence = (dict(type='PackSTAGEInputs'), ),
                 test_mode: bool = False, **kwargs):
        actor_files = [actor_file] if isinstance(actor_file, str) else list(actor_file)
        formats = ([feature_format] * len(actor_files) if isinstance(feature_format, str)
                   else list(feature_format))
        if not actor_files or len(formats) != len(actor_files):
            raise ValueError(f'feature_format: {len(formats)} format(s) for {len(actor_files)} '
                             f'actor file(s) {actor_files}')
        for fmt in formats + ([] if object_format is None else [object_format]):
            if fmt not in FEATURE_FORMATS:
                raise ValueError(f'feature formats must be in {FEATURE_FORMATS}, got {fmt!r}')
        if object_format is None:
            object_format = 'vidplugins' if formats[0] == 'vidplugins' else 'stage-i3d'
        if test_boxes not in TEST_BOXES:
            raise ValueError(f'test_boxes must be one of {TEST_BOXES}, got {test_boxes!r}')
        self.test_boxes = test_boxes
        if on_missing_actors not in MISSING_ACTORS:
            raise ValueError(f'on_missing_actors must be one of {MISSING_ACTORS}')
        if on_missing_objects not in MISSING_OBJECTS:
            raise ValueError(f'on_missing_objects must be one of {MISSING_OBJECTS}')
        join = (lambda p: p if p is None or not data_root or osp.isabs(p)
                else osp.join(data_root, p))
        self.actor_files = [join(p) for p in actor_files]
        self.actor_formats = formats
        # one source: its path; several: 'a + b' (names every file in messages)
        self.actor_file = ' + '.join(self.actor_files)
        self.object_file = join(object_file)
        self.label_file, self.exclude_file = label_file, exclude_file
        self.feature_format, self.object_format = feature_format, object_format
        self.box_atol = box_atol
        self.actor_dim, self.object_dim = actor_dim, object_dim
        self.num_classes, self.multilabel = num_classes, multilabel
        self.assigner = KeyframeLabelAssigner(**(assigner or {}))
        self.video_list = video_list
        self.on_missing_actors, self.on_missing_objects = on_missing_actors, on_missing_objects
        self.check_finite = check_finite
        self.img_shape = tuple(img_shape)
        self.cache_features = cache_features
        self._cache: Dict[int, dict] = {}
        self.skipped: Counter = Counter()
        metainfo = kwargs.pop('metainfo', None)
        if metainfo is None and label_file is not None:
            labels = read_label_map(label_file)
            metainfo = dict(classes=tuple(labels[k] for k in sorted(labels)),
                            class_ids=tuple(sorted(labels)))
        # Built from mmaction2's registry, so the dataset also builds outside a runner scope.
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline,
                         test_mode=test_mode, metainfo=metainfo, **kwargs)

    # ------------------------------------------------------------------ loading
    def _video_list(self, gt_keys) -> List[str]:
        if self.video_list is None:
            return sorted({v for v, _ in gt_keys})
        if isinstance(self.video_list, str):
            with open(self.video_list) as f:
                return [line.strip() for line in f if line.strip()]
        return list(self.video_list)

    def load_data_list(self) -> List[dict]:
        excluded = read_excluded(self.exclude_file)
        gt = read_ava_ground_truth(self.ann_file, self.num_classes, self.multilabel, excluded)
        self.skipped = Counter()
        readers = [build_reader(
            fmt, 'actors', path, self.actor_dim,
            video_list=self._video_list(gt) if fmt == 'stage-slowfast' else None,
            check_finite=self.check_finite)
            for fmt, path in zip(self.actor_formats, self.actor_files)]
        self.actor_reader = (readers[0] if len(readers) == 1 else
                             MeanFeatureReader(readers, box_atol=self.box_atol))
        if self.test_mode and self.test_boxes != 'all':
            version = getattr(self.actor_reader, 'version', None)
            if getattr(self.actor_reader, 'marks_gt', False) is False and version is not None:
                raise FeatureFileError(
                    f'{self.actor_file}: project feature format version {version} does not mark '
                    f'ground-truth boxes (is_gt), so test_boxes={self.test_boxes!r} cannot keep '
                    f'them apart from the detections: re-extract it with '
                    f'tools/data/ava/extract_actor_features.py, or set test_boxes=\'all\'')
        self.object_reader = None
        if self.object_file is not None:
            self.object_reader = build_reader(self.object_format, 'objects', self.object_file,
                                              self.object_dim, check_finite=self.check_finite)
        data_list = []
        for video_id, ts in sorted(gt):
            if not self.actor_reader.has(video_id, ts):
                if self.on_missing_actors == 'error':
                    raise FeatureFileError(f'{self.actor_file}: no actor features for keyframe '
                                           f'{video_id},{ts:04d} of {self.ann_file}')
                self.skipped['keyframes without actor features'] += 1
                continue
            has_objects = self.object_reader is not None
            if has_objects and not self.object_reader.has(video_id, ts):
                if self.on_missing_objects == 'error':
                    raise FeatureFileError(
                        f'{self.object_file}: no object entry for keyframe {video_id},{ts:04d} '
                        f"(set on_missing_objects='empty' to use no objects there)")
                self.skipped['keyframes without object entries (no objects used)'] += 1
                has_objects = False
            boxes, labels = gt[(video_id, ts)]
            data_list.append(dict(video_id=video_id, timestamp=ts, gt_boxes=boxes,
                                  gt_labels=labels, has_objects=has_objects))
        if self.skipped:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__} ({self.ann_file}, {self.actor_file}): ' + ', '.join(
                    f'{v} {k}' for k, v in sorted(self.skipped.items())) +
                f'; {len(data_list)} keyframes kept')
        return data_list

    # ------------------------------------------------------------------ items
    def load_keyframe(self, info: dict) -> dict:
        """Read the features of one keyframe and select / label its actors.

        Returns the ``PackSTAGEInputs`` input: ``actor_feats`` (A, Da), ``actor_boxes`` (A, 4),
        ``actor_scores`` (A,), ``object_feats`` (O, Do), ``object_boxes`` (O, 4), ``gt_labels``
        ((A, C) / (A,); training only), ``video_id``, ``timestamp``, ``img_shape``.
        """
        vid, ts = info['video_id'], info['timestamp']
        act = self.actor_reader.read(vid, ts)
        if self.test_mode:
            keep = self.assigner.keep(act['scores'])
            if 'is_gt' in act and self.test_boxes == 'detections':
                keep = keep & ~act['is_gt']
            elif 'is_gt' in act and self.test_boxes == 'ground_truth':
                keep = act['is_gt']  # Sec. 3.3.2: ground-truth boxes, whatever the threshold
            keep, labels = np.flatnonzero(keep), None
        elif 'gt_labels' in act:  # authors' releases: labels assigned at extraction
            keep = np.flatnonzero(self.assigner.keep(act['scores']))
            labels = act['gt_labels'][keep]
            if labels.shape[1] != self.num_classes:
                raise FeatureFileError(f'{self.actor_file}: {vid},{ts}: {labels.shape[1]} label '
                                       f'columns, num_classes={self.num_classes}')
            if not self.multilabel:
                labels = labels.argmax(1).astype(np.int64)
        else:
            keep, labels = self.assigner(act['scores'], act['boxes'], info['gt_boxes'],
                                         info['gt_labels'])
        if info['has_objects']:
            obj = self.object_reader.read(vid, ts)
            object_feats, object_boxes = obj['feats'], obj['boxes']
        else:
            dim = self.object_dim or 0
            object_feats, object_boxes = np.zeros((0, dim), np.float32), np.zeros((0, 4),
                                                                                   np.float32)
        return dict(video_id=vid, timestamp=ts, img_shape=self.img_shape,
                    actor_feats=act['feats'][keep], actor_boxes=act['boxes'][keep],
                    actor_scores=act['scores'][keep], object_feats=object_feats,
                    object_boxes=object_boxes, gt_labels=labels)

    def prepare_data(self, idx: int):
        if not self.cache_features:
            return self.pipeline(self.load_keyframe(self.get_data_info(idx)))
        if idx not in self._cache:  # label assignment included: deterministic per keyframe
            self._cache[idx] = self.load_keyframe(self.get_data_info(idx))
        return self.pipeline(dict(self._cache[idx]))  # the pipeline copies the arrays
