"""Feature extraction for STAGE: actor and object features per AVA keyframe (thesis Sec. 3.2.2).

STAGE trains on pre-extracted features (Ch. 3). This module produces them, in the project format
of :mod:`.feature_io`, from models of the field's libraries:

* actors (:class:`ActorFeatureExtractor`): any mmaction2 AVA detection model (``FastRCNN`` with an
  I3D / SlowOnly / SlowFast backbone). The clip around the keyframe is sampled and decoded by
  mmaction2's own AVA transforms (``SampleAVAFrames`` + ``RawFrameDecode`` / ``DecordDecode`` and
  the rest of the config's test pipeline); the boxes are replicated in time and pooled by the
  model's ``SingleRoIExtractor3D`` (RoIAlign), then averaged over t, h, w: "features are always
  extracted from the last layer of the backbone ... after averaging in space and time"
  (Sec. 3.2.2), i.e. 2048-d for SlowOnly-R50, 2304-d for SlowFast-R50.
* objects (:class:`ObjectFeatureExtractor`): any two-stage mmdet detector. The keyframe image
  goes through the detector's test pipeline; the final detections are pooled again by its RoI
  extractor, passed through its shared head when it has one (ResNet-C4 Faster R-CNN: res5) and
  averaged over space: 2048-d for a C4 detector, as the thesis's Visual Genome Faster R-CNN.

Keyframes follow AVA's convention: integer timestamps in seconds; frame ``round(fps * (t -
timestamp_start))`` of the video (mmaction2's AVA videos are cut at 900 s, hence the default
``timestamp_start=900``; use 0 for whole videos). :func:`run_extraction` writes one group per
keyframe, skips the keyframes already in the output file (resume), shows a progress bar and
flushes after each video. Missing videos and keyframes beyond a video's end are counted, logged
and reported, never dropped silently.
"""
from __future__ import annotations

import copy
import glob
import os
import os.path as osp
import time
from collections import Counter, OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .ava import read_ava_ground_truth, read_excluded
from .feature_io import open_feature_file, write_keyframe

VIDEO_EXTENSIONS = ('.mp4', '.mkv', '.webm', '.avi', '.mov', '.m4v')
#: transforms of a training/test pipeline that open or decode the video: replaced by the source's.
_DECODE_TRANSFORMS = ('RawFrameDecode', 'DecordInit', 'DecordDecode', 'PyAVInit', 'PyAVDecode',
                      'OpenCVInit', 'OpenCVDecode', 'ImgDecode')


class ExtractionInputError(ValueError):
    """An input of the extraction (proposal file, config, video) is missing or malformed."""


# --------------------------------------------------------------------------------- boxes
def read_proposals(path: str, min_score: float = 0.0) -> Dict[Tuple[str, int], np.ndarray]:
    """Person detections of mmaction2's AVA proposal files: ``{"vid,ts": (N, 5) or (N, 4)}``.

    Boxes are normalised x1, y1, x2, y2; the 5th column is the detector score (1.0 when absent).

    Returns:
        ``{(video_id, timestamp): (M, 5)}`` float32, rows with score >= ``min_score`` only.
    """
    from mmengine.fileio import load
    if not osp.isfile(path):
        raise ExtractionInputError(f'{path}: proposal file not found')
    data = load(path, file_format='pkl')
    if not isinstance(data, dict):
        raise ExtractionInputError(f'{path}: expected a dict "video_id,timestamp" -> (N, 5) '
                                   f'array, got {type(data).__name__}')
    out = {}
    for key, boxes in data.items():
        try:
            video_id, ts = str(key).rsplit(',', 1)
            ts = int(ts)
        except ValueError:
            raise ExtractionInputError(f'{path}: key {key!r} is not "video_id,timestamp"') \
                from None
        arr = np.asarray(boxes, dtype=np.float32)
        if arr.size == 0:
            arr = arr.reshape(0, 5)
        if arr.ndim != 2 or arr.shape[1] not in (4, 5):
            raise ExtractionInputError(f'{path}: key {key!r}: expected (N, 4) or (N, 5), got '
                                       f'shape {arr.shape}')
        if arr.shape[1] == 4:
            arr = np.concatenate([arr, np.ones((len(arr), 1), np.float32)], axis=1)
        out[(video_id, ts)] = arr[arr[:, 4] >= min_score]
    return out


