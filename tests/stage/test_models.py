"""Registered STAGE models: sizes of Table 3.10 counted by hand, FLOPs, losses and predictions."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from vidplugins.stage.models import STAGE, STO, ActorLinearClassifier

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Table 3.10 (AVA, 81 outputs): backbone feature size, heads (2 layers), thesis parameters and
#: GFLOPs added by STAGE for one clip of 4 actors and 25 objects.
TABLE_3_10 = {
    'i3d': (1024, 4, 6.4e6, 0.11),
    'r101-i3d-nl': (2048, 2, 17e6, 0.24),
    'slowfast-nl': (2304, 2, 21.8e6, 0.26),
}
OBJECT_DIM = 2048


def stage_params(da, do, heads, layers, classes):
    """STAGE's trained parameters, layer by layer (Sec. 3.2.2, Table 3.1).

    - projection of the larger features to the smaller size: ``big * small + small``;
    - node size ``d_f = min(Da, Do) + 4`` (h, w, x_c, y_c appended);
    - per layer and head: ``W`` (d_f x d_h, no bias) and the attention vector ``a`` (2 d_h),
      ``d_h = floor(d_f / H)``; FC (H d_h -> d_f, with bias); LayerNorm (2 d_f);
    - classifier ``d_f -> C`` with bias."""
    small, big = min(da, do), max(da, do)
    proj = big * small + small if big > small else 0
    d = small + 4
    dh = d // heads
    layer = heads * (d * dh + 2 * dh) + (heads * dh * d + d) + 2 * d
    return proj + layers * layer + d * classes + classes


def linear_flops(da, do, heads, layers, classes, a=4, o=25):
    """Multiply-adds of the nn.Linear layers: projection of the larger entity kind, the layers'
    FC on all N = A + O nodes, the classifier on the A actors."""
    small = min(da, do)
    proj = (o * do * small) if do > da else (a * da * small if da > do else 0)
    d = small + 4
    out = heads * (d // heads)
    return proj + layers * (a + o) * out * d + a * d * classes


def all_flops(da, do, heads, layers, classes, a=4, o=25):
    """Every counted product: the above + per layer and head: ``h = f W`` (N d_f d_h),
    ``a^T [h_i || h_j]`` as two (N, d_h) x (d_h, 1) products (2 N d_h), ``W h`` (N^2 d_h); and
    mmengine's LayerNorm count (5 per element)."""
    n, d = a + o, min(da, do) + 4
    dh = d // heads
    per_layer = heads * (n * d * dh + 2 * n * dh + n * n * dh) + 5 * n * d
    return linear_flops(da, do, heads, layers, classes, a, o) + layers * per_layer


@pytest.mark.parametrize('name', TABLE_3_10)
def test_parameters_match_table_3_10(name):
    da, heads, thesis, _ = TABLE_3_10[name]
    model = STAGE(actor_dim=da, object_dim=OBJECT_DIM, num_classes=81, num_heads=heads,
                  num_layers=2)
    n = sum(p.numel() for p in model.parameters())
    assert n == stage_params(da, OBJECT_DIM, heads, 2, 81)
    assert abs(n - thesis) / thesis < 0.03
    # With the 81-way classifier (background column included, as the authors' code) the counts
    # round to the thesis's figures: 6.42M -> 6.4M, 17.03M -> 17M, 21.75M -> 21.8M.
    assert round(n / 1e6, 1) == thesis / 1e6


def test_other_class_counts_round_away_from_table_3_10():
    """Why 81 classes: with 80 or 60 outputs, or without the classifier, SlowFast-NL rounds to
    21.7M / 21.7M / 21.6M, not 21.8M."""
    base = stage_params(2304, OBJECT_DIM, 2, 2, 81) - (2052 * 81 + 81)
    for classes in (80, 60):
        assert round((base + 2052 * classes + classes) / 1e6, 1) == 21.7
    assert round(base / 1e6, 1) == 21.6


