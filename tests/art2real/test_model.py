"""Art2RealCycleGAN: masks through the pipeline and train_step, the loss term, the mask hook,
offline FID, the configs' thesis settings and the translation tool."""
import os
import os.path as osp
import runpy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import vidplugins.art2real  # noqa: F401  (registers into mmagic)
from mmagic.registry import MODELS, TRANSFORMS
from mmagic.structures import DataSample
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope

from vidplugins.art2real.hooks import Art2RealMaskUpdateHook
from vidplugins.art2real.transforms import LoadClassMask

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'art2real')
MONET = osp.join(CFG, 'art2real_resnet-in_1xb1-300e_monet2photo.py')
DEMO = osp.join(CFG, 'art2real_resnet-in_1xb1-cpu-demo_generated-landscapes.py')

init_default_scope('mmagic')

COLORS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)


def test_masks_follow_the_painting_through_resize_crop_and_flip(tmp_path):
    # The painting shows its own label map colour-coded, with an asymmetric layout: after the
    # pipeline, decoding the painting's colours must give the packed mask (away from edges,
    # where bicubic resizing blends colours).
    root = tmp_path / 'set'
    for d in ('trainA', 'trainB', 'masksA'):
        (root / d).mkdir(parents=True)
    lab = np.zeros((40, 50), np.uint8)
    lab[:15, :30] = 1
    lab[20:, 35:] = 2
    lab[30:, :10] = 3
    Image.fromarray(COLORS[lab][:, :, ::-1].copy()).save(root / 'trainA' / 'a.png')  # BGR file
    Image.fromarray(lab).save(root / 'masksA' / 'a.png')
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(root / 'trainB' / 'b.png')
    cfg = Config.fromfile(MONET)
    pipeline = Compose([TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline])
    agree = []
    for seed in range(6):
        np.random.seed(seed)
        out = pipeline(dict(img_A_path=str(root / 'trainA' / 'a.png'),
                            img_B_path=str(root / 'trainB' / 'b.png')))
        img = out['inputs']['img_painting'].numpy()           # (3, 256, 256), loaded as BGR
        mask = out['data_samples'].mask_painting
        mask = np.asarray(mask).reshape(256, 256)
        assert 'mask_painting' not in out['inputs']
        rgb = img.transpose(1, 2, 0).astype(np.int64)   # the file holds COLORS reversed, read as BGR
        decoded = np.abs(rgb[:, :, None, :] - COLORS[None, None].astype(np.int64)).sum(-1).argmin(-1)
        agree.append((decoded == mask).mean())
    assert min(agree) > 0.97


def tiny_model(banks, contextual=True):
    cfg = Config.fromfile(DEMO).model
    cfg.generator.update(base_channels=8, num_blocks=1)
    cfg.discriminator.update(base_channels=8)
    if contextual:
        cfg.contextual_loss.update(banks=banks, scales='4:4,8:5')
    else:
        cfg.contextual_loss = None
    return MODELS.build(cfg)


def batch(demo_images, n=1):
    imgs, samples = dict(img_painting=[], img_photo=[]), []
    for i in range(n):
        a = np.asarray(Image.open(osp.join(demo_images, 'trainA', f'trainA_{i:04d}.png')))
        b = np.asarray(Image.open(osp.join(demo_images, 'trainB', f'trainB_{i:04d}.png')))
        m = np.asarray(Image.open(osp.join(demo_images, 'masksA', f'trainA_{i:04d}.png')))
        imgs['img_painting'].append(torch.from_numpy(a[:, :, ::-1].copy()).permute(2, 0, 1))
        imgs['img_photo'].append(torch.from_numpy(b[:, :, ::-1].copy()).permute(2, 0, 1))
        s = DataSample()
        s.set_tensor_data(dict(mask_painting=torch.from_numpy(m.astype(np.int64))[None]))
        samples.append(s)
    return dict(inputs={k: torch.stack(v) for k, v in imgs.items()}, data_samples=samples)


def optim(model):
    return OptimWrapperDict(
        generators=OptimWrapper(torch.optim.Adam(model.generators.parameters(), lr=2e-4)),
        discriminators=OptimWrapper(torch.optim.Adam(model.discriminators.parameters(), lr=2e-4)))


