"""PersonArt dataset readers on files in the real CelebA / identity-folder formats."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from vidplugins.personart.datasets import (CelebAFaces, FaceFeatureSet, IdentityFolderFaces,
                                           read_celeba_attributes, read_celeba_table)
from vidplugins.personart.gallery import CELEBA_ATTRIBUTES


def test_celeba_files_and_pairs(tiny_celeba):
    root, info = tiny_celeba
    names, attrs = read_celeba_attributes(osp.join(root, 'list_attr_celeba.txt'))
    assert names == list(CELEBA_ATTRIBUTES) and len(attrs) == 18
    # the generator wrote "1" / "-1"; the reader maps them to 1 / 0
    with open(osp.join(root, 'list_attr_celeba.txt')) as f:
        row = f.read().splitlines()[2].split()
    assert attrs[row[0]].tolist() == [1 if v == '1' else 0 for v in row[1:]]
    boxes = read_celeba_table(osp.join(root, 'list_bbox_celeba.txt'), 4)
    marks = read_celeba_table(osp.join(root, 'list_landmarks_align_celeba.txt'), 10)
    assert len(boxes) == len(marks) == 18 and boxes['000001.jpg'].shape == (4, )
    train = CelebAFaces(root, split='train', pairs=True, img_size=32)
    assert len(train) == 9  # 3 identities x 3 images
    item = train[0]
    assert item['inputs']['real'].shape == (3, 32, 32)
    assert item['inputs']['art'].dtype == torch.uint8
    assert item['data_samples']['identity'] == 1
    assert item['data_samples']['attributes'].tolist() == attrs['000001.jpg'].tolist()
    test = CelebAFaces(root, split='test', pairs=False, img_size=32)
    assert len(test) == 18  # 9 photos + 9 paintings
    doms = [r['domain'] for r in test.records]
    assert doms.count(0) == doms.count(1) == 9
    assert test.records[0]['source'] == test.records[1]['source']  # photo and its painting


def test_celeba_bad_files_name_file_and_line(tmp_path):
    bad = tmp_path / 'list_attr_celeba.txt'
    bad.write_text('1\nA B\n000001.jpg 1\n')
    with pytest.raises(ValueError, match=r'list_attr_celeba.txt:3: expected a file name and 2'):
        read_celeba_attributes(str(bad))
    bad.write_text('2\nA B\n000001.jpg 1 -1\n')
    with pytest.raises(ValueError, match='header says 2 images, found 1'):
        read_celeba_attributes(str(bad))
    bad.write_text('1\nA\n000001.jpg 0\n')
    with pytest.raises(ValueError, match=':3: attribute values must be -1 or 1'):
        read_celeba_attributes(str(bad))
    ident = tmp_path / 'identity_CelebA.txt'
    ident.write_text('000001.jpg x\n')
    with pytest.raises(ValueError, match='identity_CelebA.txt:1: non-integer'):
        read_celeba_table(str(ident), 1, header=False)
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        read_celeba_table(str(tmp_path / 'missing.txt'), 1)


def _img(path, value):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((20, 20, 3), value, np.uint8))


def test_identity_folders(tmp_path):
    # IIIT-D / DeviantArt layout: photos/<id>/, sketches/<id>/
    for ident, n in (('alice', 2), ('bob', 1)):
        for i in range(n):
            _img(str(tmp_path / 'ds' / 'photos' / ident / f'{i}.jpg'), 10)
        _img(str(tmp_path / 'ds' / 'sketches' / ident / 's.png'), 200)
    ds = IdentityFolderFaces(str(tmp_path / 'ds'), 'photos', 'sketches', img_size=16)
    assert len(ds) == 5 and ds.identity_names == ['alice', 'bob']
    assert [r['domain'] for r in ds.records].count(1) == 2
    item = ds[4]
    assert item['inputs']['image'].shape == (3, 16, 16)
    assert item['data_samples']['attributes'].tolist() == [-1] * 40
    pairs = IdentityFolderFaces(str(tmp_path / 'ds'), 'photos', 'sketches', pairs=True)
    assert len(pairs) == 2 and all(r[2] in (0, 1) for r in pairs.pair_records)
    # WebCaricature layout: OriginalImages/<id>/P00001.jpg (photos), C00001.jpg (caricatures)
    for ident in ('Ann', 'Ben'):
        _img(str(tmp_path / 'wc' / ident / 'P00001.jpg'), 10)
        _img(str(tmp_path / 'wc' / ident / 'C00001.jpg'), 90)
        _img(str(tmp_path / 'wc' / ident / 'C00002.jpg'), 90)
    wc = IdentityFolderFaces(str(tmp_path / 'wc'), prefix_domains=dict(P='real', C='art'))
    assert sorted(r['domain'] for r in wc.records) == [0, 0, 1, 1, 1, 1]
    with pytest.raises(FileNotFoundError, match='identity folder not found'):
        IdentityFolderFaces(str(tmp_path / 'nothing'))


def test_feature_set(tmp_path):
    f = str(tmp_path / 'f.npz')
    np.savez(f, features=np.arange(12, dtype=np.float32).reshape(4, 3),
             identity=np.array([0, 0, 1, 1]), domain=np.array([0, 1, 0, 1]),
             source=np.array([0, 0, 1, 1]), pair=np.array([1, -1, 3, -1]))
    pairs = FaceFeatureSet(f, pairs=True)
    assert len(pairs) == 2
    assert pairs[1]['inputs']['art'].tolist() == [9.0, 10.0, 11.0]
    items = FaceFeatureSet(f)
    assert len(items) == 4 and items[3]['data_samples']['domain'] == 1
    np.savez(f, features=np.zeros((2, 3)), identity=np.zeros(2))
    with pytest.raises(KeyError, match="missing array 'domain'"):
        FaceFeatureSet(f)