def actor_keyframes(ann_file: Optional[str] = None, proposal_file: Optional[str] = None,
                    exclude_file: Optional[str] = None, min_score: float = 0.0
                    ) -> 'OrderedDict[Tuple[str, int], Tuple[np.ndarray, np.ndarray]]':
    """Boxes of every keyframe of a ground-truth csv and / or a proposal file.

    Ground-truth actors come first with score 1.0 (the convention of the project format) and
    marked ``is_gt``, then the detections with their scores (Sec. 3.2.2 extracts features for
    both; label assignment by IoU happens when the dataset reads them). Excluded keyframes are
    left out.

    Returns:
        ``{(video_id, timestamp): (boxes (N, 4) normalised, scores (N,), is_gt (N,) bool)}``,
        sorted.
    """
    if ann_file is None and proposal_file is None:
        raise ExtractionInputError('give a ground-truth csv (--ann-file), a proposal file '
                                   '(--proposals) or both')
    excluded = read_excluded(exclude_file)
    gt = read_ava_ground_truth(ann_file, excluded=excluded) if ann_file else {}
    dets = read_proposals(proposal_file, min_score) if proposal_file else {}
    out = OrderedDict()
    for key in sorted(set(gt) | set(dets)):
        if key in excluded:
            continue
        boxes = [gt[key][0]] if key in gt else []
        scores = [np.ones(len(gt[key][0]), np.float32)] if key in gt else []
        is_gt = [np.ones(len(gt[key][0]), bool)] if key in gt else []
        if key in dets:
            boxes.append(dets[key][:, :4])
            scores.append(dets[key][:, 4])
            is_gt.append(np.zeros(len(dets[key]), bool))
        boxes = np.concatenate(boxes).astype(np.float32) if boxes else np.zeros((0, 4), np.float32)
        scores = np.concatenate(scores).astype(np.float32) if scores else np.zeros(0, np.float32)
        is_gt = np.concatenate(is_gt) if is_gt else np.zeros(0, bool)
        out[key] = (boxes.reshape(-1, 4), scores, is_gt)
    return out


def parse_shard(text: Optional[str]) -> Tuple[int, int]:
    """``'K/N'`` (0 <= K < N) -> (K, N); None -> (0, 1), the whole input."""
    if text is None:
        return 0, 1
    try:
        k, n = (int(x) for x in str(text).split('/'))
    except ValueError:
        raise ExtractionInputError(f'--shard {text!r}: expected K/N, e.g. 0/8') from None
    if not (n >= 1 and 0 <= k < n):
        raise ExtractionInputError(f'--shard {text!r}: need N >= 1 and 0 <= K < N')
    return k, n


def shard_keyframes(keyframes: Iterable[Tuple[str, int]], shard: int, num_shards: int
                    ) -> List[Tuple[str, int]]:
    """The keyframes of shard ``shard`` of ``num_shards``: deterministic, by whole videos.

    Videos are sorted by id and dealt round-robin (video i -> shard i % N), so every keyframe
    belongs to exactly one shard, a video is decoded by one job only, and re-running a shard on
    the same inputs selects the same keyframes (resume skips those already written).
    """
    keyframes = sorted(keyframes)
    videos = sorted({v for v, _ in keyframes})
    mine = {v for i, v in enumerate(videos) if i % num_shards == shard}
    return [k for k in keyframes if k[0] in mine]


