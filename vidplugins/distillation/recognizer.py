"""A student recognizer trained against a frozen teacher recognizer: the part shared by the
privileged distiller (privacy, Ch. 5) and the PAS distiller (Ch. 6).

Both run the teacher without gradients on its own view of a sample, the student on its view,
and add distillation terms on the (B, num_classes) logits to the student head's own losses. The
subclasses say what each network sees (:meth:`RecognizerDistiller.split_inputs`) and which
distillation terms apply (:meth:`RecognizerDistiller.distill`). At test time only the student
runs. mmrazor's ``SingleTeacherDistill`` feeds both networks the same input and does not import on
torch 2 (see ``../shared/docs/environment.md``), hence this small base.
"""
from __future__ import annotations

import os.path as osp
from abc import abstractmethod
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModel

from mmaction.registry import MODELS

__all__ = ['RecognizerDistiller', 'load_state_dict_file', 'recognizer_logits']


def load_state_dict_file(path: str, prefix: str = '') -> Dict[str, torch.Tensor]:
    """A checkpoint's ``state_dict`` loaded with ``weights_only=True``, keys starting with
    ``prefix`` kept and stripped. Raises FileNotFoundError naming the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def recognizer_logits(recognizer, inputs: torch.Tensor,
                      data_samples=None) -> Tuple[torch.Tensor, dict]:
    """(B, V, C, T, H, W) -> (B, num_classes) logits averaged over the V views, and the
    recognizer's auxiliary losses (``loss_aux``, empty when it has none)."""
    feats, kwargs = recognizer.extract_feat(inputs, data_samples=data_samples)
    scores = recognizer.cls_head(feats)
    return scores.view(inputs.shape[0], -1, scores.shape[-1]).mean(1), kwargs.get('loss_aux', {})


class RecognizerDistiller(BaseModel):
    """Student / frozen-teacher pair of mmaction2 recognizers (abstract, not registered: a
    subclass defines :meth:`split_inputs` and :meth:`distill`).

    Args:
        student: recognizer config; its ``data_preprocessor`` becomes the distiller's when none
            is given (both networks share input normalisation).
        teacher: recognizer config of the teacher.
        teacher_ckpt: the teacher's checkpoint (loaded by the subclass's ``init_weights``).
        teacher_ckpt_prefix: key prefix of the teacher in that file (``''``: a recognizer's).
        teacher_train_mode: the teacher's BatchNorm layers in training mode while computing
            soft targets; its weights never receive gradients either way.
    """

    def __init__(self, student: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_prefix: str = '', teacher_train_mode: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        student = dict(student)
        if data_preprocessor is None:
            data_preprocessor = student.get('data_preprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(student)
        self.teacher = MODELS.build(dict(teacher))
        self.teacher_ckpt = teacher_ckpt
        self.teacher_ckpt_prefix = teacher_ckpt_prefix
        self.teacher_train_mode = teacher_train_mode
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        """The student follows ``mode``; the teacher stays in eval mode unless
        ``teacher_train_mode`` (and never trains its weights)."""
        super().train(mode)
        self.teacher.train(bool(self.teacher_train_mode and mode))
        return self

    # ------------------------------------------------------------------ what subclasses define
    @abstractmethod
    def split_inputs(self, inputs: torch.Tensor,
                     data_samples: List) -> Tuple[torch.Tensor, torch.Tensor]:
        """(student input, teacher input), each (B, V, C, T, H, W), from the batch."""

    @abstractmethod
    def distill(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Distillation losses (names starting with ``loss``) on (B, num_classes) logits."""

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``loss``: the training batch (see :meth:`split_inputs`); ``predict`` / ``tensor``:
        the student alone on its own (B, V, C, T, H, W) test inputs."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.student.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.student._forward(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; only "loss", "predict" and "tensor"')

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        """The student head's own losses (CE) and auxiliary losses, plus :meth:`distill`
        against the teacher's logits computed without gradients."""
        x_student, x_teacher = self.split_inputs(inputs, data_samples)
        with torch.no_grad():
            teacher_logits, _ = recognizer_logits(self.teacher, x_teacher)
        student_logits, loss_aux = recognizer_logits(self.student, x_student, data_samples)
        losses = dict(self.student.cls_head.loss_by_feat(student_logits, data_samples))
        losses.update(loss_aux)
        losses.update(self.distill(student_logits, teacher_logits))
        return losses