@pytest.mark.parametrize('name', TABLE_3_10)
def test_flops_of_one_clip_match_table_3_10(name):
    """4 actors + 25 objects. The thesis's GFLOPs are the nn.Linear layers' multiply-adds (what
    a module-hook counter sees of the authors' code, whose heads multiply bare parameters):
    equal to the thesis to its 2 decimals. mmengine's full count adds the heads' products."""
    da, heads, _, thesis = TABLE_3_10[name]
    model = STAGE(actor_dim=da, object_dim=OBJECT_DIM, num_heads=heads, num_layers=2).eval()
    analyzer = FlopAnalyzer(model, (model.dummy_inputs(4, 25), None, 'tensor'))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_module = analyzer.by_module()
    linear = sum(by_module[k] for k, m in model.named_modules() if isinstance(m, torch.nn.Linear))
    assert linear == linear_flops(da, OBJECT_DIM, heads, 2, 81)
    assert round(linear / 1e9, 2) == thesis
    assert analyzer.total() == all_flops(da, OBJECT_DIM, heads, 2, 81)


def test_get_flops_prints_params_and_flops_for_a_stage_config():
    out = subprocess.run(
        [sys.executable, 'tools/analysis/get_flops.py', 'configs/stage/stage_i3d_ava21.py'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert 'Input: num_actors=4, num_objects=25' in lines
    assert f'Params: {stage_params(1024, 2048, 4, 2, 81)}' in lines
    full = all_flops(1024, 2048, 4, 2, 81) / 1e9
    assert f'FLOPs: {full:.6g}G' in lines
    assert f'FLOPs (nn.Linear layers): {linear_flops(1024, 2048, 4, 2, 81) / 1e9:.6g}G' in lines


# ------------------------------------------------------------------ losses and predictions
def batch(actors=(2, 0, 1), objects=(3, 2, 0), classes=6, multilabel=True, da=8, do=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = len(actors)
    ac = torch.repeat_interleave(torch.arange(k), torch.tensor(actors))
    oc = torch.repeat_interleave(torch.arange(k), torch.tensor(objects))

    def boxes(n):
        xy = torch.rand(n, 2, generator=g) * 0.5
        return torch.cat((xy, xy + 0.3), 1)

    inputs = dict(actor_feats=torch.randn(len(ac), da, generator=g), actor_boxes=boxes(len(ac)),
                  actor_clip=ac, object_feats=torch.randn(len(oc), do, generator=g),
                  object_boxes=boxes(len(oc)), object_clip=oc,
                  clip_video=torch.zeros(k, dtype=torch.long), clip_time=torch.arange(k))
    samples = []
    for i, n in enumerate(actors):
        ds = ActionDataSample()
        ds.set_metainfo(dict(video_id='vid', timestamp=900 + i, img_shape=(1, 1)))
        gt = InstanceData()
        if multilabel:
            lab = (torch.rand(n, classes, generator=g) > 0.5).float()
            lab[:, 0] = 0
        else:
            lab = torch.randint(1, classes, (n, ), generator=g)
        gt.labels = lab
        gt.bboxes = inputs['actor_boxes'][ac == i]
        ds.gt_instances = gt
        samples.append(ds)
    return inputs, samples


def test_bce_loss_ignores_the_background_column():
    model = STAGE(actor_dim=8, object_dim=12, num_classes=6, num_heads=2).eval()
    inputs, samples = batch()
    logits = model(inputs, mode='tensor')
    target = torch.cat([s.gt_instances.labels for s in samples])
    loss = model(inputs, samples, mode='loss')['loss_cls']
    # Mean over the 3 actors x 5 foreground columns.
    p = logits[:, 1:].sigmoid()
    y = target[:, 1:]
    hand = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    assert loss.item() == pytest.approx(hand.item(), rel=1e-5)


def test_ce_loss_and_scores_over_the_foreground_columns():
    model = STAGE(actor_dim=8, object_dim=None, num_classes=6, num_heads=2, loss='ce').eval()
    inputs, samples = batch(objects=(0, 0, 0), multilabel=False)
    logits = model(inputs, mode='tensor')
    target = torch.cat([s.gt_instances.labels for s in samples])
    loss = model(inputs, samples, mode='loss')['loss_cls']
    hand = -torch.stack([logits[i, 1:].log_softmax(0)[target[i] - 1] for i in range(3)]).mean()
    assert loss.item() == pytest.approx(hand.item(), rel=1e-5)
    out = model(inputs, samples, mode='predict')
    scores = torch.cat([s.pred_instances.scores for s in out])
    assert torch.allclose(scores[:, 0], torch.zeros(3))
    assert torch.allclose(scores.sum(1), torch.ones(3))
    assert torch.allclose(scores[:, 1:], F.softmax(logits[:, 1:], 1))


def test_ce_without_background_column():
    model = ActorLinearClassifier(actor_dim=8, num_classes=4, loss='ce', background_column=False)
    inputs, samples = batch(multilabel=False, classes=4)
    for s in samples:
        s.gt_instances.labels = s.gt_instances.labels - 1          # 0..3
    loss = model(inputs, samples, mode='loss')['loss_cls']
    logits = model(inputs, mode='tensor')
    target = torch.cat([s.gt_instances.labels for s in samples])
    assert loss.item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)


def test_predict_output_follows_the_interface():
    model = STAGE(actor_dim=8, object_dim=12, num_classes=6, num_heads=2).eval()
    inputs, samples = batch()
    logits = model(inputs, mode='tensor')
    out = model(inputs, samples, mode='predict')
    assert out is samples and len(out) == 3
    for k, ds in enumerate(out):
        sel = inputs['actor_clip'] == k
        pred = ds.pred_instances
        assert torch.equal(pred.bboxes, inputs['actor_boxes'][sel])
        assert pred.scores.shape == (int(sel.sum()), 6)
        assert (pred.scores[:, 0] == 0).all()
        assert torch.allclose(pred.scores[:, 1:], logits[sel, 1:].sigmoid())
    assert out[1].pred_instances.bboxes.shape == (0, 4)       # clip without actors


def test_training_step_with_an_actorless_batch_and_gradients():
    model = STAGE(actor_dim=8, object_dim=12, num_classes=6, num_heads=2)
    inputs, samples = batch(actors=(0, 0), objects=(2, 1))
    loss = model(inputs, samples, mode='loss')['loss_cls']
    assert loss.item() == 0
    loss.backward()
    inputs, samples = batch()
    model.zero_grad()
    model(inputs, samples, mode='loss')['loss_cls'].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    # The background row of the classifier gets no gradient; every other parameter does.
    assert (grads['net.classifier.weight'][0] == 0).all()
    assert all(g.abs().sum() > 0 for n, g in grads.items() if not n.startswith('net.classifier'))


def test_labels_must_match_the_actors():
    model = STAGE(actor_dim=8, object_dim=12, num_classes=6, num_heads=2)
    inputs, samples = batch()
    samples[0].gt_instances = InstanceData(labels=samples[0].gt_instances.labels[:1])
    with pytest.raises(ValueError, match='clip 0'):
        model(inputs, samples, mode='loss')
    with pytest.raises(ValueError, match='mode'):
        model(inputs, samples, mode='train')
    with pytest.raises(KeyError, match='clip_time'):
        model({k: v for k, v in inputs.items() if k != 'clip_time'}, mode='tensor')


@pytest.mark.parametrize('cfg', [
    dict(type='STAGE', actor_dim=8, object_dim=12, num_classes=6, num_heads=2,
         adjacency='feature', attention='dot_product', temporal_radius=2, actor_actor=False),
    dict(type='STO', actor_dim=8, num_classes=6, num_layers=2),
    dict(type='ActorLinearClassifier', actor_dim=8, num_classes=6),
])
def test_models_build_from_the_registry_and_train_a_step(cfg):
    model = MODELS.build(dict(cfg, data_preprocessor=dict(type='STAGEDataPreprocessor')))
    assert isinstance(model, (STAGE, STO, ActorLinearClassifier))
    inputs, samples = batch()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = model(inputs, samples, mode='loss')['loss_cls']
    for _ in range(20):
        opt.zero_grad()
        model(inputs, samples, mode='loss')['loss_cls'].backward()
        opt.step()
    model.eval()
    assert model(inputs, samples, mode='loss')['loss_cls'] < before