# --------------------------------------------------------------------------------- sources
class VideoFolder:
    """Videos ``<video_dir>/<video_id>.<ext>`` decoded with decord (mmaction2's ``DecordDecode``).

    Args:
        video_dir: folder of the videos.
        timestamp_start: second of the video's first frame in AVA time (900 for mmaction2's
            15-minute AVA cuts, 0 for whole videos).
    """
    decode = dict(type='DecordDecode')

    def __init__(self, video_dir: str, timestamp_start: float = 900):
        if not osp.isdir(video_dir):
            raise ExtractionInputError(f'{video_dir}: video folder not found')
        self.root = video_dir
        self.timestamp_start = timestamp_start

    def path(self, video_id: str) -> Optional[str]:
        for ext in VIDEO_EXTENSIONS:
            p = osp.join(self.root, video_id + ext)
            if osp.isfile(p):
                return p
        return None

    def video_ids(self) -> List[str]:
        return sorted(osp.splitext(n)[0] for n in os.listdir(self.root)
                      if osp.splitext(n)[1].lower() in VIDEO_EXTENSIONS)

    def open(self, video_id: str) -> Optional[dict]:
        """``dict(video_id, reader, fps, num_frames, path)``; None when the video is missing."""
        path = self.path(video_id)
        if path is None:
            return None
        import decord
        try:
            reader = decord.VideoReader(path, num_threads=1)
        except Exception as e:  # decord raises its own DECORDError
            raise ExtractionInputError(f'{path}: cannot decode the video ({e})') from None
        return dict(video_id=video_id, reader=reader, fps=float(reader.get_avg_fps()),
                    num_frames=len(reader), path=path)

    def frame_index(self, video: dict, timestamp: int) -> int:
        return int(round(video['fps'] * (timestamp - self.timestamp_start)))

    def clip_results(self, video: dict, timestamp: int) -> dict:
        """Input of the AVA pipeline (``SampleAVAFrames`` then ``DecordDecode``).

        ``SampleAVAFrames`` computes the centre frame as ``fps * (timestamp - timestamp_start)``
        and needs an integer: it is given the keyframe's frame index with ``fps = 1``, so videos
        at non-integer frame rates (29.97) stay frame exact.
        """
        return dict(video_reader=video['reader'], total_frames=video['num_frames'], fps=1,
                    timestamp=self.frame_index(video, timestamp), timestamp_start=0,
                    start_index=0, modality='RGB')

    def keyframe_image(self, video: dict, timestamp: int) -> np.ndarray:
        """(H, W, 3) uint8 BGR image of the keyframe (mmdet's channel order)."""
        rgb = video['reader'].get_batch([self.frame_index(video, timestamp)]).asnumpy()[0]
        return np.ascontiguousarray(rgb[..., ::-1])


class FrameFolder:
    """Raw frames ``<frame_dir>/<video_id>/img_00001.jpg`` (mmaction2's AVA rawframes, 30 fps,
    first frame index 1), read by mmaction2's ``RawFrameDecode``."""
    decode = dict(type='RawFrameDecode')

    def __init__(self, frame_dir: str, timestamp_start: float = 900, fps: float = 30,
                 filename_tmpl: str = 'img_{:05}.jpg', start_index: int = 1):
        if not osp.isdir(frame_dir):
            raise ExtractionInputError(f'{frame_dir}: frame folder not found')
        self.root = frame_dir
        self.timestamp_start, self.fps = timestamp_start, fps
        self.filename_tmpl, self.start_index = filename_tmpl, start_index

    def video_ids(self) -> List[str]:
        return sorted(n for n in os.listdir(self.root) if osp.isdir(osp.join(self.root, n)))

    def open(self, video_id: str) -> Optional[dict]:
        folder = osp.join(self.root, video_id)
        if not osp.isdir(folder):
            return None
        ext = osp.splitext(self.filename_tmpl)[1]
        n = len(glob.glob(osp.join(folder, '*' + ext)))
        return dict(video_id=video_id, frame_dir=folder, fps=self.fps, num_frames=n,
                    path=folder)

    def frame_index(self, video: dict, timestamp: int) -> int:
        return int(round(self.fps * (timestamp - self.timestamp_start)))

    def clip_results(self, video: dict, timestamp: int) -> dict:
        # Same integer-frame convention as VideoFolder.clip_results. SampleAVAFrames adds its
        # start_index twice (to the centre and to the clipped indices); RawFrameDecode's offset
        # is added once: file index = frame index + start_index.
        return dict(frame_dir=video['frame_dir'], filename_tmpl=self.filename_tmpl,
                    modality='RGB', shot_info=(0, video['num_frames']), fps=1,
                    timestamp=self.frame_index(video, timestamp), timestamp_start=0,
                    start_index=0, offset=self.start_index)

    def keyframe_image(self, video: dict, timestamp: int) -> np.ndarray:
        import mmcv
        idx = self.frame_index(video, timestamp) + self.start_index
        path = osp.join(video['frame_dir'], self.filename_tmpl.format(idx))
        img = mmcv.imread(path)  # BGR
        if img is None:
            raise ExtractionInputError(f'{path}: cannot read the keyframe image')
        return img


