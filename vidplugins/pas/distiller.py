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

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger

from mmaction.registry import MODELS

from ..distillation.recognizer import RecognizerDistiller, load_state_dict_file

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
class PASDistiller(RecognizerDistiller):
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
        super().__init__(student, teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_prefix=teacher_ckpt_prefix,
                         teacher_train_mode=teacher_train_mode,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student_frames = list(student_frames) if student_frames is not None else None
        self.student_size = tuple(student_size) if student_size is not None else None
        self.init_from = dict(init_from) if init_from else None
        if self.init_from and self.init_from.get('mode', 'load') not in ('load', 'slice'):
            raise ValueError(f"PASDistiller.init_from.mode must be 'load' or 'slice', got "
                             f"{self.init_from.get('mode')!r}")
        self.distill_loss = MODELS.build(distill_loss or dict(
            type='KLDivergenceKDLoss', loss_weight=ALPHA * TEMPERATURE ** 2,
            temperature=TEMPERATURE))
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

    def student_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """R's input derived from B's input (:func:`reduce_clip`)."""
        return reduce_clip(inputs, self.student_frames, self.student_size)

    def split_inputs(self, inputs: torch.Tensor,
                     data_samples: List) -> Tuple[torch.Tensor, torch.Tensor]:
        """(R's reduced input, B's own input) of the same samples."""
        return self.student_inputs(inputs), inputs

    def distill(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Eq. 6.7's ``alpha t^2 KL(B(x_B) || R(x_R))`` (the CE term is the student head's)."""
        return dict(loss_kd=self.distill_loss(student_logits, teacher_logits))
