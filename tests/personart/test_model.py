"""The PersonArt mmengine model: losses, predictions, phi backends, explanations."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

import vidplugins.personart  # noqa: F401
from vidplugins.personart.embedders import load_user_weights
from vidplugins.personart.explain import explain, integrated_gradients, occlusion_map
from vidplugins.personart.losses import hardest_negative_hinge
from vidplugins.personart.model import ART, REAL

TINY_RESNET = dict(type='BackboneEmbedder', frozen=True, pool=1,
                   backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(1, ),
                                 strides=(1, 2), dilations=(1, 1), _scope_='mmpretrain'))


def features_model(**kw):
    torch.manual_seed(0)
    cfg = dict(type='PersonArt', embedder=None, feat_dim=12, attribute_hidden=(16, 8, 4))
    cfg.update(kw)
    return MODELS.build(cfg)


def test_loss_and_predict_on_features():
    model = features_model()
    with torch.no_grad():   # non-zero projections
        model.w_r.normal_(0, 0.3)
        model.w_a.normal_(0, 0.3)
    phi_r, phi_a = torch.randn(6, 12), torch.randn(6, 12)
    ids = torch.tensor([0, 0, 1, 2, 3, 4])
    attrs = torch.randint(0, 2, (6, 40))
    batch = dict(inputs=dict(real=phi_r, art=phi_a),
                 data_samples=dict(identity=ids, attributes=attrs))
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    f_r = F.normalize(phi_r + phi_r @ model.w_r, dim=1)
    f_a = F.normalize(phi_a + phi_a @ model.w_a, dim=1)
    assert losses['loss_rank'].item() == pytest.approx(
        hardest_negative_hinge(f_r, f_a, ids, 0.1).item(), abs=1e-6)
    assert set(losses) == {'loss_rank', 'loss_attr_real', 'loss_attr_art'}
    sum(losses.values()).backward()
    assert model.w_r.grad.abs().sum() > 0 and model.w_a.grad.abs().sum() > 0
    assert model.attr_real.weights[0].grad is not None
    model.eval()
    pred = model(dict(image=torch.cat([phi_r[:2], phi_a[:2]])),
                 dict(domain=torch.tensor([0, 0, 1, 1]), identity=torch.arange(4)),
                 mode='predict')
    assert len(pred) == 4 and pred[0]['embedding'].shape == (12, )
    assert torch.allclose(pred[0]['embedding'], f_r[0], atol=1e-6)
    assert torch.allclose(pred[2]['embedding'], f_a[0], atol=1e-6)
    assert pred[3]['attr_prob'].shape == (40, )
    shared = features_model(shared_attributes=True)
    assert shared.attr_real is shared.attr_art


def test_untrained_residual_projection_is_phi_cosine():
    model = features_model(num_attributes=0)
    phi = torch.randn(4, 12)
    assert torch.allclose(model.embed(phi, REAL), F.normalize(phi, dim=1))
    assert torch.allclose(model.embed(phi, ART), F.normalize(phi, dim=1))


def test_backbone_phi_user_weights_and_integrated_gradients(tmp_path):
    torch.manual_seed(0)
    emb = MODELS.build(TINY_RESNET)
    path = str(tmp_path / 'r18.pth')
    torch.save({'backbone.' + k: v.clone().fill_(0.01) for k, v in
                emb.backbone.state_dict().items()}, path)
    cfg = dict(TINY_RESNET, checkpoint=path, checkpoint_prefix='backbone.')
    loaded = MODELS.build(cfg)
    assert all(float(v.float().mean()) == pytest.approx(0.01) for k, v in
               loaded.backbone.state_dict().items() if 'num_batches' not in k)
    torch.save({'fc.weight': torch.zeros(2)}, str(tmp_path / 'bad.pth'))
    with pytest.raises(KeyError, match='bad.pth: weights do not match'):
        load_user_weights(emb.backbone, str(tmp_path / 'bad.pth'))
    model = MODELS.build(dict(type='PersonArt', embedder=TINY_RESNET, feat_dim=128,
                              attribute_hidden=(8, 8, 4)))
    with torch.no_grad():
        model.w_r.normal_(0, 0.2)
    model.eval()
    img = torch.rand(3, 32, 32) * 255
    art = F.normalize(torch.randn(2, 128), dim=1)
    bits = torch.rand(2, 40) > 0.5
    attr = integrated_gradients(model, img, art, bits, n_steps=64)
    assert attr.shape == (2, 3, 32, 32)
    # completeness (Eq. A.24): attributions sum to s(I) - s(black)
    with torch.no_grad():
        x = img.unsqueeze(0).expand(2, -1, -1, -1)
        delta = model.score(x, art, bits) - model.score(torch.zeros_like(x), art, bits)
    assert torch.allclose(attr.flatten(1).sum(1), delta, atol=0.05 * delta.abs().max() + 1e-4)
    maps, method = explain(model, img, art[:1], bits[:1], n_steps=8)
    assert method == 'integrated_gradients' and maps.shape == (1, 32, 32)
    # occlusion: blacking out a window changes the score by the map's value there
    occ = occlusion_map(model, img, art[:1], bits[:1], window=16, stride=16)
    masked = img.clone()
    masked[:, :16, :16] = 0
    with torch.no_grad():
        drop = model.score(img[None], art[:1], bits[:1]) - model.score(masked[None], art[:1],
                                                                      bits[:1])
    assert occ[0, 0, 0, 0].item() == pytest.approx(drop.item(), abs=1e-5)


def test_score_is_eq_a21_at_binary_attributes():
    model = features_model()
    model.eval()
    phi = torch.randn(3, 12)
    art = F.normalize(torch.randn(3, 12), dim=1)
    with torch.no_grad():
        prob = model.attributes(phi, REAL).softmax(-1)[..., 1]
    bits = prob > 0.5
    s = model.score(phi, art, bits, lam=0.2)
    s_i = (model.embed(phi, REAL) * art).sum(1)
    soft = 1 - (prob - bits.float()).abs().mean(1)
    assert torch.allclose(s, (1 + s_i) / 2 + 0.2 * soft, atol=1e-6)