def build_source(video_dir: Optional[str] = None, frame_dir: Optional[str] = None,
                 timestamp_start: float = 900, fps: float = 30):
    """:class:`VideoFolder` or :class:`FrameFolder` (exactly one of the two folders)."""
    if (video_dir is None) == (frame_dir is None):
        raise ExtractionInputError('give exactly one of --video-dir and --frame-dir')
    if video_dir is not None:
        return VideoFolder(video_dir, timestamp_start)
    return FrameFolder(frame_dir, timestamp_start, fps)


# --------------------------------------------------------------------------------- models
def resolve_config(config: str) -> str:
    """A config path, or ``'<package>::<path>'`` (``mmaction::detection/...``,
    ``mmdet::faster_rcnn/...``) resolved to the package's installed ``.mim/configs`` file."""
    if '::' not in config:
        if not osp.isfile(config):
            raise ExtractionInputError(f'{config}: config not found')
        return config
    from mmengine.utils import get_installed_path
    package, rel = config.split('::', 1)
    path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
    if not osp.isfile(path):
        raise ExtractionInputError(f'{config}: no such config in {package} ({path})')
    return path


def load_model(config, checkpoint: Optional[str], scope: str, device: str = 'cpu',
               cfg_options: Optional[dict] = None):
    """Build ``config.model`` in ``scope``'s registry and load ``checkpoint`` (weights only).

    Returns:
        (model in eval mode on ``device``, the merged Config).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = (Config.fromfile(resolve_config(config)) if isinstance(config, str)
           else copy.deepcopy(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmaction.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('init_cfg', None)  # pretrained weights are replaced by the checkpoint
    model = MODELS.build(model_cfg)
    if checkpoint is not None and checkpoint != 'none':
        if not osp.isfile(checkpoint):
            raise ExtractionInputError(f'{checkpoint}: checkpoint not found')
        # torch >= 2.6 loads with weights_only=True; vidplugins.compat allow-lists the few
        # non-tensor types of mmengine checkpoints.
        load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.to(device)
    model.eval()  # mmaction2's ResNet3d.train() returns None: no chaining
    return model, cfg


def _test_pipeline_cfg(cfg, where: str) -> list:
    for split in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(split)
        if loader is not None and loader.get('dataset', {}).get('pipeline') is not None:
            return copy.deepcopy(list(loader.dataset.pipeline))
    if cfg.get('test_pipeline') is not None:
        return copy.deepcopy(list(cfg.test_pipeline))
    raise ExtractionInputError(f'{where}: no test_dataloader.dataset.pipeline, '
                               f'val_dataloader.dataset.pipeline or test_pipeline')


def _type_name(t) -> str:
    name = t['type'] if isinstance(t['type'], str) else t['type'].__name__
    return name.split('.')[-1]


def ava_clip_pipeline(cfg, decode: dict, where: str = 'config') -> list:
    """The config's AVA test pipeline with the decoding step of the frame source.

    ``SampleAVAFrames`` is kept (forced to ``test_mode=True``: no random jitter), the video
    opening / decoding steps are replaced by ``decode``, the rest (resize, normalising shape,
    ``PackActionInputs``) is the config's.
    """
    steps = _test_pipeline_cfg(cfg, where)
    names = [_type_name(t) for t in steps]
    if 'SampleAVAFrames' not in names:
        raise ExtractionInputError(f'{where}: test pipeline has no SampleAVAFrames step '
                                   f'(got {names}); is it an AVA detection config?')
    out = []
    for t, name in zip(steps, names):
        if name in _DECODE_TRANSFORMS:
            continue
        if name == 'SampleAVAFrames':
            t = dict(t, test_mode=True)
            out += [t, dict(decode)]
            continue
        out.append(t)
    return out


class ActorFeatureExtractor:
    """Actor features of an mmaction2 AVA detection model (``FastRCNN`` + ``AVARoIHead``).

    ``features = mean_{t,h,w} RoIAlign(backbone(clip), box replicated in time)`` with the model's
    own ``bbox_roi_extractor`` (and its ``shared_head`` when it has one), Sec. 3.2.2.

    Args:
        config: path or Config of an mmaction2 AVA detection model.
        checkpoint: weights (None or 'none': random initialisation, for checks).
        source: :class:`VideoFolder` or :class:`FrameFolder`.
        device: torch device.
        cfg_options: overrides merged into the config.
    """

    def __init__(self, config, checkpoint: Optional[str], source, device: str = 'cpu',
                 cfg_options: Optional[dict] = None):
        from mmengine.dataset import Compose
        from mmaction.registry import TRANSFORMS
        self.model, self.cfg = load_model(config, checkpoint, 'mmaction', device, cfg_options)
        where = config if isinstance(config, str) else 'config'
        roi_head = getattr(self.model, 'roi_head', None)
        if roi_head is None or not hasattr(roi_head, 'bbox_roi_extractor'):
            raise ExtractionInputError(f'{where}: model.roi_head.bbox_roi_extractor not found: '
                                       f'expected an AVA detection model (FastRCNN)')
        self.source = source
        self.device = device
        pipeline = ava_clip_pipeline(self.cfg, source.decode, where)
        self.pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])
        self.feat_dim = int(roi_head.bbox_head.in_channels)

    @torch.no_grad()
    def __call__(self, video: dict, timestamp: int, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) normalised boxes of one keyframe -> (N, D) float32 features."""
        from mmengine.dataset import pseudo_collate
        from mmdet.structures.bbox import bbox2roi
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, self.feat_dim), np.float32)
        results = self.source.clip_results(video, timestamp)
        # mmaction2's decoders scale normalised gt_bboxes to pixels, Resize / crops follow them.
        results.update(gt_bboxes=boxes.copy(), gt_labels=np.zeros(len(boxes), np.int64))
        packed = self.pipeline(results)
        data = self.model.data_preprocessor(pseudo_collate([packed]), False)
        x = self.model.extract_feat(data['inputs'])
        sample = data['data_samples'][0]
        rois = bbox2roi([sample.gt_instances.bboxes.float()])
        head = self.model.roi_head
        feats, global_feat = head.bbox_roi_extractor(x, rois)           # (N, D, t, h, w)
        if head.with_shared_head:  # e.g. ACRN / FBO context heads, as AVARoIHead applies them
            feats = head.shared_head(feats, feat=global_feat, rois=rois,
                                     img_metas=[sample.metainfo])
        feats = feats.flatten(2).mean(2)                                 # Sec. 3.2.2
        if feats.shape[1] != self.feat_dim:
            raise ExtractionInputError(
                f'RoI features have {feats.shape[1]} channels but model.roi_head.bbox_head.'
                f'in_channels = {self.feat_dim}: fix the config')
        return feats.cpu().numpy().astype(np.float32)


