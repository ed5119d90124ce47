"""Proof of learning on the generated privacy set, through mmengine's Runner and the real
``*_cpu-demo`` configs (the same ones ``demo/privacy_kd_demo.py`` runs with tools/train.py):

- the teacher trained on originals loses accuracy on face-obfuscated clips (Table 5.1's effect);
- the privileged-KD student (Eq. 5.5, lambda = 12,500, T = 5) and the KD + RKD student train
  stably through the runner on paired clips and classify obfuscated clips above chance.

Not yet shown robustly (see configs/privacy/README.md): that KD recovers a clear part of the gap
over the obfuscated-only student. Measured on this generator (seed 0, 20 epochs): teacher 58.3 on
originals / 29.2 on obfuscated clips, student without KD 36.5, KD 39.6, KD + RKD 33.3 in this
process; 49.0 / 29.2 / 29.2 / 33.3 / 46.9 through tools/train.py (demo/privacy_kd_demo.py).
"""
import math
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import vidplugins  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R = 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400'
CFG = {
    'teacher': f'{R}-rgb_cpu-demo',
    'student': f'{R}-faces-rgb_cpu-demo',
    'kd': f'privileged-kd_{R}-faces-rgb_cpu-demo',
    'kd_rkd': f'privileged-kd-rkd_{R}-faces-rgb_cpu-demo',
}


def _cfg(name, root, work_dir):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'privacy', name + '.py'))
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.test_dataloader.dataset.data_root = root
    if cfg.get('train_dataloader'):
        cfg.train_dataloader.dataset.dataset.data_root = root
    return cfg


def _train(name, root, work_dir, **model):
    cfg = _cfg(name, root, work_dir)
    cfg.model.update(model)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')


def _test(name, ckpt, root, work_dir, videos):
    cfg = _cfg(name, root, work_dir)
    cfg.load_from = ckpt
    cfg.test_dataloader.dataset.data_prefix.video = videos
    return 100 * Runner.from_cfg(cfg).test()['acc/top1']


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    from vidplugins.demo_data.privacy_videos import generate_privacy_videos
    root = str(tmp_path_factory.mktemp('privacy_demo'))
    generate_privacy_videos(root, seed=0)
    work = tmp_path_factory.mktemp('work')
    ck = {'teacher': _train(CFG['teacher'], root, str(work / 'teacher'))}
    ck['student'] = _train(CFG['student'], root, str(work / 'student'))
    for k in ('kd', 'kd_rkd'):
        ck[k] = _train(CFG[k], root, str(work / k), teacher_ckpt=ck['teacher'])
    acc = {
        'teacher_orig': _test(CFG['teacher'], ck['teacher'], root, str(work / 't1'), 'videos'),
        'teacher_obf': _test(CFG['teacher'], ck['teacher'], root, str(work / 't2'),
                             'videos_faces'),
    }
    for k in ('student', 'kd', 'kd_rkd'):
        acc[k] = _test(CFG[k], ck[k], root, str(work / ('t_' + k)), 'videos_faces')
    print('privacy proof of learning (top-1 %):', json.dumps(acc))
    return acc


def test_obfuscation_hurts_the_teacher(results):
    """Chance is 25 % (4 classes)."""
    assert results['teacher_orig'] >= 45
    assert results['teacher_orig'] - results['teacher_obf'] >= 15


def test_distilled_students_train_stably_and_learn(results):
    for key in ('student', 'kd', 'kd_rkd'):
        assert math.isfinite(results[key])
    # Above chance on obfuscated clips, from the body cue only.
    assert results['kd'] >= 31 and results['kd_rkd'] >= 31
