"""The PersonArt model (thesis App. A.2.1): phi, two joint-space projections, attribute branches."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.registry import MODELS

from .heads import AttributeBranches
from .losses import attribute_loss, hardest_negative_hinge
from .similarity import binarize, combined_score, project, soft_attribute_similarity

REAL, ART = 0, 1


@MODELS.register_module()
class PersonArtDataPreprocessor(BaseDataPreprocessor):
    """Moves a collated batch to the device; images (uint8 or float, 0-255) become float32.

    Normalisation belongs to phi (``BackboneEmbedder``), so dlib gets the raw pixels it expects.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, dict):
            data['inputs'] = {k: v.float() if torch.is_tensor(v) else v for k, v in inputs.items()}
        elif torch.is_tensor(inputs):
            data['inputs'] = inputs.float()
        return data


@MODELS.register_module()
class PersonArt(BaseModel):
    """Cross-domain face retrieval with attributes (Eq. A.16-A.21).

    Args:
        embedder: config of phi (``BackboneEmbedder`` or ``DlibFaceEmbedder``); None when the
            dataset gives precomputed phi features (B, D_phi) (the thesis' frozen-phi setting).
        feat_dim: D_phi. embed_dim: D (defaults to D_phi; the residual projection needs it).
        residual: see ``similarity.project``.
        num_attributes: n attribute branches (0 disables them).
        shared_attributes: one attribute network for both domains (Table A.5 "Joint").
        margin: hinge margin (Eq. A.19). attr_loss_weight: weight of the branches' CE.
        lam: lambda of Eq. A.21 for ``score``.
        phi_norm: standardise phi per domain (affine-free batch norm, running statistics at test
            time) before the projections. Not in the thesis (off by default); a random or
            untrained phi, whose post-ReLU features share one large common component, needs it
            (the CPU demo).

    Inputs: ``{'real': x, 'art': x}`` in ``loss`` mode; ``{'image': x}`` with
    ``data_samples['domain']`` (B,) in ``predict`` / ``tensor`` modes; ``x`` is (B, 3, H, W) RGB
    0-255 or (B, D_phi) features.
    """

    def __init__(self, embedder: Optional[dict] = None, feat_dim: int = 128,
                 embed_dim: Optional[int] = None, residual: bool = True,
                 num_attributes: int = 40, attribute_hidden: Sequence[int] = (1024, 512, 64),
                 shared_attributes: bool = False, margin: float = 0.1,
                 attr_loss_weight: float = 1.0, lam: float = 0.2, phi_norm: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PersonArtDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.embedder = MODELS.build(embedder) if embedder else None
        embed_dim = embed_dim or feat_dim
        self.residual, self.margin, self.lam = residual, margin, lam
        self.attr_loss_weight = attr_loss_weight
        init = torch.zeros if residual else (lambda *s: torch.randn(*s) / feat_dim ** 0.5)
        self.w_r = nn.Parameter(init(feat_dim, embed_dim))
        self.w_a = nn.Parameter(init(feat_dim, embed_dim))
        self.phi_norm = nn.ModuleList([nn.BatchNorm1d(feat_dim, affine=False)
                                       for _ in (REAL, ART)]) if phi_norm else None
        self.num_attributes = num_attributes
        if num_attributes:
            self.attr_real = AttributeBranches(feat_dim, num_attributes, attribute_hidden)
            self.attr_art = (self.attr_real if shared_attributes else
                             AttributeBranches(feat_dim, num_attributes, attribute_hidden))

    # ---- building blocks ----
    @property
    def differentiable(self) -> bool:
        return self.embedder is None or getattr(self.embedder, 'differentiable', True)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images or (B, D_phi) features -> (B, D_phi)."""
        if x.dim() == 2:
            return x
        if self.embedder is None:
            raise ValueError('image input needs an embedder (phi) in the model config')
        return self.embedder(x)

    def embed(self, phi: torch.Tensor, domain: int) -> torch.Tensor:
        """f_r (Eq. A.17) for domain REAL, f_a (Eq. A.16) for ART: (B, D_phi) -> (B, D)."""
        if self.phi_norm is not None:
            phi = self.phi_norm[domain](phi)
        return project(phi, self.w_r if domain == REAL else self.w_a, self.residual)

    def attributes(self, phi: torch.Tensor, domain: int) -> Optional[torch.Tensor]:
        """(B, D_phi) -> (B, n, 2) branch logits of the domain's attribute network."""
        if not self.num_attributes:
            return None
        return (self.attr_real if domain == REAL else self.attr_art)(phi)

    def score(self, real: torch.Tensor, art_embedding: torch.Tensor,
              art_bits: Optional[torch.Tensor] = None, lam: Optional[float] = None):
        """s(I^R, I^A) of Eq. A.21 for paired rows, differentiable w.r.t. the real input.

        Args:
            real: (B, 3, H, W) query images (or features); art_embedding: (B, D) f_a of the
                gallery faces; art_bits: (B, n) their binarised attributes.
        Returns:
            (B,) scores (the attribute term uses ``soft_attribute_similarity``).
        """
        lam = self.lam if lam is None else lam
        phi = self.phi(real)
        s_i = (self.embed(phi, REAL) * art_embedding).sum(-1)
        s_a = torch.zeros_like(s_i)
        if self.num_attributes and art_bits is not None and lam:
            prob = self.attributes(phi, REAL).softmax(-1)[..., 1]
            s_a = soft_attribute_similarity(prob, art_bits)
        return combined_score(s_i, s_a, lam)

    # ---- mmengine interface ----
    def forward(self, inputs: Union[dict, torch.Tensor], data_samples: Optional[dict] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            x = inputs['image'] if isinstance(inputs, dict) else inputs
            domain = REAL if data_samples is None else int(data_samples['domain'][0])
            return self.embed(self.phi(x), domain)
        raise ValueError(f'unknown mode {mode!r}')

    def loss(self, inputs: dict, data_samples: dict) -> Dict[str, torch.Tensor]:
        phi_r, phi_a = self.phi(inputs['real']), self.phi(inputs['art'])
        f_r, f_a = self.embed(phi_r, REAL), self.embed(phi_a, ART)
        ids = data_samples.get('identity') if data_samples else None
        losses = dict(loss_rank=hardest_negative_hinge(f_r, f_a, ids, self.margin))
        labels = data_samples.get('attributes') if data_samples else None
        if self.num_attributes and labels is not None and (labels >= 0).any():
            w = self.attr_loss_weight
            losses['loss_attr_real'] = w * attribute_loss(self.attributes(phi_r, REAL), labels)
            losses['loss_attr_art'] = w * attribute_loss(self.attributes(phi_a, ART), labels)
        return losses

    def predict(self, inputs: dict, data_samples: dict) -> List[dict]:
        """One dict per item: ``embedding`` (D,), ``attr_prob`` (n,), plus the sample's fields."""
        x = inputs['image'] if isinstance(inputs, dict) else inputs
        domain = data_samples['domain'].view(-1)
        phi = self.phi(x)
        emb = torch.empty(phi.shape[0], self.w_r.shape[1], device=phi.device)
        prob = None
        if self.num_attributes:
            prob = torch.empty(phi.shape[0], self.num_attributes, device=phi.device)
        for d in (REAL, ART):
            sel = domain == d
            if sel.any():
                emb[sel] = self.embed(phi[sel], d)
                if prob is not None:
                    prob[sel] = self.attributes(phi[sel], d).softmax(-1)[..., 1]
        out = []
        for i in range(phi.shape[0]):
            item = {k: v[i].detach().cpu() for k, v in data_samples.items() if torch.is_tensor(v)}
            item['embedding'] = emb[i].detach().cpu()
            if prob is not None:
                item['attr_prob'] = prob[i].detach().cpu()
            out.append(item)
        return out


def attribute_bits(prob: torch.Tensor) -> torch.Tensor:
    """Binarised attributes gamma(.) from probabilities (threshold 0.5, Eq. A.20)."""
    return prob > 0.5


__all__ = ['PersonArt', 'PersonArtDataPreprocessor', 'attribute_bits', 'binarize', 'REAL', 'ART']
