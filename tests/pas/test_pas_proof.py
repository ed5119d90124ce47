"""PAS proof on CPU (issue 12, item 7) through the real runner, with real kill -9s (issue 12's
"done when", local executor; the Slurm side is ``test_resume_kill9.py``).

demo/pas_demo.py's setting (its clips, base config, B's 8 epochs and the hypotheses' 3, one
thread per job), one iteration over eps_s, eps_t, eps_f and eps_c plus the "without PAS" run of the
chosen network: the class (a 2-px texture orientation) shows in every frame, so time is redundant
and spatial detail is not. ``tools/pas_search.py`` runs with ``--max-attempts 2``:

1. the runner is killed (SIGKILL) while a hypothesis trains and has written a checkpoint;
2. the same command again: that job starts again and resumes from its last checkpoint (a second
   mmengine run folder, "resumed epoch", no failed attempt counted); B, done before the kill, is
   not retrained (its checkpoint keeps inode, mtime and SHA-256);
3. ``iter1_c``'s training process is killed (SIGKILL) once it has a checkpoint: a failed attempt,
   retried, which resumes from that checkpoint; it is killed again: the limit, reported failed in
   ``search.json`` and ``report.md`` while the search goes on;
4. the same command a third time launches nothing and touches no checkpoint.

Then the proof: the search chose eps_t or eps_f (time is redundant) over eps_s (which blurs the
class texture), and the chosen KD + fine-tuned R_1 beats the same architecture trained from scratch with
CE at equal FLOPs.
"""
import os
import os.path as osp
import re
import signal
import sys

import pytest

from ..conftest import REPO
from .kill9 import Runner, fingerprint, job_pid, read_state, training_with_checkpoint, wait_for

sys.path.insert(0, osp.join(REPO, 'demo'))

OPS = 's,t,f,c'
VICTIM = 'iter1_c'


def _resumed(work_dir):
    path = osp.join(work_dir, 'train.out')
    if not osp.isfile(path):
        return 0
    with open(path) as f:
        return f.read().count('resumed epoch')


def _runs(work_dir):
    """mmengine's run folders (one per start of tools/train.py)."""
    return sorted(d for d in os.listdir(work_dir) if d[:8].isdigit())


@pytest.fixture(scope='module')
def proof(tmp_path_factory):
    from pas_demo import HYPOTHESIS_EPOCHS, write_base_config
    from vidplugins.demo_data.pas_videos import generate_pas_videos
    work = str(tmp_path_factory.mktemp('pas_proof'))
    data = osp.join(work, 'data')
    generate_pas_videos(data, seed=0)
    base = write_base_config(work, data)
    search_dir = osp.join(work, 'search')
    ledger = osp.join(search_dir, 'search.json')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'pas_search.py'), base, '--work-dir',
           search_dir, '--ops', OPS, '--iterations', '1', '--without-pas', '--max-attempts', '2',
           '--max-parallel', '2', '--hyp-cfg-options',
           f'train_cfg.max_epochs={HYPOTHESIS_EPOCHS}']
    runner = Runner(cmd, REPO, osp.join(work, 'runner.log'))
    out = dict(work=work, search_dir=search_dir)
    try:
        # 1) kill -9 the runner while a hypothesis trains with a checkpoint written
        proc = runner.start()
        first = wait_for(training_with_checkpoint, ledger, proc, 900,
                         'a hypothesis training with a checkpoint')
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = read_state(ledger)
        out['interrupted'] = first['name']
        out['done_before'] = {n: fingerprint(h['checkpoint'])
                              for n, h in before['hypotheses'].items() if h['status'] == 'done'}

        # 2) the same command; kill -9 iter1_c's training once it has a checkpoint, then again
        proc = runner.start()
        rec = wait_for(lambda s: training_with_checkpoint(s, [VICTIM]) if s['hypotheses'].get(
            VICTIM, {}).get('attempts') == 0 else None, ledger, proc, 900,
            f'{VICTIM} training with a checkpoint')
        with open(osp.join(rec['work_dir'], 'last_checkpoint')) as f:
            out['victim_checkpoint'] = osp.basename(f.read().strip())
        resumed = _resumed(rec['work_dir'])
        os.kill(job_pid(rec['handle'], rec['work_dir']), signal.SIGKILL)
        # the retry: killed once it has resumed from the checkpoint
        rec = wait_for(lambda s: s['hypotheses'][VICTIM] if s['hypotheses'][VICTIM]['status'] ==
                       'running' and s['hypotheses'][VICTIM]['attempts'] == 1 and
                       _resumed(s['hypotheses'][VICTIM]['work_dir']) > resumed else None,
                       ledger, proc, 900, f'{VICTIM} attempt 2 resumed')
        os.kill(job_pid(rec['handle'], rec['work_dir']), signal.SIGKILL)
        out['rc'] = proc.wait(timeout=1800)
        out['state'] = read_state(ledger)
        out['output'] = runner.output()

        # 3) a third run: nothing is launched, no checkpoint touched
        hyps = out['state']['hypotheses']
        out['done_after'] = {n: fingerprint(h['checkpoint'])
                             for n, h in hyps.items() if h['status'] == 'done'}
        with open(osp.join(search_dir, 'search.log')) as f:
            log_lines = len(f.readlines())
        out['rc3'] = runner.start().wait(timeout=600)
        with open(osp.join(search_dir, 'search.log')) as f:
            out['third_log'] = f.readlines()[log_lines:]
        out['state3'] = read_state(ledger)
        out['done_third'] = {n: fingerprint(h['checkpoint']) for n, h in hyps.items()
                             if h['status'] == 'done'}
    finally:
        runner.close()
    return out


