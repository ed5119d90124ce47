"""Privileged knowledge distillation (thesis Sec. 5.2.2-5.2.3, Eq. 5.5 and 5.11).

A frozen teacher ``f_t`` of the same architecture, trained on original clips, reads the original
clip x*; the student ``f_s`` reads the anonymised clip x of the *same* frames and crop. Training
loss: ``CE(sigma(f_s(x)), y) + lambda * KL(s || s_hat) [+ beta * RKD]`` with the losses of
``vidplugins.distillation.losses``. At test time only the student runs, on anonymised clips.

Unlike mmrazor's ``SingleTeacherDistill``, which feeds teacher and student the same input, the
inputs here are paired: ``PackPairedInputs`` packs (B, 2V, C, T, H, W) tensors whose first V views
are the obfuscated clip and last V the original; a training batch without that pairing is refused.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger
from mmengine.utils import is_list_of

from mmaction.registry import MODELS

from ..distillation.recognizer import RecognizerDistiller, load_state_dict_file

__all__ = ['PrivilegedDistiller']


@MODELS.register_module()
class PrivilegedDistiller(RecognizerDistiller):
    """Student / frozen-teacher pair for privacy-preserving action recognition.

    Args:
        student: recognizer config (e.g. ``Recognizer3D``); its ``data_preprocessor`` becomes
            the distiller's (teacher and student share input normalisation).
        teacher: recognizer config of the teacher (same architecture in the thesis).
        teacher_ckpt: checkpoint of the teacher trained on original clips; loaded with
            ``weights_only=True`` in :meth:`init_weights` (called by the runner before training,
            so configs build without the file; a test checkpoint of this model holds the teacher
            too). Required to train.
        teacher_ckpt_prefix: key prefix to keep and strip from the checkpoint's ``state_dict``
            (``''`` for a recognizer checkpoint, ``'student.'`` to use a distilled student).
        distill_losses: name -> loss config, each called ``loss(student_logits, teacher_logits)``
            with (B, num_classes) logits, e.g. ``dict(loss_kd=dict(type='KLDivergenceKDLoss'),
            loss_rkd=dict(type='RelationalKDLoss'))``.
        teacher_train_mode: keep the teacher's BatchNorm in training mode while computing its
            logits (Ch. 5: False, a frozen teacher; PAS Sec. 6.1.3 / Table 6.8 uses True). Its
            weights never receive gradients either way.
    """

    def __init__(self, student: dict, teacher: dict, teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_prefix: str = '', distill_losses: Optional[Dict[str, dict]] = None,
                 teacher_train_mode: bool = False, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(student, teacher, teacher_ckpt=teacher_ckpt,
                         teacher_ckpt_prefix=teacher_ckpt_prefix,
                         teacher_train_mode=teacher_train_mode,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.distill_losses = torch.nn.ModuleDict(
            {name: MODELS.build(cfg) for name, cfg in (distill_losses or {}).items()})
        for name in self.distill_losses:
            if not name.startswith('loss'):
                raise ValueError(f'distill_losses key {name!r} must start with "loss" (mmengine '
                                 'only back-propagates log entries named loss*)')
        self.teacher.train(self.teacher_train_mode)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Initialise the student (and the teacher's modules), then load the teacher checkpoint."""
        super().init_weights()
        self.load_teacher()

    def load_teacher(self, path: Optional[str] = None) -> None:
        """Load the teacher from ``path`` (default ``teacher_ckpt``) with ``weights_only=True``.

        Raises:
            ValueError / FileNotFoundError: no checkpoint configured / found.
            KeyError: the checkpoint's keys do not match the teacher (names the file and keys).
        """
        path = path or self.teacher_ckpt
        if not path:
            raise ValueError('PrivilegedDistiller: teacher_ckpt is required to train (a random '
                             'teacher would distil noise); set model.teacher_ckpt')
        try:
            state = load_state_dict_file(path, self.teacher_ckpt_prefix)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'PrivilegedDistiller: teacher_ckpt {path!r} does not exist') from None
        missing, unexpected = self.teacher.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise KeyError(f'PrivilegedDistiller: teacher_ckpt {path!r} (prefix '
                           f'{self.teacher_ckpt_prefix!r}) does not match the teacher: missing '
                           f'{missing[:5]}{"..." if len(missing) > 5 else ""}, unexpected '
                           f'{unexpected[:5]}{"..." if len(unexpected) > 5 else ""}')
        MMLogger.get_current_instance().info(f'PrivilegedDistiller: teacher loaded from {path}')

    def split_inputs(self, inputs: torch.Tensor, data_samples: List):
        """Split packed paired inputs into (student x, teacher x*), each (B, V, C, T, H, W).

        Raises:
            ValueError: a sample was not packed by ``PackPairedInputs`` or the view counts
                disagree (never distil from unpaired data).
        """
        if not is_list_of(data_samples, object) or not data_samples:
            raise ValueError('PrivilegedDistiller.loss needs the data samples')
        views = {ds.metainfo.get('paired_views') for ds in data_samples}
        if None in views or len(views) != 1:
            raise ValueError(
                'PrivilegedDistiller: training samples must be paired (PairedVideoDataset + '
                f'LoadPairedVideo/PairedDecode/PackPairedInputs); got paired_views={views}')
        v = views.pop()
        if inputs.shape[1] != 2 * v:
            raise ValueError(f'PrivilegedDistiller: inputs {tuple(inputs.shape)} do not hold '
                             f'2 x {v} paired views')
        return inputs[:, :v], inputs[:, v:]

    def distill(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Eq. 5.5 / 5.11: the configured distillation losses of f_s(x) against f_t(x*)."""
        return {name: loss(student_logits, teacher_logits)
                for name, loss in self.distill_losses.items()}
