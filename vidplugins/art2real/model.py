"""Art2Real: mmagic's CycleGAN plus the multi-scale contextual loss on painting -> photo (Eq. A.11).

``L = L_cca(G, F, D_X, D_Y) + lambda * L_CXMS(K, B)``, lambda = 0.1 (thesis App. A.1.2).

mmagic's ``CycleGAN._get_gen_loss(outputs)`` sees only the real / fake / cycle tensors, so this
subclass carries the paintings' class masks through ``train_step``: it takes them from the data
samples (where the pipeline packs them, so the data preprocessor never normalises them as images;
``LoadClassMask`` + the shared crop / flip keep them aligned with the painting) before calling
CycleGAN's step, and adds the loss of ``G(x)`` against the banks to the generator loss.

Identity loss: the original CycleGAN weights it ``0.5 x lambda_cyc = 5``; mmagic's default
``id_loss_weight`` is 0.5 (the absolute weight), so the default here is 5.0, as in the authors'
code (a pytorch-CycleGAN-and-pix2pix fork).

Initialisation: N(0, 0.02) (thesis), mmagic's own ``generation_init_weights`` through the
generators' / discriminators' ``init_cfg=dict(type='normal', gain=0.02)``; ``vidplugins.compat``
(fix 6) repairs that function under mmengine 0.10.7.
"""
from __future__ import annotations

import torch
from mmagic.models.editors.cyclegan import CycleGAN
from mmagic.registry import MODELS

__all__ = ['Art2RealCycleGAN']

#: Original CycleGAN (Zhu et al.): lambda_cyc = 10, identity 0.5 x lambda_cyc.
ORIGINAL_CYCLEGAN_LOSS = dict(cycle_loss_weight=10., id_loss_weight=5.)


class Art2RealCycleGAN(CycleGAN):
    """CycleGAN with the semantically-aware patch loss of Art2Real.

    Args:
        painting_domain, photo_domain: domain names (``img_<domain>`` inputs).
        contextual_loss: config of :class:`MultiScaleContextualLoss` (``loss_weight`` is lambda),
            or None for the plain CycleGAN (same class, same data, for a fair baseline).
        mask_key: data-sample field holding the paintings' label maps (default
            ``mask_<painting_domain>``).
        loss_config: as CycleGAN; default the original CycleGAN's weights (identity 5).
        channel_order: channel order of the images the model sees (``'bgr'``: mmagic's
            ``LoadImageFromFile`` default); banks hold RGB patches, so G(x) is flipped to RGB
            before the contextual loss.
    """

    def __init__(self, *args, painting_domain: str, photo_domain: str, contextual_loss=None,
                 mask_key: str | None = None, loss_config=ORIGINAL_CYCLEGAN_LOSS,
                 channel_order: str = 'bgr', **kwargs):
        super().__init__(*args, loss_config=dict(loss_config), **kwargs)
        for d in (painting_domain, photo_domain):
            if d not in self._reachable_domains:
                raise ValueError(f'domain {d!r} is not one of the reachable domains '
                                 f'{self._reachable_domains}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.channel_order = channel_order
        self.painting_domain, self.photo_domain = painting_domain, photo_domain
        self.mask_key = mask_key or f'mask_{painting_domain}'
        self.contextual_loss = None if contextual_loss is None else (
            MODELS.build(contextual_loss) if isinstance(contextual_loss, dict)
            else contextual_loss)
        self._masks = None

    def masks_from(self, data: dict) -> torch.Tensor:
        """The ``(B, H, W)`` label maps of the batch's paintings, from the data samples."""
        samples = data.get('data_samples')
        if samples is None:
            raise KeyError(f'Art2Real needs the paintings\' masks ({self.mask_key}) in the data '
                           'samples; add LoadClassMask and PackInputs(data_keys=[...]) to the '
                           'pipeline')
        if isinstance(samples, (list, tuple)):
            masks = [getattr(s, self.mask_key, None) for s in samples]
            if any(m is None for m in masks):
                raise KeyError(f'a data sample has no {self.mask_key!r} field: pack the masks '
                               f'with PackInputs(data_keys=[{self.mask_key!r}])')
            masks = torch.stack([torch.as_tensor(m) for m in masks])
        else:
            masks = torch.as_tensor(getattr(samples, self.mask_key))
        if masks.dim() == 4:
            masks = masks[:, 0]
        return masks.long()

    def train_step(self, data: dict, optim_wrapper):
        if self.contextual_loss is None:
            return super().train_step(data, optim_wrapper)
        self._masks = self.masks_from(data)
        try:
            return super().train_step(data, optim_wrapper)
        finally:
            self._masks = None

    def _get_gen_loss(self, outputs):
        loss_g, log_vars = super()._get_gen_loss(outputs)
        if self.contextual_loss is not None:
            fake = outputs[f'fake_{self.photo_domain}']
            masks = self._masks.to(fake.device)
            if masks.shape[-2:] != fake.shape[-2:]:
                raise ValueError(f'painting masks {tuple(masks.shape)} and generated photos '
                                 f'{tuple(fake.shape)} differ in size: the masks must go through '
                                 'the same crop / resize as the paintings')
            rgb = fake.flip(1) if self.channel_order == 'bgr' else fake
            loss_cx = self.contextual_loss(rgb, masks)
            loss_g = loss_g + loss_cx
            log_vars['loss_cx'] = loss_cx.item()
            log_vars['loss'] = loss_g.item()
        return loss_g, log_vars


MODELS.register_module(module=Art2RealCycleGAN)
