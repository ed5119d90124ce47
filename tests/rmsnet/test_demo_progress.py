"""The main demo shows the progress of the tools it runs (issue 10, item 12): epoch, iteration,
ETA and loss from mmengine's logger lines on the console, the whole output in the log file."""
import sys

from tests.conftest import load_script

TRAIN_LINE = ('12/01 14:40:01 - mmengine - INFO - Epoch(train) [3][10/32]  base_lr: 5.0e-02 '
              'lr: 4.1e-02  eta: 0:01:23  time: 0.2109  data_time: 0.0101  memory: 0  '
              'loss: 1.2345  loss_cls: 1.1000  loss_reg: 0.1345')
VAL_LINE = ('12/01 14:41:00 - mmengine - INFO - Epoch(val) [3][4/4]    '
            'spotting/a_mAP_loose: 0.8312  spotting/a_mAP_tight: 0.4100  '
            'spotting/a_mAP_loose_card: 0.7  data_time: 0.01  time: 0.3')


def load_demo():
    return load_script('demo', 'rmsnet_soccernet_demo.py', name='rmsnet_demo')


def test_progress_line_keeps_epoch_eta_loss_and_average_map():
    demo = load_demo()
    assert demo.progress_line(TRAIN_LINE) == 'Epoch(train) [3][10/32]  eta: 0:01:23  loss: 1.2345'
    assert demo.progress_line(VAL_LINE) == ('Epoch(val) [3][4/4]  spotting/a_mAP_loose: 0.8312  '
                                            'spotting/a_mAP_tight: 0.4100')
    assert demo.progress_line('12/01 - mmengine - INFO - Saving checkpoint at 3 epochs') == \
        'Saving checkpoint at 3 epochs'
    assert demo.progress_line('12/01 - mmengine - INFO - Config:\nmodel = dict(') is None
    assert demo.progress_line('/usr/lib/python3/x.py:1: UserWarning: something') is None


def test_run_streams_progress_to_the_console_and_everything_to_the_log(tmp_path, capsys):
    demo = load_demo()
    script = tmp_path / 'tool.py'
    script.write_text('import sys\n'
                      f'print({"noise line"!r})\n'
                      f'print({TRAIN_LINE!r}, flush=True)\n'
                      'print("warning on stderr", file=sys.stderr)\n'
                      f'print({VAL_LINE!r})\n')
    log = tmp_path / 'console.log'
    out = demo.run([sys.executable, str(script)], str(log))
    console = capsys.readouterr().out
    assert 'Epoch(train) [3][10/32]  eta: 0:01:23  loss: 1.2345' in console
    assert 'spotting/a_mAP_loose: 0.8312' in console
    assert 'noise line' not in console and 'warning on stderr' not in console
    text = log.read_text()
    assert text == out
    assert 'noise line' in text and 'warning on stderr' in text and TRAIN_LINE in text