class ObjectFeatureExtractor:
    """Object detections and their features from a two-stage mmdet detector on the keyframe.

    Args:
        config: path or Config of an mmdet two-stage detector (e.g.
            ``mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py``).
        checkpoint: weights (None: random initialisation, for tests).
        source: :class:`VideoFolder` or :class:`FrameFolder`.
        score_thr: keep detections with score >= this.
        max_objects: keep at most this many, highest scores first (None: all).
        device, cfg_options: as :class:`ActorFeatureExtractor`.
    """

    def __init__(self, config, checkpoint: Optional[str], source, score_thr: float = 0.2,
                 max_objects: Optional[int] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None):
        from mmengine.dataset import Compose
        from mmdet.registry import TRANSFORMS
        self.model, self.cfg = load_model(config, checkpoint, 'mmdet', device, cfg_options)
        where = config if isinstance(config, str) else 'config'
        if not (hasattr(self.model, 'rpn_head') and hasattr(self.model, 'roi_head')):
            raise ExtractionInputError(f'{where}: expected a two-stage detector with rpn_head '
                                       f'and roi_head, got {type(self.model).__name__}')
        steps = [t for t in _test_pipeline_cfg(self.cfg, where)
                 if _type_name(t) != 'LoadAnnotations']
        if _type_name(steps[0]) != 'LoadImageFromFile':
            raise ExtractionInputError(f'{where}: test pipeline starts with '
                                       f'{_type_name(steps[0])}, expected LoadImageFromFile')
        steps[0] = dict(type='mmdet.LoadImageFromNDArray')  # what mmdet.apis does for arrays
        self.pipeline = Compose([TRANSFORMS.build(t) for t in steps])
        self.source, self.device = source, device
        self.score_thr, self.max_objects = score_thr, max_objects
        head = self.model.roi_head
        self.feat_dim = int(head.bbox_head.in_channels)

    @torch.no_grad()
    def __call__(self, video: dict, timestamp: int):
        """Detections of one keyframe: ``feats (M, D), boxes (M, 4) normalised, scores (M,),
        labels (M,)``."""
        from mmengine.dataset import pseudo_collate
        img = self.source.keyframe_image(video, timestamp)
        packed = self.pipeline(dict(img=img, img_id=0))
        data = self.model.data_preprocessor(pseudo_collate([packed]), False)
        samples = data['data_samples']
        x = self.model.extract_feat(data['inputs'])
        rpn = self.model.rpn_head.predict(x, samples, rescale=False)
        det = self.model.roi_head.predict(x, rpn, samples, rescale=False)[0]
        order = torch.argsort(det.scores, descending=True)
        order = order[det.scores[order] >= self.score_thr][:self.max_objects]
        bboxes, scores, labels = det.bboxes[order], det.scores[order], det.labels[order]
        feats = self.roi_features(x, bboxes)
        h, w = samples[0].metainfo['img_shape'][:2]
        norm = bboxes / bboxes.new_tensor([w, h, w, h])
        return (feats.cpu().numpy().astype(np.float32),
                norm.clamp(0, 1).cpu().numpy().astype(np.float32),
                scores.cpu().numpy().astype(np.float32), labels.cpu().numpy().astype(np.int64))

    def roi_features(self, x, bboxes: torch.Tensor) -> torch.Tensor:
        """(M, 4) boxes in the input frame -> (M, D): RoI pooling, shared head (C4: res5),
        spatial average (the input of a ``with_avg_pool`` bbox head)."""
        from mmdet.structures.bbox import bbox2roi
        head = self.model.roi_head
        if len(bboxes) == 0:
            return x[0].new_zeros(0, self.feat_dim)
        rois = bbox2roi([bboxes])
        feats = head.bbox_roi_extractor(x[:head.bbox_roi_extractor.num_inputs], rois)
        if head.with_shared_head:
            feats = head.shared_head(feats)
        feats = feats.flatten(2).mean(2)
        if feats.shape[1] != self.feat_dim:
            raise ExtractionInputError(
                f'object RoI features have {feats.shape[1]} channels but roi_head.bbox_head.'
                f'in_channels = {self.feat_dim}')
        return feats


