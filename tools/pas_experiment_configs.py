"""Write the configs of the thesis's PAS experiments (Ch. 6) from the shipped base and Table 6.1
sequence configs, with the same code the search uses (operators + training recipe), so they
cannot drift from it:

    python tools/pas_experiment_configs.py [--out-dir configs/pas]

- ``without_pas/``  Table 6.2: each PAS-k architecture trained with CE only, from scratch;
- ``ablation/``     Table 6.4: iteration 3 of R(2+1)D-18 (eps_s / eps_t / eps_f of PAS-2) with
                    KD + fine-tuning (PAS), without KD (fine-tuned), without fine-tuning (KD);
- ``teacher_bn/``   Table 6.8: iteration 1 of R(2+1)D-18, every operator, B in train mode (PAS)
                    and in eval mode;
- ``transfer/``     Table 6.6: B and PAS-k fine-tuned on UCF101 / HMDB51 (mmaction2's video-list
                    layout and split files; splits 2 and 3 inherit split 1's config).

Checkpoints are placeholders under ``checkpoints/`` (B, PAS-k student weights as the search
exports them: ``DIR/iter<tau>_<op>/student.pth``); README.md says which file each one is.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config  # noqa: E402

from vidplugins.pas.hypothesis import (base_ref, config_diff, write_config,  # noqa: E402
                                       write_teacher_recipe, write_training_config)
from vidplugins.pas.operators import (_dataset_with_pipeline, _nest, _plain,  # noqa: E402
                                      write_reduced_config)

R21D = 'pas_r2plus1d-18'
SLOWFAST = 'pas_slowfast-4x16-r50'
SEQUENCES = {R21D: ['c', 'f', 't', 't', 't'], SLOWFAST: ['c', 's', 't', 's', 'f']}


def checkpoint(name: str) -> str:
    """Placeholder path of the weights of the network ``name`` (relative to the repo root)."""
    return f'checkpoints/{name}.pth'


def arch(name: str, k: int = 0) -> str:
    return f'{name}_k400_base.py' if k == 0 else f'{name}-pas{k}_k400.py'


def write_without_pas(root: str, written: list) -> None:
    """Table 6.2: the PAS-k network with B's own recipe (CE, random init, base lr)."""
    for name, ops in SEQUENCES.items():
        for k in range(1, 6):
            path = osp.join(root, 'without_pas', f'{name}-pas{k}_k400_ce-scratch.py')
            write_config(path, f'../{arch(name, k)}', dict(pas_training=dict(
                kd=False, init='scratch', ops=ops[:k], teacher_train_mode=True)),
                f'Table 6.2 "w/o PAS": {arch(name, k)[:-3]}\n# trained from scratch with CE '
                f'only (ops {", ".join(ops[:k])})')
            written.append(path)


#: B's model, checkpoint, train pipeline and KD loss, shared by every KD config of R(2+1)D-18
#: (their second ``_base_``).
RECIPE = osp.join('_base_', f'{R21D}_k400_kd-teacher.py')


def write_recipe(root: str, written: list) -> None:
    path = osp.join(root, RECIPE)
    write_teacher_recipe(path, Config.fromfile(osp.join(root, arch(R21D))),
                         checkpoint(f'{R21D}_k400_base'),
                         f'PAS knowledge distillation from B = {arch(R21D)[:-3]} (Eq. 6.7):\n'
                         '# the teacher part of every KD config (their second _base_)')
    written.append(path)


def _training(root, folder, arch_path, stem, ops, parent_ckpt, written, variant_of=None,
              **kwargs):
    """Write ``folder/stem.py``, the training config of ``arch_path`` (the search's own code).
    ``variant_of``: the stem of a config of the same folder that this one differs from in a few
    keys: the file then inherits it and holds only those keys."""
    base = Config.fromfile(osp.join(root, arch(R21D)))
    path = osp.join(root, folder, f'{stem}.py')
    full = osp.join(root, folder, f'.{stem}.full.py') if variant_of else path
    cfg = write_training_config(arch_path, full, base, checkpoint(f'{R21D}_k400_base'), ops,
                                ops[-1], parent_ckpt, recipe_path=osp.join(root, RECIPE),
                                **kwargs)
    if variant_of:
        os.remove(full)
        parent = Config.fromfile(osp.join(root, folder, f'{variant_of}.py'))
        training = cfg.pas_training
        write_config(path, f'./{variant_of}.py', config_diff(parent.to_dict(), cfg.to_dict()),
                     f'PAS training of {" -> ".join(ops)} (kd={training.kd}, '
                     f'init={training.init}, teacher_train_mode={training.teacher_train_mode}):\n'
                     f'# {variant_of} with these changes')
    written.append(path)


def write_ablation(root: str, written: list) -> None:
    """Table 6.4: R(2+1)D-18 PAS-2 (c, f) -> eps in (s, t, f), three training recipes."""
    parent = osp.join(root, arch(R21D, 2))
    for op in ('s', 't', 'f'):
        if op == 't':
            arch_path = osp.join(root, arch(R21D, 3))   # PAS-3 is eps_t(PAS-2)
        else:
            arch_path = osp.join(root, 'ablation', f'{R21D}-pas2-{op}_k400.py')
            write_reduced_config(parent, op, arch_path)
            written.append(arch_path)
        ops = ['c', 'f', op]
        pas2 = checkpoint(f'{R21D}-pas2_k400')
        stem = f'{R21D}-pas3-{op}_k400'
        for suffix, kd, finetune in (('kd-ft', True, True), ('ce-ft', False, True),
                                     ('kd-scratch', True, False)):
            _training(root, 'ablation', arch_path, f'{stem}_{suffix}', ops, pas2, written,
                      variant_of=f'{stem}_kd-ft' if suffix == 'kd-scratch' else None, kd=kd,
                      finetune=finetune)