def test_train_step_adds_lambda_times_the_contextual_loss_of_g_x(demo_images, demo_banks):
    from mmengine import MessageHub
    MessageHub.get_current_instance().update_info('iter', 0)
    torch.manual_seed(0)
    model = tiny_model(demo_banks)
    assert model.loss_config['id_loss_weight'] == 5.0   # original CycleGAN: 0.5 x 10
    data = batch(demo_images)
    with torch.no_grad():
        x = model.data_preprocessor(batch(demo_images), True)['inputs']['img_painting']
        fake = model.generators['photo'](x)
        masks = data['data_samples'][0].mask_painting
        expect = model.contextual_loss(fake.flip(1), masks)   # BGR -> RGB for the RGB banks
    log = model.train_step(data, optim(model))
    assert abs(log['loss_cx'] - expect.item()) < 1e-5
    assert 0.01 < log['loss_cx'] and model.contextual_loss.loss_weight == 0.1
    # the plain model with the same weights logs no such term
    plain = tiny_model(demo_banks, contextual=False)
    assert 'loss_cx' not in plain.train_step(batch(demo_images), optim(plain))


def test_train_step_errors_name_the_missing_masks(demo_images, demo_banks):
    model = tiny_model(demo_banks)
    data = batch(demo_images)
    data['data_samples'] = [DataSample()]
    with pytest.raises(KeyError, match='mask_painting'):
        model.train_step(data, optim(model))
    data = batch(demo_images)
    data['data_samples'][0].mask_painting = torch.zeros(1, 16, 16, dtype=torch.long)
    with pytest.raises(ValueError, match='differ in size'):
        model.train_step(data, optim(model))


def test_mask_update_hook_recomputes_masks_on_g_x(demo_images, demo_banks, tmp_path):
    model = tiny_model(demo_banks)
    loader = LoadClassMask(key='mask_A', img_key='img_A')
    paths = [osp.join(demo_images, 'trainA', f) for f in sorted(os.listdir(
        osp.join(demo_images, 'trainA')))]
    dataset = SimpleNamespace(data_infos_a=[{'path': p} for p in paths],
                              pipeline=SimpleNamespace(transforms=[loader]))
    logs = []
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), epoch=38,
                             train_dataloader=SimpleNamespace(dataset=dataset, num_workers=0),
                             logger=SimpleNamespace(info=logs.append))
    seen = []

    def segmenter(rgb, path):
        seen.append((rgb.copy(), path))
        return (rgb[:, :, 0] > 128).astype(np.uint8)

    hook = Art2RealMaskUpdateHook(segmenter=segmenter, start_epoch=40, interval=20)
    assert [e for e in range(1, 101) if hook.is_update_epoch(e)] == [40, 60, 80, 100]
    hook.after_train_epoch(runner)              # end of epoch 39: nothing
    assert loader.override_dir is None and not seen
    runner.epoch = 39
    hook.after_train_epoch(runner)              # end of epoch 40: masks from G(x)
    out = osp.join(str(tmp_path), 'art2real_masks', 'epoch_40')
    assert loader.override_dir == out and len(seen) == len(paths)
    from vidplugins.art2real.inference import translate_rgb
    from vidplugins.art2real.segmenters import read_rgb
    np.testing.assert_array_equal(seen[0][0], translate_rgb(model, read_rgb(paths[0])))
    m = np.asarray(Image.open(osp.join(out, 'trainA_0000.png')))
    np.testing.assert_array_equal(m, (seen[0][0][:, :, 0] > 128).astype(np.uint8))
    assert loader.mask_path(paths[0]) == osp.join(out, 'trainA_0000.png')
    # resume at epoch 45: the masks of epoch 40 are used again
    loader.override_dir = None
    runner.epoch = 45
    hook.before_train(runner)
    assert loader.override_dir == out


def test_fid_runs_offline_with_a_torchscript_network(tmp_path):
    from mmagic.evaluation.metrics import TransFID
    from vidplugins.art2real.feature_net import write_random_feature_net
    path = write_random_feature_net(str(tmp_path / 'net.pt'))
    metric = TransFID(fake_nums=4, inception_style='StyleGAN', inception_path=path,
                      real_key='img_photo', fake_key='fake_photo', sample_model='orig')
    assert metric.inception_style == 'StyleGAN' and isinstance(metric.inception,
                                                                torch.jit.ScriptModule)
    imgs = torch.randint(0, 256, (4, 3, 32, 32)).float()
    net = torch.jit.load(path)
    with torch.no_grad():
        feats = metric.forward_inception(imgs)
        direct = net(imgs[:, [2, 1, 0]].to(torch.uint8), True)
    np.testing.assert_allclose(feats.numpy(), direct.numpy())
    metric.fake_results = list(torch.split(feats, 1))
    metric.real_mean, metric.real_cov = feats.numpy().mean(0), np.cov(feats.numpy(), rowvar=False)
    assert abs(metric.compute_metrics(metric.fake_results)['fid']) < 1e-3   # same set: FID 0