# --------------------------------------------------------------------------------- driver
def done_keyframes(path: str) -> set:
    """Keyframes completely written in an existing output file (feats, boxes and scores)."""
    if not osp.isfile(path):
        return set()
    import h5py
    done = set()
    with h5py.File(path, 'r') as f:
        for vid in f.keys():
            for ts in f[vid].keys():
                g = f[vid][ts]
                if all(k in g for k in ('feats', 'boxes', 'scores')):
                    done.add((vid, int(ts)))
    return done


def run_extraction(out: str, kind: str, backbone: str, feat_dim: int, source,
                   keyframes: Sequence[Tuple[str, int]],
                   compute: Callable[[dict, int], tuple], logger=None,
                   split: Optional[str] = None) -> Dict[str, object]:
    """Extract the features of ``keyframes`` into the project-format file ``out``.

    Args:
        out: ``.h5`` output, opened in append mode: keyframes already there are skipped.
        kind: 'actors' or 'objects'.
        backbone: name stored in the file's attributes.
        feat_dim: D.
        source: frame source (``open(video_id)``, ``frame_index``).
        keyframes: (video_id, timestamp) pairs, grouped by video.
        compute: ``compute(video, timestamp) -> (feats, boxes, scores[, extra])``, ``extra``
            the class labels (objects) or the ground-truth marks ``is_gt`` (actors); ``video``
            is the source's ``open(video_id)`` dict (with ``video_id``).
        split: the split the features are for, stored in the file ('train', 'val', ...).

    Returns:
        counts: ``written``, ``resumed`` (already in the file), ``entities``, skip reasons
        (``missing video``, ``beyond the video end``), and ``seconds``.
    """
    from mmengine.logging import MMLogger
    from mmengine.utils import ProgressBar
    logger = logger or MMLogger.get_current_instance()
    done = done_keyframes(out)
    todo = [k for k in keyframes if k not in done]
    stats = Counter(resumed=len(keyframes) - len(todo), written=0, entities=0)
    skipped: Dict[str, List[str]] = {}
    start = time.perf_counter()
    f = open_feature_file(out, kind, backbone, feat_dim, mode='a', split=split)
    try:
        bar = ProgressBar(len(todo)) if todo else None
        by_video: 'OrderedDict[str, List[int]]' = OrderedDict()
        for vid, ts in todo:
            by_video.setdefault(vid, []).append(ts)
        for vid, stamps in by_video.items():
            video = source.open(vid)
            if video is None:
                skipped.setdefault('missing video', []).extend(f'{vid},{t:04d}' for t in stamps)
                for _ in stamps:
                    bar.update()
                continue
            for ts in stamps:
                idx = source.frame_index(video, ts)
                if not 0 <= idx < video['num_frames']:
                    skipped.setdefault('beyond the video end', []).append(
                        f'{vid},{ts:04d} (frame {idx} of {video["num_frames"]}, {video["path"]})')
                    bar.update()
                    continue
                result = compute(video, ts)
                extra = result[3] if len(result) > 3 else None
                write_keyframe(f, kind, vid, ts, result[0], result[1], result[2],
                               labels=extra if kind == 'objects' else None,
                               is_gt=extra if kind == 'actors' else None)
                stats['written'] += 1
                stats['entities'] += len(result[0])
                bar.update()
            f.flush()  # one video at a time: an interruption loses at most the current video
    finally:
        f.close()
    stats['seconds'] = time.perf_counter() - start
    for reason, keys in skipped.items():
        stats[f'skipped ({reason})'] = len(keys)
        logger.warning(f'{out}: {len(keys)} keyframe(s) skipped, {reason}: '
                       + ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else ''))
    return dict(stats)


