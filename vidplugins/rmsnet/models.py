"""RMS-Net: regression and masking for soccer event spotting (thesis Ch. 4, Table 4.1).

``SpottingHead`` is the network of Table 4.1 on per-frame features; ``RMSNet`` wraps it as an
mmengine model that trains on pre-extracted features or end to end on frames with a 2D backbone
(Sec. 4.2.5, 4.3) and predicts on whole halves with sliding windows.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from .fft_conv import conv1d_same_fft, fft_length, frequency_weights
from .losses import spotting_loss


class SpottingHead(nn.Module):
    """The spotting network of Table 4.1.

    ``FC_1 -> Conv1d(k) -> Conv1d(k) -> dropout -> max over time -> FC_2 -> {FC_cls, FC_regr}``,
    ReLU after FC_1, both convolutions and FC_2 (the table omits activations; the authors' code
    uses ReLU). With the defaults (512-d input, 3 + 1 classes) it has 1,025,029 parameters.

    Args:
        in_channels: per-frame feature size D (512 for the PCA features).
        num_classes: foreground classes C; the classifier has C + 1 outputs, background last.
        hidden_channels: FC_1 / Conv_1 width (256).
        conv_channels: Conv_2 width (128).
        fc_channels: FC_2 width (64).
        kernel_size: temporal kernel of both convolutions (9, 'same' zero padding).
        dropout: drop rate before the temporal max (0.1).
    """

    def __init__(self, in_channels: int = 512, num_classes: int = 3,
                 hidden_channels: int = 256, conv_channels: int = 128, fc_channels: int = 64,
                 kernel_size: int = 9, dropout: float = 0.1):
        super().__init__()
        self.num_classes = num_classes
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.conv1 = nn.Conv1d(hidden_channels, hidden_channels, kernel_size,
                               padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(hidden_channels, conv_channels, kernel_size,
                               padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(conv_channels, fc_channels)
        self.fc_cls = nn.Linear(fc_channels, num_classes + 1)
        self.fc_reg = nn.Linear(fc_channels, 1)

    def forward(self, x: torch.Tensor):
        """Args: x (B, T, D) per-frame features. Returns (cls_logits (B, C + 1), offset (B,))."""
        return self.forward_embedded(self.embed(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """FC_1 + ReLU, applied to each frame on its own: (..., D) -> (..., 256).

        Being per-frame, it can run once over a whole half before the windows are cut, which
        sliding-window inference exploits (overlapping windows share it).
        """
        return F.relu(self.fc1(x))

    def forward_embedded(self, x: torch.Tensor):
        """The rest of the network on embedded windows (B, T, 256)."""
        x = x.transpose(1, 2)                    # (B, 256, T)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))                # (B, 128, T)
        x = self.dropout(x)
        x = x.amax(dim=2)                        # max over time: (B, 128)
        x = F.relu(self.fc2(x))                  # (B, 64)
        return self.fc_cls(x), self.fc_reg(x).squeeze(1)

    def forward_embedded_fft(self, x: torch.Tensor):
        """Same outputs as :meth:`forward_embedded` (eval mode, up to float32 rounding), with both
        convolutions computed per frequency bin (``fft_conv``): about 2x faster on many windows.

        Args: x (B, T, 256) embedded windows. Returns (cls_logits (B, C + 1), offset (B,)).
        """
        if self.training:
            raise RuntimeError('forward_embedded_fft is for inference (dropout is not applied)')
        k = self.conv1.kernel_size[0]
        n = fft_length(x.shape[1], k)
        x = x.transpose(0, 1)                    # (T, B, 256), time first
        x = F.relu(conv1d_same_fft(x, self._frequency_weights(self.conv1, n), self.conv1.bias,
                                   n, k))
        x = F.relu(conv1d_same_fft(x, self._frequency_weights(self.conv2, n), self.conv2.bias,
                                   n, k))       # (T, B, 128)
        x = x.amax(dim=0)                        # max over time: (B, 128)
        x = F.relu(self.fc2(x))
        return self.fc_cls(x), self.fc_reg(x).squeeze(1)

    def _frequency_weights(self, conv: nn.Conv1d, n: int) -> torch.Tensor:
        # Cached per (layer, length, weight version): recomputing costs as much as a half's conv.
        key = (id(conv), n, conv.weight._version, conv.weight.data_ptr(), conv.weight.device)
        cache = self.__dict__.setdefault('_freq_cache', {})
        if key not in cache:
            for old in [k for k in cache if k[0] == id(conv)]:
                del cache[old]
            with torch.no_grad():
                cache[key] = frequency_weights(conv.weight, n)
        return cache[key]


@MODELS.register_module()
class SpottingDataPreprocessor(BaseDataPreprocessor):
    """Stacks samples into a batch; normalises frames (uint8 ``(T, H, W, 3)``) when given.

    Features ``(T, D)`` pass through as float32. Frames become ``(B, T, 3, H, W)`` floats,
    normalised with ``mean`` / ``std`` (RGB, 0-255 scale) like mmpretrain's preprocessors.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None):
        super().__init__()
        self.normalize = mean is not None
        if self.normalize:
            self.register_buffer('mean', torch.tensor(mean).view(1, 1, 3, 1, 1), False)
            self.register_buffer('std', torch.tensor(std).view(1, 1, 3, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Outside training, uint8 frames stay uint8 ``(B, L, 3, H, W)`` (a view, no copy): a whole
        half is normalised chunk by chunk in ``RMSNet.encode`` (``normalize_frames``), so that
        memory is bounded by the chunk, not by the half (~5,400 frames)."""
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if inputs.dim() == 5:                    # frames (B, T, H, W, 3) -> (B, T, 3, H, W)
            if inputs.shape[-1] == 3:
                inputs = inputs.permute(0, 1, 4, 2, 3)
            if training or inputs.dtype != torch.uint8:
                inputs = self.normalize_frames(inputs)
        else:
            inputs = inputs.float()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

    def normalize_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., 3, H, W) frames, 0-255 -> float32, normalised with ``mean`` / ``std``."""
        frames = frames.float()
        if self.normalize:
            shape = (1,) * (frames.dim() - 3) + (3, 1, 1)
            frames = (frames - self.mean.view(shape)) / self.std.view(shape)
        return frames


@MODELS.register_module()
class RMSNet(BaseModel):
    """RMS-Net spotting model (Sec. 4.1).

    Inputs are per-frame features ``(B, L, D)`` or frames ``(B, L, 3, H, W)``. In training each
    sample is one window (L = T); in prediction each sample is a segment of a half (often the whole
    half) whose windows start at ``data_sample.window_starts``: the backbone (if any) encodes each
    frame once, the windows are gathered from the encoded segment.

    Args:
        head: ``SpottingHead`` keyword arguments.
        window_size: T (41 frames = 20 s at 2 fps).
        regression_weight: lambda of Eq. 4.3 (10).
        use_regression: False for the ablation "w/o offset regression branch" (Table 4.3): no
            regression loss and every prediction placed at the window centre (offset 0.5).
        backbone: optional mmpretrain 2D backbone config (end-to-end variant, Sec. 4.2.5), applied
            to every frame and averaged over space; its output size must equal
            ``head.in_channels``.
        max_windows_per_forward: bounds memory when predicting a long segment.
        encode_chunk_frames: at inference (validation, test, demo), the backbone encodes a
            segment this many frames at a time (each chunk normalised on its own), so memory is
            bounded by the chunk instead of the whole half; None = all frames in one call.
            Training windows (T frames) are encoded at once, as before.
        fft_conv: at inference, compute the convolutions of 8 or more windows per frequency bin
            (:mod:`vidplugins.rmsnet.fft_conv`; same numbers up to float32 rounding, about 2x
            faster over a full match).
    """

    def __init__(self, head: dict, window_size: int = 41, regression_weight: float = 10.0,
                 use_regression: bool = True, backbone: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, max_windows_per_forward: int = 512,
                 encode_chunk_frames: Optional[int] = None, fft_conv: bool = True,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='SpottingDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from mmaction2's registry, so the model also builds outside a runner scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.head = SpottingHead(**head)
        self.num_classes = self.head.num_classes
        self.window_size = window_size
        self.regression_weight = regression_weight
        self.use_regression = use_regression
        self.max_windows_per_forward = max_windows_per_forward
        if encode_chunk_frames is not None and int(encode_chunk_frames) < 1:
            raise ValueError(f'encode_chunk_frames must be >= 1 or None, got '
                             f'{encode_chunk_frames}')
        self.encode_chunk_frames = encode_chunk_frames
        self.fft_conv = fft_conv
        self.backbone = MODELS.build(backbone) if backbone is not None else None

    # ------------------------------------------------------------------ encoding
    def encode(self, inputs: torch.Tensor, chunk_frames: Optional[int] = None) -> torch.Tensor:
        """(B, L, D) features pass through; (B, L, 3, H, W) frames -> (B, L, D) backbone features.

        Frames go through the backbone ``chunk_frames`` at a time (all at once when None); uint8
        frames (inference, see ``SpottingDataPreprocessor``) are normalised chunk by chunk.
        """
        if self.backbone is None:
            if inputs.dim() != 3:
                raise ValueError(f'RMSNet without a backbone takes features (B, L, D), got '
                                 f'shape {tuple(inputs.shape)}')
            return inputs
        b, l = inputs.shape[:2]
        frames = inputs.flatten(0, 1)                                    # (B * L, 3, H, W)
        step = len(frames) if not chunk_frames else int(chunk_frames)
        feats = [self._encode_frames(frames[i:i + step]) for i in range(0, len(frames), step)]
        return torch.cat(feats).view(b, l, -1)

    def _encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) frames -> (n, D) spatially averaged backbone features."""
        if frames.dtype == torch.uint8:
            frames = self.data_preprocessor.normalize_frames(frames)
        feats = self.backbone(frames)
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        return feats.mean(dim=(2, 3)) if feats.dim() == 4 else feats   # spatial average

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.head(self.encode(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; expected tensor, loss or predict')

    # ------------------------------------------------------------------ training
    def loss(self, inputs: torch.Tensor, data_samples: List[ActionDataSample]) -> dict:
        """Eq. 4.3 on a batch of windows (B, T, ...)."""
        cls_logits, offset_logits = self.head(self.encode(inputs))
        dev = cls_logits.device
        labels = torch.stack([ds.gt_label.reshape(()) for ds in data_samples]).long().to(dev)
        offsets = torch.tensor([float(ds.gt_offset) for ds in data_samples], device=dev)
        foreground = labels < self.num_classes
        weight = self.regression_weight if self.use_regression else 0.0
        return spotting_loss(cls_logits, offset_logits, labels, offsets, foreground, weight)

    # ------------------------------------------------------------------ inference
    def predict_windows(self, feats: torch.Tensor, starts: torch.Tensor):
        """Score windows of one encoded segment.

        Args:
            feats: (L, D) encoded segment; starts: (W,) window starts within it.
        Returns:
            probs (W, C + 1) softmax scores, offsets (W,) in [0, 1].
        """
        T = self.window_size
        emb = self.head.embed(feats)                           # (L, 256), once per frame
        t = torch.arange(T, device=feats.device)
        probs, offsets = [], []
        for chunk in starts.split(self.max_windows_per_forward):
            contiguous = bool((chunk == chunk[0] + T * torch.arange(
                len(chunk), device=chunk.device)).all()) and int(chunk[-1]) + T <= len(emb)
            if contiguous:                                     # stride T: a view, no copy
                windows = emb[int(chunk[0]):int(chunk[0]) + T * len(chunk)].view(len(chunk), T, -1)
            else:
                windows = emb[chunk[:, None] + t[None]]        # (w, T, 256)
            if self.fft_conv and not self.training and len(chunk) >= 8:
                cls_logits, offset_logits = self.head.forward_embedded_fft(windows)
            else:
                cls_logits, offset_logits = self.head.forward_embedded(windows)
            probs.append(cls_logits.softmax(dim=1))
            offsets.append(torch.sigmoid(offset_logits) if self.use_regression
                           else torch.full_like(offset_logits, 0.5))
        return torch.cat(probs), torch.cat(offsets)

    def predict(self, inputs: torch.Tensor, data_samples: List[ActionDataSample]):
        """Per sample: window scores stored in ``data_sample.pred_windows`` (InstanceData with
        ``starts`` absolute frame indices, ``scores`` (W, C + 1), ``offsets`` (W,))."""
        feats = self.encode(inputs, self.encode_chunk_frames)
        for feat, ds in zip(feats, data_samples):
            rel = torch.as_tensor(ds.window_starts, device=feat.device).long()
            probs, offsets = self.predict_windows(feat, rel)
            pred = InstanceData()
            pred.starts = (rel + int(ds.metainfo.get('segment_start', 0))).cpu()
            pred.scores = probs.detach().cpu()
            pred.offsets = offsets.detach().cpu()
            ds.pred_windows = pred
        return data_samples
