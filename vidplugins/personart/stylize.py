"""Artistic proxies of real faces by Gatys style transfer (thesis Eq. A.13-A.15, App. A.2.2).

VGG-19 (torchvision layout, weights from a user file) activations after ReLU at conv1_1, conv2_1,
conv3_1, conv4_1, conv5_1 encode the style (Gram matrices), conv4_2 the content. The generated
image starts from the photo, is optimised with L-BFGS on its pixels and clamped to [0, 1] at every
evaluation. Loss ``L = E_s + alpha E_c`` with alpha 0.02; Eq. A.14 / A.15 are written without size
constants in the thesis: here E_s carries Gatys et al.'s ``1 / (4 N_l^2 M_l^2)`` per layer (mean
over the 5 layers) and E_c is ``1/2`` the mean squared difference, so the loss does not grow with
the image size (the regeneration threshold, 40 in the thesis, is a parameter).
"""
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn

# indices in torchvision's vgg19().features of the ReLU after each named conv
STYLE_LAYERS = {'conv1_1': 1, 'conv2_1': 6, 'conv3_1': 11, 'conv4_1': 20, 'conv5_1': 29}
CONTENT_LAYER = {'conv4_2': 22}
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build_vgg19_features(weights: Optional[str]) -> nn.Module:
    """torchvision VGG-19 ``features`` up to conv5_1's ReLU, frozen, eval mode.

    Args:
        weights: a state dict file of torchvision's ``vgg19`` (``features.*`` keys, others
            ignored) or of its ``features`` alone; None keeps the random initialisation.
    """
    from torchvision.models.vgg import cfgs, make_layers
    # torchvision's VGG-19 'features' layout (config 'E'), without its 100M-parameter classifier;
    # with a weights file the layers are made on the meta device (no random initialisation)
    # and take the file's tensors
    end = STYLE_LAYERS['conv5_1'] + 1
    if weights is None:
        return _frozen(make_layers(cfgs['E'])[:end])
    if not osp.isfile(weights):
        raise FileNotFoundError(f'VGG-19 weights file not found: {weights}')
    state = torch.load(weights, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f'{weights}: expected a state dict')
    state = state.get('state_dict', state)
    if any(k.startswith('features.') for k in state):
        state = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
    with torch.device('meta'):
        feats = make_layers(cfgs['E'])[:end]
    state = {k: v for k, v in state.items()
             if k.split('.')[0].isdigit() and int(k.split('.')[0]) < end}
    missing, _ = feats.load_state_dict(state, strict=False, assign=True)
    if missing:
        raise KeyError(f'{weights}: missing VGG-19 weights {missing[:4]}')
    return _frozen(feats)


def _frozen(feats: nn.Module) -> nn.Module:
    for p in feats.parameters():
        p.requires_grad_(False)
    return feats.eval()


def gram(feat: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (C, C) Gram matrix G = F F^T (Eq. A.14)."""
    f = feat.flatten(2)[0]
    return f @ f.t()


class GatysStylizer:
    """Style transfer with a fixed VGG-19.

    Args:
        features: ``build_vgg19_features(...)``; alpha: content weight (0.02); steps: L-BFGS
            iterations (function evaluations).
    """

    def __init__(self, features: nn.Module, alpha: float = 0.02, steps: int = 300,
                 lr: float = 1.0):
        self.features, self.alpha, self.steps, self.lr = features, alpha, steps, lr
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(STD).view(1, 3, 1, 1)
        self.want = sorted(set(STYLE_LAYERS.values()) | set(CONTENT_LAYER.values()))

    def activations(self, img: torch.Tensor) -> Dict[int, torch.Tensor]:
        x = (img - self.mean) / self.std
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.want:
                out[i] = x
        return out

    def loss(self, acts, style_grams, content_feat) -> torch.Tensor:
        e_s = 0.0
        for i in STYLE_LAYERS.values():
            _, c, h, w = acts[i].shape
            e_s = e_s + ((gram(acts[i]) - style_grams[i]) ** 2).sum() / (4 * c * c * (h * w) ** 2)
        e_s = e_s / len(STYLE_LAYERS)
        ci = CONTENT_LAYER['conv4_2']
        e_c = 0.5 * ((acts[ci] - content_feat) ** 2).mean()
        return e_s + self.alpha * e_c

    def __call__(self, photo: torch.Tensor, painting: torch.Tensor):
        """(3, H, W) photo and (3, h, w) painting in [0, 1] -> ((3, H, W) result, final loss)."""
        with torch.no_grad():
            style = self.activations(painting.unsqueeze(0))
            style_grams = {i: gram(style[i]) for i in STYLE_LAYERS.values()}
            content = self.activations(photo.unsqueeze(0))[CONTENT_LAYER['conv4_2']]
        img = photo.detach().clone().contiguous().unsqueeze(0).requires_grad_(True)
        opt = torch.optim.LBFGS([img], lr=self.lr, max_iter=self.steps,
                                line_search_fn='strong_wolfe')

        def closure():
            with torch.no_grad():
                img.clamp_(0, 1)
            opt.zero_grad()
            loss = self.loss(self.activations(img), style_grams, content)
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            img.clamp_(0, 1)
            final = float(self.loss(self.activations(img), style_grams, content))
        return img.detach()[0], final
