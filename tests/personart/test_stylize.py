"""Gatys proxies (Eq. A.13-A.15) and tools/personart/stylize.py with weights the test creates."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from vidplugins.personart.stylize import (CONTENT_LAYER, STYLE_LAYERS, GatysStylizer,
                                          build_vgg19_features, gram)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def vgg_file(tmp_path_factory):
    from torchvision.models.vgg import cfgs, make_layers
    torch.manual_seed(0)
    with torch.device('meta'):
        feats = make_layers(cfgs['E'])[:30]
    state = {}
    for k, v in feats.state_dict().items():   # He-initialised convolutions, zero biases
        fan_in = v[0].numel() if v.dim() > 1 else 1
        state[f'features.{k}'] = torch.randn(v.shape) * (2 / fan_in) ** 0.5 if v.dim() > 1 \
            else torch.zeros(v.shape)
    path = str(tmp_path_factory.mktemp('vgg') / 'vgg19.pth')
    torch.save(state, path)
    return path


def test_layers_and_gram(vgg_file):
    feats = build_vgg19_features(vgg_file)
    names = {i: type(feats[i]).__name__ for i in list(STYLE_LAYERS.values()) + [22]}
    assert set(names.values()) == {'ReLU'}
    assert isinstance(feats[STYLE_LAYERS['conv5_1'] - 1], torch.nn.Conv2d)
    assert feats[CONTENT_LAYER['conv4_2'] - 1].in_channels == 512
    f = torch.randn(1, 3, 2, 2)
    g = gram(f)
    flat = f[0].reshape(3, 4)
    assert torch.allclose(g, torch.stack([torch.stack([(flat[i] * flat[j]).sum()
                                                        for j in range(3)]) for i in range(3)]))
    with pytest.raises(FileNotFoundError, match='VGG-19 weights file not found'):
        build_vgg19_features('/nonexistent/vgg.pth')


def test_stylizer_lowers_the_loss_and_clamps(vgg_file):
    st = GatysStylizer(build_vgg19_features(vgg_file), alpha=0.02, steps=5)
    torch.manual_seed(1)
    photo, painting = torch.rand(3, 32, 32), torch.rand(3, 32, 32) ** 3
    with torch.no_grad():
        style = st.activations(painting[None])
        grams = {i: gram(style[i]) for i in STYLE_LAYERS.values()}
        start = float(st.loss(st.activations(photo[None]), grams,
                              st.activations(photo[None])[22]))
    out, final = st(photo, painting)
    assert out.shape == photo.shape and out.min() >= 0 and out.max() <= 1
    assert final < start


def test_stylize_tool_batch_resume_threshold(vgg_file, tmp_path):
    import cv2
    photos, paintings, out = tmp_path / 'p', tmp_path / 'a', tmp_path / 'o'
    photos.mkdir()
    paintings.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(photos / f'{i:06d}.jpg'), rng.integers(0, 255, (32, 32, 3), np.uint8))
        cv2.imwrite(str(paintings / f'art{i}.png'), rng.integers(0, 255, (32, 32, 3), np.uint8))
    (photos / 'broken.jpg').write_bytes(b'not an image')
    spec = importlib.util.spec_from_file_location(
        'stylize_tool', osp.join(ROOT, 'tools', 'personart', 'stylize.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = [str(photos), str(paintings), str(out), '--vgg', vgg_file, '--steps', '2',
            '--style-size', '32', '--max-tries', '2']
    # an impossible threshold: every photo tries 2 paintings and keeps the best one
    counts = tool.main(args + ['--max-loss', '-1'])
    assert counts == dict(done=2, existing=0, unreadable=1, over_threshold=2)
    log = [json.loads(ln) for ln in open(out / 'stylize_log.jsonl')]
    assert [r['tries'] for r in log] == [2, 2]
    assert oct(os.stat(out / '000000.jpg').st_mode & 0o777) == '0o644'
    assert cv2.imread(str(out / '000001.jpg')).shape == (32, 32, 3)
    again = tool.main(args)
    assert again['existing'] == 2 and again['done'] == 0