def write_teacher_bn(root: str, written: list) -> None:
    """Table 6.8: iteration 1 of R(2+1)D-18 (every operator of B) with B's BatchNorm in train
    mode (the thesis's choice) and in eval mode."""
    base = osp.join(root, arch(R21D))
    for op in ('s', 't', 'f', 'c', 'l'):
        if op == 'c':
            arch_path = osp.join(root, arch(R21D, 1))   # PAS-1 is eps_c(B)
        else:
            arch_path = osp.join(root, 'teacher_bn', f'{R21D}-iter1-{op}_k400.py')
            write_reduced_config(base, op, arch_path)
            written.append(arch_path)
        stem = f'{R21D}-iter1-{op}_k400_bn'
        for mode, train_mode in (('train', True), ('eval', False)):
            _training(root, 'teacher_bn', arch_path, f'{stem}-{mode}', [op],
                      checkpoint(f'{R21D}_k400_base'), written,
                      variant_of=f'{stem}-train' if mode == 'eval' else None,
                      teacher_train_mode=train_mode)


#: Table 6.6 datasets: mmaction2's layout (tools/data/ucf101, tools/data/hmdb51: videos in
#: ``videos/``, split lists ``<name>_{train,val}_split_<s>_videos.txt``).
TRANSFER = dict(ucf101=101, hmdb51=51)
SPLITS = (1, 2, 3)   # Table 6.6 averages the three official splits


def write_transfer(root: str, written: list) -> None:
    """Table 6.6: fine-tune B / PAS-k (Kinetics-400 weights) on UCF101 and HMDB51 with the base
    lr / 10, the architecture's own pipelines; SlowFast B and PAS-1, -2 need 64 raw frames,
    which many HMDB51 videos lack (the thesis leaves them out). Each dataset's classes, folders
    and split files are one shared second ``_base_`` (``_base_/pas_transfer_<ds>-split1.py``);
    the split 2 and 3 configs inherit split 1's and change only the split lists."""
    for dataset, classes in TRANSFER.items():
        recipe = osp.join(root, '_base_', f'pas_transfer_{dataset}-split1.py')
        data = {split: dict(data_root=f'data/{dataset}', data_prefix=dict(video='videos'),
                            ann_file=f'{dataset}_{split}_split_1_videos.txt')
                for split in ('train', 'val')}
        write_config(recipe, None, dict(pas_num_classes=classes, pas_train_data=data['train'],
                                        pas_val_data=data['val']),
                     f'Table 6.6: {dataset} split 1 (mmaction2\'s layout) of every transfer '
                     'config\n# (their second _base_; val lists test too)')
        written.append(recipe)
    for name in SEQUENCES:
        for k in range(6):
            cfg = Config.fromfile(osp.join(root, arch(name, k)))
            lr = cfg.optim_wrapper.optimizer.lr / 10
            for dataset in TRANSFER:
                if dataset == 'hmdb51' and name == SLOWFAST and k < 3:
                    continue
                stem = arch(name, k)[:-3].replace('_k400', '').replace('_base', '')
                path = osp.join(root, 'transfer', f'{stem}_k400-pre_{dataset}-split1.py')
                loaders = {}
                for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                                      ('test_dataloader', 'val')):
                    if cfg.get(loader) is None:
                        continue
                    where, _ = _dataset_with_pipeline(_plain(cfg[loader].dataset))
                    loaders[loader] = dict(dataset=_nest(where, base_ref(f'pas_{split}_data')))
                delta = dict(model=dict(cls_head=dict(num_classes=base_ref('pas_num_classes'))),
                             **loaders, optim_wrapper=dict(optimizer=dict(lr=lr)),
                             load_from=checkpoint(arch(name, k)[:-3]))
                write_config(path, [f'../{arch(name, k)}',
                                    f'../_base_/pas_transfer_{dataset}-split1.py'], delta,
                             f'Table 6.6: {arch(name, k)[:-3]} (Kinetics-400 weights)\n'
                             f'# fine-tuned on {dataset} split 1 (lr / 10)')
                written.append(path)
                for split in SPLITS[1:]:   # the same recipe on the other split lists
                    files = {loader: dict(dataset=_nest(where, dict(
                        ann_file=f'{dataset}_{part}_split_{split}_videos.txt')))
                        for loader, part in (('train_dataloader', 'train'),
                                             ('val_dataloader', 'val'),
                                             ('test_dataloader', 'val'))
                        if loader in loaders
                        for where in [_dataset_with_pipeline(_plain(cfg[loader].dataset))[0]]}
                    child = path.replace('-split1.py', f'-split{split}.py')
                    write_config(child, [f'./{osp.basename(path)}'], files,
                                 f'Table 6.6: {osp.basename(path)[:-3]} on split {split}')
                    written.append(child)


def write_all(root: str) -> list:
    written: list = []
    for folder in ('without_pas', 'ablation', 'teacher_bn', 'transfer', '_base_'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    write_recipe(root, written)
    write_without_pas(root, written)
    write_ablation(root, written)
    write_teacher_bn(root, written)
    write_transfer(root, written)
    return written


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default=osp.join('configs', 'pas'),
                   help='folder holding the base and Table 6.1 configs')
    args = p.parse_args()
    for path in write_all(args.out_dir):
        print(path)


if __name__ == '__main__':
    main()
