"""The user-facing tools, run as a user runs them (subprocesses from the repository root) on the
small generated SoccerNet-v1 set of ``conftest.demo_soccernet``.

The CPU demo config is shortened further (2 epochs of 11 iterations); numbers asserted below are
derived from these settings.
"""
import datetime
import glob
import hashlib
import json
import math
import os
import os.path as osp
import pickle
import re
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'rmsnet', 'rmsnet_resnet152-pca512_soccernet-v1_cpu-demo.py')
MAIN = osp.join(REPO, 'configs', 'rmsnet', 'rmsnet_resnet152-pca512_soccernet-v1.py')
NUM_FOREGROUND, BATCH = 128, 16
#: SpottingBalancedSampler draws n_F foreground and n_F / C background windows (C = 3).
WINDOWS_PER_EPOCH = NUM_FOREGROUND + round(NUM_FOREGROUND / 3)
ITERS_PER_EPOCH = math.ceil(WINDOWS_PER_EPOCH / BATCH)          # 171 windows -> 11


def data_options(root, splits=('Train', 'Valid', 'Test')):
    """--cfg-options pointing the config's splits at the generated set (absolute paths)."""
    loader = dict(Train='train_dataloader', Valid='val_dataloader', Test='test_dataloader')
    opts = []
    for split in splits:
        opts += [f'{loader[split]}.dataset.data_root={root}',
                 f'{loader[split]}.dataset.ann_file={osp.join(root, f"listgame_{split}.npy")}']
    return opts


def short(max_epochs):
    # max_keep_ckpts: the demo config keeps only the last checkpoint; these tests look at each.
    return [f'train_cfg.max_epochs={max_epochs}',
            f'train_dataloader.sampler.num_foreground={NUM_FOREGROUND}',
            f'train_dataloader.batch_size={BATCH}', 'default_hooks.checkpoint.max_keep_ckpts=5']


def run_tool(args, env=None, timeout=300):
    """Run a tool from the repository root; returns its output (stdout + stderr)."""
    cmd = args if args[0] == 'bash' else [sys.executable] + args
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


def train_epochs_logged(log):
    return sorted({int(e) for e in re.findall(r'Epoch\(train\) \[(\d+)\]', log)})


@pytest.fixture(scope='module')
def trained(demo_soccernet, tmp_path_factory):
    """tools/train.py, 2 epochs, validation after each (for the best checkpoint)."""
    root, games = demo_soccernet
    work_dir = str(tmp_path_factory.mktemp('train'))
    log = run_tool(['tools/train.py', DEMO, '--work-dir', work_dir, '--cfg-options']
                   + data_options(root) + short(2))
    return root, games, work_dir, log


