"""STAGE end to end on a generated AVA-style feature set, through the user-facing tools.

    python demo/stage_demo.py [--work-dir work_dirs/stage_demo] [--data-root data/ava_demo]

1. writes the demo feature set (``vidplugins.demo_data.ava_features``: project feature format,
   official AVA csv / excluded timestamps / label map) unless it is already there;
2. trains STAGE, the per-actor linear baseline and four ablations from the CPU-demo configs
   (``configs/stage/stage_cpu-demo_*``) with ``tools/train.py``;
3. tests each last checkpoint with ``tools/test.py``, which writes the official AVA result csv;
4. scores every csv with the frame-mAP@0.5 evaluator and prints per-class AP, per-group mAP and
   frame-mAP.

The four demo classes are decided by the actor's own features (12 stand), a nearby object
(15 answer phone), another actor (74 listen to) and the actor in the next keyframe (6 get up).
Re-running resumes finished steps (``--resume auto``; delete the work dir to start over).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'stage')
MODELS = (
    ('linear', 'per-actor linear', 'stage_cpu-demo_linear_ava-features'),
    ('stage', 'STAGE', 'stage_cpu-demo_ava-features'),
    ('no-temporal', 'STAGE w/o temporal links', 'stage_cpu-demo_no-temporal_ava-features'),
    ('no-objects', 'STAGE w/o objects', 'stage_cpu-demo_no-objects_ava-features'),
    ('no-actor-actor', 'STAGE w/o actor-actor', 'stage_cpu-demo_no-actor-actor_ava-features'),
    ('no-object-object', 'STAGE w/o object-object',
     'stage_cpu-demo_no-object-object_ava-features'),
)


def run(cmd, log_path):
    """Run a tool with one CPU thread (tiny tensors: threads only add overhead)."""
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env)
        log.write(proc.stdout)
    if proc.returncode:
        sys.stdout.write(proc.stdout[-5000:])
        raise SystemExit(f'failed ({proc.returncode}): see {log_path}')


def data_options(data_root):
    """--cfg-options pointing every path of the demo configs at ``data_root``."""
    ann, feats = f'{data_root}/annotations', f'{data_root}/features'
    opts = []
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        d = f'{loader}.dataset'
        opts += [f'{d}.ann_file={ann}/ava_{split}_demo.csv',
                 f'{d}.exclude_file={ann}/ava_{split}_excluded_timestamps_demo.csv',
                 f'{d}.label_file={ann}/ava_action_list_demo.pbtxt',
                 f'{d}.actor_file={feats}/{split}_actors.h5']
    for ev in ('val_evaluator', 'test_evaluator'):
        opts += [f'{ev}.ann_file={ann}/ava_val_demo.csv',
                 f'{ev}.exclude_file={ann}/ava_val_excluded_timestamps_demo.csv',
                 f'{ev}.label_file={ann}/ava_action_list_demo.pbtxt']
    return opts


def object_options(name, data_root):
    if name == 'no-objects':
        return []
    return [f'{loader}.dataset.object_file={data_root}/features/{split}_objects.h5'
            for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                                  ('test_dataloader', 'val'))]


def train_and_test(name, config, work_root, data_root):
    work_dir = osp.join(work_root, name)
    os.makedirs(work_dir, exist_ok=True)
    config = osp.join(CONFIG_DIR, config + '.py')
    opts = data_options(data_root) + object_options(name, data_root)
    t0 = time.time()
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--resume', 'auto',
         '--cfg-options'] + opts, osp.join(work_dir, 'train_console.log'))
    t_train = time.time() - t0
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    result_csv = osp.join(work_dir, 'ava_val_demo_results.csv')
    run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work_dir,
         '--cfg-options', f'test_evaluator.out_file={result_csv}'] + opts,
        osp.join(work_dir, 'test_console.log'))
    print(f'  {name}: trained in {t_train:.0f} s', flush=True)
    return result_csv


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/stage_demo')
    parser.add_argument('--data-root', default='data/ava_demo')
    parser.add_argument('--only', nargs='+', choices=[m[0] for m in MODELS],
                        help='train and test only these models')
    args = parser.parse_args()
    work_root = osp.abspath(osp.join(ROOT, args.work_dir))
    data_root = osp.abspath(osp.join(ROOT, args.data_root))

    from vidplugins.demo_data.ava_features import DEMO_CLASSES, generate_ava_features
    from vidplugins.stage.metric import ava_frame_map
    ann = osp.join(data_root, 'annotations')
    if not osp.isfile(osp.join(data_root, 'features', 'val_objects.h5')):
        print(f'writing the demo AVA feature set to {data_root}', flush=True)
        generate_ava_features(data_root, seed=0)

    table = {}
    for name, label, config in MODELS:
        if args.only and name not in args.only:
            continue
        csv = train_and_test(name, config, work_root, data_root)
        summary, ap = ava_frame_map(csv, osp.join(ann, 'ava_val_demo.csv'),
                                    osp.join(ann, 'ava_action_list_demo.pbtxt'),
                                    osp.join(ann, 'ava_val_excluded_timestamps_demo.csv'))
        table[label] = dict(summary, **{f'AP_{c}': v for c, v in ap.items()})

    classes = sorted(DEMO_CLASSES)
    short = {6: 'get up', 12: 'stand', 15: 'answer phone', 74: 'listen to'}
    print('\nSTAGE demo: frame-AP@0.5 (%) on the validation split, scored from the written '
          'official AVA csv')
    head = f'{"model":26s}' + ''.join(f'{f"{c} {short[c]}":>16s}' for c in classes) + \
        f'{"pose":>8s}{"pers-obj":>10s}{"pers-pers":>11s}{"frame-mAP":>11s}'
    print(head)
    for label, r in table.items():
        print(f'{label:26s}' + ''.join(f'{100 * r[f"AP_{c}"]:16.1f}' for c in classes) +
              f'{100 * r["pose"]:8.1f}{100 * r["person_object"]:10.1f}'
              f'{100 * r["person_person"]:11.1f}{100 * r["frame_mAP"]:11.1f}')
    with open(osp.join(work_root, 'summary.json'), 'w') as f:
        json.dump(table, f, indent=1)
    if 'STAGE' in table and 'per-actor linear' in table:
        gain = table['STAGE']['frame_mAP'] - table['per-actor linear']['frame_mAP']
        print(f'\nSTAGE - linear baseline: {100 * gain:+.1f} frame-mAP points: '
              f'{"OK" if gain > 0.1 else "FAILED"}')
        if gain <= 0.1:
            raise SystemExit(1)


if __name__ == '__main__':
    main()