def whole_seconds(source, video_ids: Iterable[str]) -> List[Tuple[str, int]]:
    """Every whole second of each video, as keyframes (for videos without annotations):
    timestamps ``timestamp_start + 1 ... `` up to the last whole second inside the video."""
    keys = []
    for vid in video_ids:
        video = source.open(vid)
        if video is None:
            raise ExtractionInputError(f'{source.root}: no video {vid!r}')
        duration = video['num_frames'] / video['fps']
        first = int(np.floor(source.timestamp_start)) + 1
        keys += [(vid, t) for t in range(first, int(np.ceil(source.timestamp_start + duration)))
                 if 0 <= source.frame_index(video, t) < video['num_frames']]
    return keys


def summary(stats: dict, out: str, kind: str, feat_dim: int) -> str:
    """One line for the tools: counts, shape, time per keyframe."""
    n = stats.get('written', 0)
    per = stats.get('seconds', 0.0) / n if n else 0.0
    skips = ', '.join(f'{v} {k}' for k, v in stats.items() if k.startswith('skipped'))
    return (f'{out}: {n} keyframes written ({stats.get("entities", 0)} {kind}, {feat_dim}-d), '
            f'{stats.get("resumed", 0)} already there' + (f', {skips}' if skips else '') +
            f'; {stats.get("seconds", 0.0):.1f} s ({per:.2f} s / keyframe)')