def test_search_survives_kill9(proof):
    assert proof['rc'] == 0, proof['output']
    state = proof['state']
    hyps = state['hypotheses']
    assert state['finished']
    # done before the runner was killed: never retrained
    assert 'iter0_base' in proof['done_before']
    for name, fp in proof['done_before'].items():
        assert fingerprint(hyps[name]['checkpoint']) == fp, name
    # the job that died with the runner started again and resumed: not a failed attempt
    first = hyps[proof['interrupted']]
    assert first['status'] == 'done' and first['attempts'] == 0, first
    assert len(_runs(first['work_dir'])) == 2 and _resumed(first['work_dir']) >= 1
    # the killed training: retried from its last checkpoint, then reported failed
    victim = hyps[VICTIM]
    assert victim['status'] == 'failed' and victim['attempts'] == 2, victim
    assert len(victim['errors']) == 2 and all('train exited with' in e
                                              for e in victim['errors'])
    with open(osp.join(victim['work_dir'], 'train.out')) as f:
        text = f.read()
    # the retry resumed from the checkpoint the killed attempt had written (or a later one, if
    # the attempt saved another between the test reading last_checkpoint and the kill)
    assert f'Auto resumed from the latest checkpoint {victim["work_dir"]}/epoch_' in text
    killed_at = int(re.search(r'epoch_(\d+)', proof['victim_checkpoint']).group(1))
    assert max(map(int, re.findall(r'resumed epoch: (\d+)', text))) >= killed_at >= 1
    with open(osp.join(proof['search_dir'], 'report.md')) as f:
        report = f.read()
    assert VICTIM in report and 'failed' in report
    # the search went on: the other hypotheses and the "without PAS" run are done
    assert all(hyps[n]['status'] == 'done' for n in ('iter1_s', 'iter1_t', 'iter1_f'))
    assert hyps[state['chosen'][0] + '_ce']['status'] == 'done'
    assert osp.getsize(osp.join(proof['search_dir'], 'search_curve.png')) > 0


def test_third_run_trains_nothing(proof):
    assert proof['rc3'] == 0
    assert not [line for line in proof['third_log'] if 'started' in line], proof['third_log']
    assert proof['done_third'] == proof['done_after']
    assert proof['state3']['hypotheses'][VICTIM]['attempts'] == 2


def test_pas_chooses_time_first_and_beats_ce_from_scratch(proof):
    state = proof['state']
    hyps = state['hypotheses']
    assert state['chosen_ops'][0] in ('t', 'f'), state['chosen_ops']
    chosen = hyps[state['chosen'][0]]
    ce = hyps[state['chosen'][0] + '_ce']
    assert ce['gflops'] == pytest.approx(chosen['gflops'])   # the same network
    assert chosen['gflops'] < 0.6 * hyps['iter0_base']['gflops']
    assert chosen['top1'] > ce['top1'], (chosen['top1'], ce['top1'])
    assert hyps['iter1_s']['top1'] < chosen['top1']   # eps_s blurs the 2-px class texture