def test_train_writes_epoch_checkpoints(trained):
    _, _, work_dir, log = trained
    assert train_epochs_logged(log) == [1, 2]
    assert f'Epoch(train) [2][{ITERS_PER_EPOCH}/{ITERS_PER_EPOCH}]' in log
    for epoch in (1, 2):
        assert osp.isfile(osp.join(work_dir, f'epoch_{epoch}.pth'))
    assert glob.glob(osp.join(work_dir, 'best_spotting_a_mAP_loose_epoch_*.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work_dir, 'epoch_2.pth')


def test_checkpoint_loads_weights_only(trained):
    import vidplugins  # noqa: F401  (allow-lists the mmengine types)
    ckpt = torch.load(osp.join(trained[2], 'epoch_2.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 2 * ITERS_PER_EPOCH
    assert ckpt['state_dict']['head.fc1.weight'].shape == (256, 512)
    losses = ckpt['message_hub']['log_scalars']['train/loss']
    assert len(losses.data[0]) == 2 * ITERS_PER_EPOCH       # one logged loss per iteration
    assert set(ckpt) >= {'optimizer', 'param_schedulers', 'message_hub'}


def test_train_resume_auto_continues_from_the_last_epoch(trained, tmp_path):
    root, _, work_dir, _ = trained
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(work_dir, resumed)        # the other tests keep the original work dir
    with open(osp.join(resumed, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(resumed, 'epoch_2.pth'))
    log = run_tool(['tools/train.py', DEMO, '--work-dir', resumed, '--resume', 'auto',
                    '--cfg-options'] + data_options(root) + short(3))
    assert f'Auto resumed from the latest checkpoint {osp.join(resumed, "epoch_2.pth")}' in log
    assert f'resumed epoch: 2, iter: {2 * ITERS_PER_EPOCH}' in log
    assert train_epochs_logged(log) == [3]
    import vidplugins  # noqa: F401
    ckpt = torch.load(osp.join(resumed, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 3 * ITERS_PER_EPOCH


def test_test_tool_writes_predictions_timelines_and_dump(trained, tmp_path):
    root, games, work_dir, _ = trained
    show, dump = tmp_path / 'show', tmp_path / 'out.pkl'
    # Only the test split is given: testing must not need the training data (a config's
    # EarlyStoppingHook used to build the train set); point the train split somewhere empty.
    log = run_tool(['tools/test.py', DEMO, osp.join(work_dir, 'epoch_2.pth'),
                    '--work-dir', str(tmp_path / 'work'), '--dump', str(dump),
                    '--show-dir', str(show), '--cfg-options'] + data_options(root, ['Test'])
                   + [f'train_dataloader.dataset.data_root={tmp_path / "absent"}'])
    test_games = games['Test']
    for game in test_games:
        with open(show / 'predictions' / game / 'results_spotting.json') as f:
            result = json.load(f)
        assert result['UrlLocal'] == game
        assert result['predictions']
        for p in result['predictions']:
            assert set(p) == {'gameTime', 'label', 'position', 'half', 'confidence'}
            half, minutes, seconds = re.fullmatch(r'([12]) - (\d\d):(\d\d)',
                                                  p['gameTime']).groups()
            assert p['half'] == half
            # position is in ms within the half; gameTime is the same instant in whole seconds.
            assert int(p['position']) // 1000 == int(minutes) * 60 + int(seconds)
            assert p['label'] in ('card', 'subs', 'soccer')
            assert 0.0 <= float(p['confidence']) <= 1.0
        png = show / 'timelines' / (game.replace('/', '__') + '.png')
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    with open(dump, 'rb') as f:
        outputs = pickle.load(f)
    assert sorted((o['game'], int(o['half'])) for o in outputs) == \
        sorted((g, h) for g in test_games for h in (1, 2))
    for o in outputs:
        scores = np.asarray(o['pred_windows']['scores'])
        assert scores.shape[1] == 3 + 1
        np.testing.assert_allclose(scores.sum(1), 1.0, rtol=1e-5)   # softmax over C + 1

    # The written files score what the metric logged: re-score them like tools/eval_spotting.py.
    from vidplugins.soccernet.evaluation import evaluate_folders
    labels = tmp_path / 'labels'
    for game in test_games:
        (labels / game).mkdir(parents=True)
        shutil.copy(osp.join(root, game, 'Labels.json'), labels / game)
    for metric in ('loose', 'tight'):
        logged = float(re.search(rf'spotting/a_mAP_{metric}: ([\d.]+)', log).group(1))
        rescored = evaluate_folders(str(labels), str(show / 'predictions'), metric=metric,
                                    version=1)['a_mAP']
        assert rescored == pytest.approx(logged, abs=6e-5)   # the log rounds to 4 decimals


def test_get_flops_counts_the_rmsnet_window():
    log = run_tool(['tools/analysis/get_flops.py', MAIN])
    T, D, H, K, C2, F, C = 41, 512, 256, 9, 128, 64, 3
    # Multiply-adds of one 41 x 512 window (mmengine counts one multiply-add as one FLOP):
    # FC_1 and both 'same' convolutions run on every frame, FC_2 and the outputs once.
    macs = T * D * H + T * K * H * H + T * K * H * C2 + C2 * F + F * (C + 1) + F * 1
    assert re.search(r'^Params: 1025029$', log, re.M)
    flops = float(re.search(r'^FLOPs: ([\d.e+-]+)G$', log, re.M).group(1)) * 1e9
    assert flops == pytest.approx(macs, rel=0.03)


def test_publish_model_strips_and_names_the_checkpoint(trained, tmp_path):
    src = osp.join(trained[2], 'epoch_2.pth')
    before = datetime.date.today()
    log = run_tool(['tools/deployment/publish_model.py', src, str(tmp_path / 'rmsnet_demo.pth')])
    after = datetime.date.today()
    published = glob.glob(str(tmp_path / 'rmsnet_demo_*.pth'))
    assert len(published) == 1 and os.listdir(tmp_path) == [osp.basename(published[0])]
    name = osp.basename(published[0])
    date, digest = re.fullmatch(r'rmsnet_demo_(\d{8})-([0-9a-f]{8})\.pth', name).groups()
    assert date in (f'{before:%Y%m%d}', f'{after:%Y%m%d}')
    with open(published[0], 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == digest   # hash of the final file
    assert f'Published {published[0]}' in log

    import vidplugins  # noqa: F401
    out = torch.load(published[0], map_location='cpu', weights_only=True)
    full = torch.load(src, map_location='cpu', weights_only=True)
    assert not set(out) & {'optimizer', 'param_schedulers', 'message_hub'}
    assert out['meta']['epoch'] == 2
    assert out['state_dict'].keys() == full['state_dict'].keys()
    for key, value in full['state_dict'].items():
        assert torch.equal(out['state_dict'][key], value)
    assert os.path.getsize(published[0]) < os.path.getsize(src)


# ---------------------------------------------------------------- distributed training


@HOOKS.register_module()
class VidpluginsRankReportHook(Hook):
    """Loaded by the distributed test through ``custom_imports``: each rank writes what it saw,
    including the result of a collective that needs both processes."""

    def __init__(self):
        self.samples = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.samples += len(data_batch['data_samples'])

    def after_train(self, runner):
        rank, world_size = get_dist_info()
        rank_sum = torch.tensor([float(rank + 1)])
        all_reduce(rank_sum, op='sum')
        weight = runner.model.module.head.fc1.weight
        report = dict(rank=rank, world_size=world_size, pid=os.getpid(),
                      local_rank=int(os.environ['LOCAL_RANK']), rank_sum=rank_sum.item(),
                      backend=torch.distributed.get_backend(), samples=self.samples,
                      iters=runner.iter, weight_sum=float(weight.double().sum()))
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(report, f)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='checks the CPU (gloo) launch; on a GPU machine the NCCL path runs')
def test_dist_train_runs_two_cpu_ranks_with_gloo(demo_soccernet, tmp_path):
    root, _ = demo_soccernet
    n_f, batch = 64, 16
    # A config that adds the reporting hook to the demo config (imported from this module).
    config = tmp_path / 'dist_config.py'
    config.write_text(
        f'_base_ = {DEMO!r}\n'
        "custom_imports = dict(imports=['vidplugins.rmsnet', 'tests.test_tools'],\n"
        '                      allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='VidpluginsRankReportHook')]\n")
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    log = run_tool(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir),
                    '--no-validate', '--cfg-options', 'train_cfg.max_epochs=1',
                    f'train_dataloader.sampler.num_foreground={n_f}',
                    f'train_dataloader.batch_size={batch}'] + data_options(root, ['Train']),
                   env=env)
    # The configs ask for nccl; without CUDA the tool switches (once per rank).
    assert log.count('distributed backend nccl -> gloo') == 2
    reports = [json.loads((work_dir / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert [r['rank'] for r in reports] == [0, 1]
    assert [r['local_rank'] for r in reports] == [0, 1]
    assert all(r['world_size'] == 2 and r['backend'] == 'gloo' for r in reports)
    assert reports[0]['pid'] != reports[1]['pid']
    # all_reduce of rank + 1 over both processes: 1 + 2.
    assert [r['rank_sum'] for r in reports] == [3.0, 3.0]
    # The sampler splits the epoch's windows between the ranks: 64 + 21 = 85 -> 43 + 42.
    total = n_f + round(n_f / 3)
    assert [r['samples'] for r in reports] == [math.ceil(total / 2), total // 2]
    assert [r['iters'] for r in reports] == [math.ceil(math.ceil(total / 2) / batch)] * 2
    # DDP averaged the gradients: both ranks end with the same weights.
    assert reports[0]['weight_sum'] == pytest.approx(reports[1]['weight_sum'], abs=1e-9)
    assert osp.isfile(work_dir / 'epoch_1.pth')


# ---------------------------------------------------------------- bad input, said clearly
def run_failing_tool(args):
    proc = subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_publish_model_names_a_file_that_is_not_a_checkpoint(tmp_path):
    """Issue 10, item 17: a text file used to end in a raw ``KeyError: 101``."""
    notes = tmp_path / 'epoch_3.pth'
    notes.write_text('experiment notes, not a checkpoint\n')
    rc, out, err = run_failing_tool(['tools/deployment/publish_model.py', str(notes),
                                     str(tmp_path / 'out.pth')])
    assert rc == 1
    assert f'{notes}: not a PyTorch checkpoint' in err and 'Traceback' not in err
    assert sorted(os.listdir(tmp_path)) == ['epoch_3.pth']          # nothing written
    rc, _, err = run_failing_tool(['tools/deployment/publish_model.py',
                                   str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth')])
    assert rc == 1 and 'missing.pth: checkpoint not found' in err and 'Traceback' not in err


def test_eval_spotting_counts_predictions_with_an_unknown_half(demo_soccernet, tmp_path):
    """Issue 10, item 17: predictions of half 3 are ignored (as upstream) but reported."""
    root, games = demo_soccernet
    game = games['Test'][0]
    labels, preds = tmp_path / 'labels', tmp_path / 'preds'
    (labels / game).mkdir(parents=True)
    shutil.copyfile(osp.join(root, game, 'Labels.json'), labels / game / 'Labels.json')
    events = json.load(open(labels / game / 'Labels.json'))['annotations']
    names = {'soccer': 'soccer', 'card': 'card', 'subs': 'subs'}
    entries = []
    for i, ev in enumerate(events):
        kind = next((v for k, v in names.items() if k in ev['label']), None)
        if kind is None:
            continue
        half, clock = ev['gameTime'].split(' - ')
        minutes, seconds = map(int, clock.split(':'))
        entries.append(dict(gameTime=ev['gameTime'], label=kind, half=half,
                            position=str((60 * minutes + seconds) * 1000),
                            confidence=str(0.5 + 0.01 * (i % 40))))
    bogus = [dict(e, half='3') for e in entries[:3]]
    results = []
    for name, items in (('clean', entries), ('with_half_3', entries + bogus)):
        (preds / name / game).mkdir(parents=True)
        json.dump(dict(UrlLocal=game, predictions=items),
                  open(preds / name / game / 'results_spotting.json', 'w'))
        proc = subprocess.run([sys.executable, 'tools/eval_spotting.py', str(labels),
                               str(preds / name), '--version', '1'], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        results.append((json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr))
    (clean, clean_err), (mixed, mixed_err) = results
    assert mixed['a_mAP'] == clean['a_mAP'] > 0.5                  # ignored, as upstream
    assert 'half' not in clean_err
    assert 'ignored 3 predictions whose half is neither 1 nor 2, in 1 games' in mixed_err


def test_projects_readme_lists_the_landed_projects():
    """Issue 10, item 17: the README said that no project had landed."""
    text = open(osp.join(REPO, 'projects', 'README.md')).read()
    assert 'No project has landed' not in text
    assert osp.isfile(osp.join(REPO, 'projects', 'privacy_client_server', 'README.md'))
    assert '](privacy_client_server/README.md)' in text
