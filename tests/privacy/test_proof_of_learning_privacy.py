"""Proof of learning on the generated privacy set, through mmengine's Runner and the real
``*_cpu-demo`` configs (the same ones ``demo/privacy_kd_demo.py`` runs with tools/train.py).

The generator (``vidplugins.demo_data.privacy_videos``) puts the clean class evidence in the
"faces" and a weaker one (80 % reliable) on the "body", and flips 40 % of the training labels;
test labels are clean. So:

- the teacher trained on originals loses accuracy on face-obfuscated clips (Table 5.1's effect);
- the privileged-KD student (Eq. 5.5, lambda = 12,500, T = 5) and the KD + RKD student, which
  read obfuscated clips but learn from the teacher's soft predictions on the paired originals,
  beat the student trained on obfuscated clips with the noisy labels alone (Table 5.2's effect).

Measured top-1 % (teacher on originals / on obfuscated, student without KD, KD, KD + RKD;
seed = generator and training seed; 192 test clips, so one clip is 0.5 point; 384 training
clips, 10 epochs, ``PROOF_THREADS`` = 2 torch threads, pinned by the fixture): seed 0: 85.4 /
47.4 / 65.1 / 85.4 / 82.3 (gains +20.3, +17.2); seed 1:
83.3 / 32.8 / 69.3 / 77.1 / 76.0 (+7.8, +6.8); seed 2: 80.7 / 31.8 / 63.5 / 80.7 / 80.7 (+17.2,
+17.2). The
generated videos are bit-identical for a seed (``write_video``); before that fix x264 (even on one
thread) wrote about 1 video in 6 differently from run to run, so trained models differed too
(seed 0: teacher on obfuscated clips 33.9 to 67.2, KD gains +6.3 to +26). Runs before the fix,
pytest with 2 threads: seed 0: 82.8 / 37.5 / 58.9 / 84.9 / 83.9; seed 1: 82.3 / 22.9 / 65.6 /
76.6 / 72.4 (gains +10.9, +6.8); seed 2: 90.6 / 25.5 / 58.3 / 84.4 / 86.5; numbers also change
with the thread count. Earlier generator designs failed the margin on some seed: 192 training
clips for 20 epochs (the teacher fits the noisy labels; KD gain +0.5 on seed 2), 30 % noisy labels
(KD gain -1.6 on one seed), a drift-only body cue (students near chance). The thread count is
pinned (as the STAGE proof test does) because float reductions split across threads sum in another
order, so the trained models, and these figures, change with it; 2 is the count the figures above
were measured with (the CI machine's cores).

Margins asserted: teacher >= 70 on originals and >= 10 points better there than on obfuscated
clips; students >= 45 (chance 25 %, 4 classes); KD and KD + RKD each >= 5 points above the
obfuscated-only student, and their mean gain >= 7. ``PRIVACY_PROOF_SEED=k`` re-runs everything
(generated data and training) with seed k.
"""
import json
import math
import os
import os.path as osp

import pytest
import torch
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
SEED = int(os.environ.get('PRIVACY_PROOF_SEED', 0))
PROOF_THREADS = 2  # the figures of the docstring and the README were measured with 2 threads


def _cfg(name, root, work_dir):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'privacy', name + '.py'))
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=SEED)
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
    generate_privacy_videos(root, seed=SEED)
    work = tmp_path_factory.mktemp('work')
    threads = torch.get_num_threads()
    torch.set_num_threads(PROOF_THREADS)
    try:
        ck = {'teacher': _train(CFG['teacher'], root, str(work / 'teacher'))}
        ck['student'] = _train(CFG['student'], root, str(work / 'student'))
        for k in ('kd', 'kd_rkd'):
            ck[k] = _train(CFG[k], root, str(work / k), teacher_ckpt=ck['teacher'])
        acc = {
            'teacher_orig': _test(CFG['teacher'], ck['teacher'], root, str(work / 't1'),
                                  'videos'),
            'teacher_obf': _test(CFG['teacher'], ck['teacher'], root, str(work / 't2'),
                                 'videos_faces'),
        }
        for k in ('student', 'kd', 'kd_rkd'):
            acc[k] = _test(CFG[k], ck[k], root, str(work / ('t_' + k)), 'videos_faces')
        trained_with = torch.get_num_threads()
    finally:
        torch.set_num_threads(threads)
    print(f'privacy proof of learning, seed {SEED}, {trained_with} threads (top-1 %):',
          json.dumps(acc))
    return dict(acc, threads=trained_with, threads_after=torch.get_num_threads(),
                threads_before=threads)


def test_the_thread_count_is_pinned(results):
    """Trained and tested with ``PROOF_THREADS`` whatever the caller set; the caller's count is
    restored afterwards."""
    assert results['threads'] == PROOF_THREADS
    assert results['threads_after'] == results['threads_before']


def test_obfuscation_hurts_the_teacher(results):
    """The face cue is clean, so the teacher reads it; blurring the faces removes it."""
    assert results['teacher_orig'] >= 70
    assert results['teacher_orig'] - results['teacher_obf'] >= 10


def test_students_learn_the_body_cue(results):
    """All students see obfuscated clips only: above chance (25 %) means the body cue."""
    for key in ('student', 'kd', 'kd_rkd'):
        assert math.isfinite(results[key])
        assert results[key] >= 45, key


def test_privileged_distillation_beats_the_obfuscated_only_student(results):
    """The teacher's soft targets on the originals carry the face's clean labels."""
    gain_kd = results['kd'] - results['student']
    gain_kd_rkd = results['kd_rkd'] - results['student']
    assert gain_kd >= 5 and gain_kd_rkd >= 5, (gain_kd, gain_kd_rkd)
    assert (gain_kd + gain_kd_rkd) / 2 >= 7, (gain_kd, gain_kd_rkd)