def test_configs_hold_the_thesis_settings():
    cfg = Config.fromfile(MONET)
    cx = cfg.model.contextual_loss
    assert (cx.loss_weight, cx.k, cx.scales, cx.bandwidth) == (0.1, 5, '4:4,8:5,16:6', 1.0)
    assert cfg.model.loss_config == dict(cycle_loss_weight=10., id_loss_weight=5.)
    assert cfg.model.generator.init_cfg == dict(type='normal', gain=0.02)
    assert cfg.train_dataloader.batch_size == 1 and cfg.train_cfg.max_epochs == 300
    opt = cfg.optim_wrapper.generators.optimizer
    assert (opt.type, opt.lr) == ('Adam', 2e-4)
    (sched,) = cfg.param_scheduler
    assert (sched.type, sched.begin, sched.end, sched.end_factor) == ('LinearLR', 100, 300, 1 / 200)
    hooks = {h.type: h for h in cfg.custom_hooks}
    assert hooks['EarlyStoppingHook'].patience == 30
    assert (hooks['Art2RealMaskUpdateHook'].start_epoch,
            hooks['Art2RealMaskUpdateHook'].interval) == (40, 20)
    base = Config.fromfile(osp.join(CFG, 'cyclegan_resnet-in_1xb1-300e_monet2photo.py'))
    assert base.model.contextual_loss is None and base.model.loss_config == cfg.model.loss_config


def test_translate_tool_writes_images_a_grid_and_counts_bad_files(demo_images, demo_banks,
                                                                   tmp_path):
    from mmengine.runner import save_checkpoint
    torch.manual_seed(0)
    cfg = Config.fromfile(DEMO)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'model.pth')
    save_checkpoint(model.state_dict(), ckpt)
    src = tmp_path / 'in'
    src.mkdir()
    for f in ('trainA_0000.png', 'trainA_0001.png'):
        (src / f).write_bytes(open(osp.join(demo_images, 'trainA', f), 'rb').read())
    (src / 'bad.jpg').write_bytes(b'nope')
    tool = runpy.run_path(osp.join(REPO, 'tools', 'art2real', 'translate.py'))
    out = tmp_path / 'out'
    rc = tool['main']([DEMO, ckpt, str(src), str(out), '--grid'])
    assert rc == 1                               # one skipped
    assert sorted(os.listdir(out)) == ['grid.png', 'trainA_0000.png', 'trainA_0001.png']
    y = np.asarray(Image.open(out / 'trainA_0000.png'))
    from vidplugins.art2real.inference import translate_rgb
    from vidplugins.art2real.segmenters import read_rgb
    model.eval()
    np.testing.assert_array_equal(y, translate_rgb(model, read_rgb(str(src / 'trainA_0000.png'))))
    assert np.asarray(Image.open(out / 'grid.png')).shape == (512, 512, 3)


def test_init_weights_draws_n_0_002(demo_banks):
    # mmagic's own generation_init_weights, repaired by vidplugins.compat (fix 6).
    torch.manual_seed(0)
    model = tiny_model(demo_banks)
    model.init_weights()
    w = torch.cat([m.weight.flatten() for m in model.modules()
                   if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    assert all(m.bias is None or not m.bias.any() for m in model.modules()
               if isinstance(m, torch.nn.Conv2d))


def test_mask_loading_errors_name_the_files(tmp_path):
    # Bad training input (issue item 8): a painting without its mask, a mask of another size.
    for d in ('trainA', 'masksA'):
        (tmp_path / d).mkdir()
    img = np.zeros((8, 10, 3), np.uint8)
    painting = str(tmp_path / 'trainA' / 'p.jpg')
    Image.fromarray(img).save(painting)
    loader = LoadClassMask(key='mask_A', img_key='img_A')
    with pytest.raises(FileNotFoundError, match=r'p\.jpg: no class mask at .*masksA/p\.png'):
        loader.transform(dict(img_A=img, img_A_path=painting))
    Image.fromarray(np.zeros((8, 9), np.uint8)).save(tmp_path / 'masksA' / 'p.png')
    with pytest.raises(ValueError, match=r'masksA/p\.png: mask is 9x8, the image .*p\.jpg is 10x8'):
        loader.transform(dict(img_A=img, img_A_path=painting))
    Image.fromarray(np.full((8, 10), 2, np.uint8)).save(tmp_path / 'masksA' / 'p.png')
    out = loader.transform(dict(img_A=img, img_A_path=painting))
    assert (out['mask_A'] == 2).all() and out['mask_A_path'].endswith('p.png')
