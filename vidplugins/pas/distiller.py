"""Training a PAS hypothesis (thesis Sec. 6.1.3-6.1.4): ``L_S = L_CE + alpha t^2 L_KL`` (Eq. 6.7)
with soft targets from the base network B, and adaptive initialisation from R_{tau-1}.

B and the hypothesis R see the *same* sample: the dataloader yields B's own input (the base
pipeline: e.g. 16 x 112 x 112) and :func:`reduce_clip` derives R's input from it on the tensor:
the frames the temporal operators keep (``t``: the first half, ``f``: every second frame, so the
same video and the same temporal position) and, for ``s``, the clip resized to R's crop size
(antialiased bilinear: resizing B's 112 crop to 80 is the 80 crop of the frame resized by 1 / 1.4,
up to interpolation). At test time R alone runs on its own (reduced) test pipeline.

B is frozen: no gradients and, with ``teacher_train_mode=True`` (the thesis's choice, Table 6.8),
its BatchNorm layers normalise with the batch statistics like the student's, with momentum 0 so
its running statistics stay those of the trained B; ``teacher_train_mode=False`` is the Table 6.8
"B eval" option. The KL term is ``vidplugins.distillation``'s ``KLDivergenceKDLoss`` with
``loss_weight = alpha t^2 = 500 x 25`` and t = 5 (its docstring states the reduction).
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from mmaction.registry import MODELS

__all__ = ['reduce_clip', 'load_state_dict_file', 'slice_state_dict', 'PASDistiller']

ALPHA, TEMPERATURE = 500.0, 5.0   # Sec. 6.2.2


def reduce_clip(inputs: torch.Tensor, frames: Optional[Sequence[int]] = None,
                size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
    """R's input from B's input of the same sample.

    Args:
        inputs: (B, V, C, T, H, W) (or (N, C, T, H, W)).
        frames: indices along T to keep (None: all).
        size: (h, w) to resize to (None: keep).
    Returns:
        (B, V, C, len(frames), h, w).
    """
    x = inputs
    if frames is not None:
        index = torch.as_tensor(list(frames), device=x.device, dtype=torch.long)
        x = x.index_select(-3, index)
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        lead = x.shape[:-2]
        x = F.interpolate(x.reshape(-1, 1, *x.shape[-2:]).float(), size=tuple(size),
                          mode='bilinear', align_corners=False, antialias=True)
        x = x.reshape(*lead, *size).to(inputs.dtype)
    return x


def load_state_dict_file(path: str, prefix: str = '') -> Dict[str, torch.Tensor]:
    """A checkpoint's ``state_dict`` (``weights_only=True``), keys starting with ``prefix`` kept
    and stripped. Raises FileNotFoundError naming the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def slice_state_dict(source: Dict[str, torch.Tensor],
                     target: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Initialise a smaller network from a larger one (the thesis's future work, Sec. 6.1.4):
    every target tensor whose name exists in ``source`` takes the leading slice of the source
    tensor along each axis (first output / input channels; blocks a layer reduction removed are
    simply absent from the target). Returns (state, names not found or not sliceable)."""
    out, skipped = {}, []
    for name, t in target.items():
        s = source.get(name)
        if s is None or s.dim() != t.dim() or any(a < b for a, b in zip(s.shape, t.shape)):
            skipped.append(name)
            continue
        out[name] = s[tuple(slice(0, n) for n in t.shape)].clone() if s.dim() else s.clone()
    return out, skipped


@MODELS.register_module()
class PASDistiller(BaseModel):
    """A PAS hypothesis R trained against the frozen base network B (module docstring).

    Args:
        student: recognizer config of R (its ``data_preprocessor`` is used when none is given).
        teacher: recognizer config of B.
        teacher_ckpt: B's checkpoint, loaded in :meth:`init_weights` (``weights_only=True``).
        teacher_ckpt_prefix: key prefix of B in that file (``''`` for a recognizer checkpoint).
        student_frames: indices of B's input frames R sees (None: all); see
            ``vidplugins.pas.operators.student_frame_index``.
        student_size: (h, w) of R's training input (None: B's).
        distill_loss: KD loss config called ``loss(student_logits, teacher_logits)``
            (default: ``KLDivergenceKDLoss`` with alpha t^2 = 12,500, t = 5).
        teacher_train_mode: B's BatchNorm in training mode (batch statistics, frozen running
            statistics) while computing soft targets (Table 6.8: True).
        init_from: adaptive fine-tuning (Sec. 6.1.4): ``dict(checkpoint=..., prefix='',
            mode='load' | 'slice')``: R_{tau-1}'s weights loaded into R (``'load'``: every shape
            must match: input operators, and the importance-ordered slices that
            ``slicing.slice_checkpoint`` writes for channel / layer operators) or the leading
            slice of every tensor taken here (``'slice'``: first channels, first blocks; the
            fallback where torch-pruning cannot trace a backbone); None: random initialisation.
    """

    def __init__(self, student: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_prefix: str = '', student_frames: Optional[Sequence[int]] = None,
                 student_size: Optional[Sequence[int]] = None,
                 distill_loss: Optional[dict] = None, teacher_train_mode: bool = True,
                 init_from: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        student = dict(student)
        if data_preprocessor is None:
            data_preprocessor = student.get('data_preprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(student)
        self.teacher = MODELS.build(dict(teacher))
        self.teacher_ckpt = teacher_ckpt
        self.teacher_ckpt_prefix = teacher_ckpt_prefix
        self.student_frames = list(student_frames) if student_frames is not None else None
        self.student_size = tuple(student_size) if student_size is not None else None
        self.teacher_train_mode = teacher_train_mode
        self.init_from = dict(init_from) if init_from else None
        if self.init_from and self.init_from.get('mode', 'load') not in ('load', 'slice'):
            raise ValueError(f"PASDistiller.init_from.mode must be 'load' or 'slice', got "
                             f"{self.init_from.get('mode')!r}")
        self.distill_loss = MODELS.build(distill_loss or dict(
            type='KLDivergenceKDLoss', loss_weight=ALPHA * TEMPERATURE ** 2,
            temperature=TEMPERATURE))
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        for m in self.teacher.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = 0.0   # batch statistics in train mode, running statistics frozen
        self.train(True)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Random init, then B from ``teacher_ckpt`` and R from ``init_from`` (if set)."""
        super().init_weights()
        if not self.teacher_ckpt:
            raise ValueError('PASDistiller: teacher_ckpt (the base network B) is required')
        self._load(self.teacher, self.teacher_ckpt, self.teacher_ckpt_prefix, 'load')
        if self.init_from:
            self._load(self.student, self.init_from['checkpoint'],
                       self.init_from.get('prefix', ''), self.init_from.get('mode', 'load'))

    @staticmethod
    def _load(module: torch.nn.Module, path: str, prefix: str, mode: str) -> None:
        state = load_state_dict_file(path, prefix)
        logger = MMLogger.get_current_instance()
        if mode == 'slice':
            state, skipped = slice_state_dict(state, module.state_dict())
            module.load_state_dict(state, strict=False)
            logger.info(f'PASDistiller: {len(state)} tensors sliced from {path}; '
                        f'{len(skipped)} kept random ({skipped[:3]}...)')
            return
        own = module.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        shapes = [k for k in own if k in state and own[k].shape != state[k].shape]
        if missing or unexpected or shapes:
            raise ValueError(f'PASDistiller: {path!r} (prefix {prefix!r}) does not match the '
                             f'network: missing {missing[:3]}, unexpected {unexpected[:3]}, '
                             f'other shapes {shapes[:3]} (mode "slice" takes subsets)')
        module.load_state_dict(state)
        logger.info(f'PASDistiller: loaded {path}')

    def train(self, mode: bool = True):
        """R follows ``mode``; B stays frozen (BN in train mode if ``teacher_train_mode``)."""
        super().train(mode)
        self.teacher.train(bool(self.teacher_train_mode and mode))
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``loss``: B's inputs (B, V, C, T, H, W); ``predict`` / ``tensor``: R alone on its own
        (already reduced) inputs."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.student.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.student._forward(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; only "loss", "predict" and "tensor"')

    @staticmethod
    def logits(recognizer, inputs: torch.Tensor, data_samples=None):
        """(B, V, C, T, H, W) -> (B, num_classes) logits averaged over views, aux losses."""
        feats, kwargs = recognizer.extract_feat(inputs, data_samples=data_samples)
        scores = recognizer.cls_head(feats)
        return scores.view(inputs.shape[0], -1, scores.shape[-1]).mean(1), \
            kwargs.get('loss_aux', {})

    def student_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """R's input derived from B's input (:func:`reduce_clip`)."""
        return reduce_clip(inputs, self.student_frames, self.student_size)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        """Eq. 6.7: ``CE(R(x_R), y) + alpha t^2 KL(B(x_B) || R(x_R))``."""
        with torch.no_grad():
            teacher_logits, _ = self.logits(self.teacher, inputs)
        student_logits, loss_aux = self.logits(self.student, self.student_inputs(inputs),
                                               data_samples)
        losses = dict(self.student.cls_head.loss_by_feat(student_logits, data_samples))
        losses.update(loss_aux)
        losses['loss_kd'] = self.distill_loss(student_logits, teacher_logits)
        return losses
