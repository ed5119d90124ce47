"""Memory banks (thesis App. A.1): patch assignment, on-disk layout, resume, bad input, k-NN."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from vidplugins.art2real.banks import (BANK_INDEX, BANK_SQ_QUANTILE, PatchBanks, build_banks,
                                       patch_rows)
from vidplugins.art2real.patches import Scale
from vidplugins.art2real.segmenters import read_rgb
from vidplugins.utils.knn import CosineIndex, RawRows, build_cosine_index, normalize_rows


def quiet(*args):
    pass


def test_patch_rows_follow_the_20_percent_rule():
    # 8x8 image, 4x4 patches stride 4: column 0 is class 1 (4 of 16 pixels = 25 % of the left
    # patches), columns 4-5 are class 2 (8 of 16 = 50 % of the right patches), one pixel of
    # class 3 (1/16 = 6 % < 20 %), the rest background.
    rgb = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    labels = np.zeros((8, 8), np.int64)
    labels[:, 0] = 1
    labels[:, 4:6] = 2
    labels[0, 7] = 3
    labels[7, 7] = 255  # ignored: no bank
    banks = patch_rows(rgb, labels, Scale(4, 4), threshold=0.2)
    assert sorted(banks) == [0, 1, 2]
    assert len(banks[1]) == 2 and len(banks[2]) == 2 and len(banks[0]) == 4
    # Row layout: (C, 4, 4) flattened, values mapped from [0, 255] to [-1, 1].
    top_left = rgb[:4, :4].transpose(2, 0, 1).reshape(-1) / 127.5 - 1
    np.testing.assert_allclose(banks[1][0], top_left, atol=1e-6)
    bottom_right = rgb[4:, 4:].transpose(2, 0, 1).reshape(-1) / 127.5 - 1
    np.testing.assert_allclose(banks[2][1], bottom_right, atol=1e-6)


def _photos(tmp_path, n=5, size=24, seed=0):
    rng = np.random.default_rng(seed)
    folder = tmp_path / 'photos'
    folder.mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            folder / f'p{i}.png')
        lab = np.zeros((size, size), np.uint8)
        lab[: size // 2] = 1 + i % 2
        Image.fromarray(lab).save(folder / f'p{i}_labels.png')
    return folder


def test_bank_files_rows_and_means(tmp_path):
    folder = _photos(tmp_path)
    out = tmp_path / 'banks'
    meta = build_banks(str(folder), str(out), scales='4:4,8:5', logger=quiet, progress=False)
    assert meta['images'] == 5 and not meta['skipped']
    # Every class-1 patch of the 4:4 scale, recomputed from the photos by slicing.
    expect = []
    for i in (0, 2, 4):
        rgb = np.asarray(Image.open(folder / f'p{i}.png'))
        for y in range(0, 24 - 3, 4):
            for x in range(0, 24 - 3, 4):
                if y < 12:   # label 1 on the top half: patch rows 0-2 are fully inside
                    expect.append(rgb[y:y + 4, x:x + 4].transpose(2, 0, 1).reshape(-1))
    expect = np.stack(expect) / 127.5 - 1
    info = meta['banks']['4x4s4']['1']
    rows = np.fromfile(out / info['bin'], dtype='<f4').reshape(-1, 48)
    np.testing.assert_allclose(rows, expect, atol=1e-6)
    np.testing.assert_allclose(np.load(out / info['mean']), expect.mean(0), atol=1e-5)
    assert oct(os.stat(out / info['bin']).st_mode & 0o777) == '0o644'
    banks = PatchBanks(str(out))
    ids, cos = banks.get(Scale(4, 4), 1).search(rows[:3], 2)
    assert ids[:, 0].tolist() == [0, 1, 2]     # each row is its own nearest neighbour
    np.testing.assert_allclose(cos[:, 0], 1.0, atol=1e-5)


def test_resume_redoes_nothing_and_drops_rows_written_after_the_checkpoint(tmp_path):
    folder = _photos(tmp_path, n=6)
    ref = tmp_path / 'ref'
    build_banks(str(folder), str(ref), scales='4:4', logger=quiet, progress=False)

    calls = []

    class Killed(Exception):
        pass

    def seg_dies_at_5(rgb, path):
        calls.append(osp.basename(path))
        if len(calls) == 5:
            raise Killed()
        return np.asarray(Image.open(path.replace('.png', '_labels.png'))).astype(np.int64)

    out = tmp_path / 'out'
    with pytest.raises(Killed):
        build_banks(str(folder), str(out), scales='4:4', segmenter=seg_dies_at_5,
                    exclude_suffix='_labels.png', checkpoint_every=2, logger=quiet, progress=False)
    # a kill -9 in the middle of a write leaves a partial row after the checkpoint
    with open(out / '4x4s4' / 'class1.bin', 'ab') as f:
        f.write(b'\x01\x02\x03')
    calls.clear()

    def seg(rgb, path):
        calls.append(osp.basename(path))
        return np.asarray(Image.open(path.replace('.png', '_labels.png'))).astype(np.int64)

    build_banks(str(folder), str(out), scales='4:4', segmenter=seg, checkpoint_every=2,
                exclude_suffix='_labels.png', logger=quiet, progress=False)
    assert calls == ['p4.png', 'p5.png']          # photos 0-3 were checkpointed
    for c in ('0', '1', '2'):
        a = (ref / '4x4s4' / f'class{c}.bin').read_bytes()
        assert a == (out / '4x4s4' / f'class{c}.bin').read_bytes()
    index_mtime = os.stat(out / '4x4s4' / 'class1.index').st_mtime_ns
    calls.clear()
    build_banks(str(folder), str(out), scales='4:4', segmenter=seg,
                exclude_suffix='_labels.png', logger=quiet, progress=False)
    assert calls == [] and os.stat(out / '4x4s4' / 'class1.index').st_mtime_ns == index_mtime


def test_bad_photos_are_counted_skips_naming_the_file(tmp_path):
    folder = _photos(tmp_path, n=2)
    (folder / 'broken.jpg').write_bytes(b'not a jpeg')
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(folder / 'tiny.png')
    Image.fromarray(np.zeros((6, 6), np.uint8)).save(folder / 'tiny_labels.png')
    meta = build_banks(str(folder), str(tmp_path / 'b'), scales='4:4,8:5', logger=quiet,
                       progress=False)
    reasons = {osp.basename(s['file']): s['reason'] for s in meta['skipped']}
    assert sorted(reasons) == ['broken.jpg', 'tiny.png']
    assert 'broken.jpg' in reasons['broken.jpg'] and 'cannot read' in reasons['broken.jpg']
    assert 'smaller than the largest patch (8x8)' in reasons['tiny.png']
    with pytest.raises(ValueError, match='broken.jpg'):
        build_banks(str(folder), str(tmp_path / 'c'), scales='4:4', strict=True, logger=quiet,
                    progress=False)
    # a photo without its label map is a counted skip too
    os.remove(folder / 'p1_labels.png')
    meta = build_banks(str(folder), str(tmp_path / 'd'), scales='4:4', logger=quiet,
                       progress=False)
    assert any('p1.png' in s['reason'] and 'no label map' in s['reason']
               for s in meta['skipped'])


def test_grayscale_cmyk_and_alpha_images_are_read_as_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / 'g.png')
    Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'c.jpg', quality=100)
    rgba = np.dstack([rgb, np.where(np.arange(12) < 6, 255, 0)[None].repeat(10, 0)])
    Image.fromarray(rgba.astype(np.uint8), 'RGBA').save(tmp_path / 'a.png')
    g = read_rgb(str(tmp_path / 'g.png'))
    assert g.shape == (10, 12, 3) and (g[..., 0] == rgb[..., 0]).all() and (g[..., 2] == g[..., 0]).all()
    c = read_rgb(str(tmp_path / 'c.jpg'))
    assert c.shape == (10, 12, 3) and np.abs(c.astype(int) - rgb).mean() < 8
    a = read_rgb(str(tmp_path / 'a.png'))
    assert (a[:, :6] == rgb[:, :6]).all() and (a[:, 6:] == 0).all()   # transparent -> black


def test_compressed_index_reranks_exactly_from_the_rows(tmp_path):
    # Structured rows (a few smooth directions + noise), like image patches.
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((8, 48)).astype(np.float32)
    x = (rng.standard_normal((8000, 8)) @ basis + 0.3 * rng.standard_normal((8000, 48)))
    x = x.astype('<f4')
    path = tmp_path / 'rows.bin'
    x.tofile(path)
    rows = RawRows(str(path), 48, cache_bytes=0)
    np.testing.assert_array_equal(rows.take(np.array([[5, -1], [7999, 5]]))[0, 0], x[5])
    mean = x.mean(0)
    # The banks' compressed index (BANK_INDEX: PCA-R, IVF, 8-bit codes); PQ training on 4-d
    # sub-vectors takes ~45 s here for the same check.
    index = build_cosine_index(rows, mean, exact_max_bytes=0, factory=BANK_INDEX, nprobe=16)
    assert not index.exact
    q = x[:200] + 0.05 * rng.standard_normal((200, 48)).astype(np.float32)
    ids, cos = index.search(q, 5)
    exact = normalize_rows(q, mean) @ normalize_rows(x, mean).T
    truth = np.argsort(-exact, 1)[:, :5]
    recall1 = (ids[:, 0] == truth[:, 0]).mean()
    assert recall1 >= 0.95
    # returned cosines are the exact ones of the returned rows
    np.testing.assert_allclose(cos, np.take_along_axis(exact, ids, 1), atol=1e-5)


def test_rerank_orders_every_candidate_when_k_reaches_their_number(tmp_path):
    # Re-rank of C = 6 candidates (the last 2 missing, -1, for 3 queries) by their exact cosines:
    # k = 3 gives the first 3 of the exact sorted order; k = 6 and k = 9 (k >= C) give all of
    # it, the missing ones and the places past C as -1 / -inf.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 16)).astype('<f4')
    x.tofile(tmp_path / 'rows.bin')
    mean = x.mean(0)
    index = CosineIndex(index=None, rows=RawRows(str(tmp_path / 'rows.bin'), 16, cache_bytes=0),
                        mean=mean, exact=False, candidates=6)
    q = normalize_rows(rng.standard_normal((20, 16)), mean)
    cand = np.argsort(rng.random((20, 300)), 1)[:, :6]          # distinct rows per query
    cand[:3, 4:] = -1
    exact = np.einsum('qd,qcd->qc', q, normalize_rows(x, mean)[cand])
    exact[cand < 0] = -np.inf
    order = np.argsort(-exact, 1)
    want_cos = np.take_along_axis(exact, order, 1)
    want_ids = np.where(np.isfinite(want_cos), np.take_along_axis(cand, order, 1), -1)
    for k in (3, 6, 9):
        ids, cos = index.rerank(q, cand, k)
        kk = min(k, 6)
        assert ids.shape == cos.shape == (20, k)
        np.testing.assert_array_equal(ids[:, :kk], want_ids[:, :kk])
        np.testing.assert_allclose(cos[:, :kk], want_cos[:, :kk], atol=1e-5)
        assert (ids[:, kk:] == -1).all() and np.isneginf(cos[:, kk:]).all()
    assert (ids[:3, 4:] == -1).all() and (ids[3:, :6] >= 0).all()


def test_raw_rows_gather_runs_and_single_rows(tmp_path):
    # take() reads runs of consecutive ids with one read each and single rows alone: repeated,
    # consecutive, isolated and missing (-1) ids must all come back as written; a row past the
    # end (truncated file) is an error naming the file.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 48)).astype('<f4')
    x.tofile(tmp_path / 'rows.bin')
    rows = RawRows(str(tmp_path / 'rows.bin'), 48, cache_bytes=0)
    ids = rng.integers(-1, 1000, (40, 7))
    ids[0] = [10, 11, 12, 13, 11, 999, -1]
    got = rows.take(ids)
    np.testing.assert_array_equal(got[ids >= 0], x[ids[ids >= 0]])
    assert not got[ids < 0].any()
    np.testing.assert_array_equal(rows.take(np.arange(1000)), x)
    with pytest.raises(IndexError, match='rows.bin: row 1000 out of range'):
        rows.take(np.array([5, 1000]))


def test_meta_lists_banks_smaller_than_k(demo_banks):
    with open(osp.join(demo_banks, 'meta.json')) as f:
        meta = json.load(f)
    for s, banks in meta['banks'].items():
        for c, info in banks.items():
            assert (f'{s}/class{c}' in meta['small_banks']) == (info['rows'] < 5)


def test_large_banks_get_the_compressed_default_index(tmp_path):
    # Banks above exact_max_bytes get BANK_INDEX (PCA-R, IVF, 8-bit codes) with exact re-rank;
    # smaller ones stay exact in the same build.
    import faiss
    folder = tmp_path / 'photos'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        smooth = np.cumsum(rng.normal(0, 12, (48, 48, 3)), 1)
        img = np.clip(128 + smooth - smooth.mean(), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f'p{i}.png')
        labels = np.ones((48, 48), np.uint8)
        labels[:, :8] = 2                                   # a small class 2 bank
        Image.fromarray(labels).save(folder / f'p{i}_labels.png')
    out = tmp_path / 'banks'
    meta = build_banks(str(folder), str(out), scales='4:1', exact_max_bytes=1 << 19,
                       logger=quiet, progress=False)
    big, small = meta['banks']['4x4s1']['1'], meta['banks']['4x4s1']['2']
    assert big['rows'] * 48 * 4 > 1 << 19 > small['rows'] * 48 * 4
    banks = PatchBanks(str(out))
    bank = banks.get(Scale(4, 1), 1)
    ivf = faiss.downcast_index(faiss.extract_index_ivf(bank.index))
    assert not bank.exact and isinstance(ivf, faiss.IndexIVFScalarQuantizer)
    # its code ranges are the BANK_SQ_QUANTILE quantiles (kept by the written index)
    assert ivf.sq.rangestat == faiss.ScalarQuantizer.RS_quantiles
    assert ivf.sq.rangestat_arg == pytest.approx(BANK_SQ_QUANTILE)
    assert banks.get(Scale(4, 1), 2).exact
    rows = np.fromfile(out / big['bin'], dtype='<f4').reshape(-1, 48)
    ids, cos = bank.search(rows[::500], 1)
    assert (ids[:, 0] == np.arange(0, len(rows), 500)).mean() >= 0.95
    np.testing.assert_allclose(cos[:, 0], 1.0, atol=1e-5)


def test_sq_quantile_ranges_ignore_outliers(tmp_path):
    # 8-bit codes: with min / max ranges a few outlier rows stretch a dimension's 256 steps; the
    # [q, 1 - q] quantile ranges of the same training rows stay near the bulk's width. Rows are
    # normalised: the bulk's coordinates are ~N(0, 1/16) (max over 4,000 rows ~ +-0.9), the 16
    # one-hot outliers reach +-1 in every dimension, the 5 % quantiles are ~ +-0.41.
    import faiss
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 16)).astype('<f4')
    x[:16] = 100 * np.eye(16, dtype=np.float32) * np.where(np.arange(16) % 2, 1, -1)[:, None]
    x.tofile(tmp_path / 'rows.bin')
    rows = RawRows(str(tmp_path / 'rows.bin'), 16, cache_bytes=0)
    widths = {}
    for q in (None, 0.05):
        index = build_cosine_index(rows, np.zeros(16, np.float32), exact_max_bytes=0,
                                   factory='IVF4,SQ8', sq_quantile=q, nprobe=4)
        sq = faiss.downcast_index(faiss.extract_index_ivf(index.index)).sq
        widths[q] = faiss.vector_to_array(sq.trained)[16:]      # QT_8bit: [vmin (d), vdiff (d)]
    assert (widths[0.05] < 0.6 * widths[None]).all()
    with pytest.raises(ValueError, match='scalar-quantiser'):
        build_cosine_index(rows, np.zeros(16, np.float32), exact_max_bytes=0, factory='IVF4,PQ4',
                           sq_quantile=0.05)


def test_benchmark_measures_the_banks_index():
    # benchmarks/bench_art2real.py keeps its own copy of the factory (its RAM child must not
    # import torch): it must stay the index build_banks builds.
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'bench_art2real', osp.join(osp.dirname(__file__), '..', '..', 'benchmarks',
                                   'bench_art2real.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert (bench.FACTORY, bench.SQ_QUANTILE) == (BANK_INDEX, BANK_SQ_QUANTILE)


def test_hnsw_coarse_quantiser_visits_nprobe_lists(tmp_path):
    # An HNSW coarse quantiser returns at most efSearch lists: set_nprobe raises efSearch, so
    # nprobe = nlist visits every list and the search equals the exact one.
    import faiss
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 16)).astype('<f4')
    x.tofile(tmp_path / 'rows.bin')
    rows = RawRows(str(tmp_path / 'rows.bin'), 16, cache_bytes=0)
    mean = x.mean(0)
    index = build_cosine_index(rows, mean, factory='IVF32_HNSW8,Flat', nprobe=32,
                               candidates=2000)
    quantizer = faiss.downcast_index(faiss.extract_index_ivf(index.index).quantizer)
    assert quantizer.hnsw.efSearch >= 64
    q = rng.standard_normal((50, 16)).astype(np.float32)
    ids, cos = index.search(q, 3)
    exact = normalize_rows(q, mean) @ normalize_rows(x, mean).T
    np.testing.assert_array_equal(ids, np.argsort(-exact, 1)[:, :3])
    np.testing.assert_allclose(cos, np.sort(exact, 1)[:, ::-1][:, :3], atol=1e-5)


def _low_rank_rows(tmp_path, seed):
    """6,000 rows of rank 6 in 32 dims on disk: ``(x (6000, 32) float32, RawRows, mean (32,))``."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((6000, 6)) @ rng.standard_normal((6, 32))).astype('<f4')
    x.tofile(tmp_path / 'rows.bin')
    return x, RawRows(str(tmp_path / 'rows.bin'), 32, cache_bytes=0), x.mean(0)


def test_index_lists_are_allocated_at_their_final_size(tmp_path):
    # build_cosine_index fills the IVF lists in two passes (assign, then encode into lists sized
    # once, so no list's buffers double: index.add's growth took 2.34 GB at 10M rows, see
    # benchmarks/bench_art2real.py for the RAM): the index must equal faiss's own add.
    import faiss
    x, rows, mean = _low_rank_rows(tmp_path, 5)
    done = []
    index = build_cosine_index(rows, mean, exact_max_bytes=0, factory='PCAR16,IVF32,SQ8',
                               nprobe=32, chunk_rows=1000, progress=done.append)
    assert done == list(range(1000, 6001, 1000))
    reference = faiss.clone_index(index.index)
    reference.reset()
    reference.add(normalize_rows(x, mean))
    assert index.index.ntotal == reference.ntotal == 6000
    faiss.extract_index_ivf(reference).nprobe = 32
    q = normalize_rows(x[:50] + 0.1, mean)
    ours, theirs = index.index.search(q, 10), reference.search(q, 10)
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index.index).invlists)
    assert sum(lists.list_size(i) for i in range(lists.nlist)) == 6000


def _list_buffers(index, lst=None):
    """Addresses of the (codes, ids) buffers of each inverted list (or of list ``lst``)."""
    import faiss
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)
    if lst is not None:
        return int(lists.get_codes(lst) or 0), int(lists.get_ids(lst) or 0)
    return [_list_buffers(index, i) for i in range(lists.nlist)]


def _lists_full(index):
    """``(sizes, full)`` of the non-empty lists; ``full``: both buffers have no room left
    (capacity == size), probed by adding one entry, which moves a std::vector's buffer exactly
    when it is full (the entry is removed again)."""
    import faiss
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)
    code = np.zeros(lists.code_size, np.uint8)
    sizes, full = [], []
    for i in range(lists.nlist):
        n = lists.list_size(i)
        if n:
            before = _list_buffers(index, i)
            lists.add_entry(i, -1, faiss.swig_ptr(code))
            after = _list_buffers(index, i)
            lists.resize(i, n)
            sizes.append(n)
            full.append(before[0] != after[0] and before[1] != after[1])
    return np.array(sizes), np.array(full)


def test_add_preallocated_allocates_each_list_once_at_its_final_size(tmp_path):
    # _add_preallocated's memory claim, checked directly: each list's codes and ids buffers stay
    # where they are while the 6 chunks are added (no reallocation) and are full at the end
    # (capacity == final size). faiss's own add into fresh lists grows them by doubling: a list
    # is then full only when its size is a power of two. Both indexes answer alike.
    import faiss
    from vidplugins.utils.knn import _add_preallocated
    x, rows, mean = _low_rank_rows(tmp_path, 6)
    index = faiss.index_factory(32, 'PCAR16,IVF32,SQ8', faiss.METRIC_L2)
    index.train(normalize_rows(x, mean))
    plain = faiss.deserialize_index(faiss.serialize_index(index))    # trained, fresh lists
    seen = []
    _add_preallocated(index, rows, mean, 1000, lambda n: seen.append(_list_buffers(index)))
    assert len(seen) == 6 and all(s == seen[0] for s in seen)
    plain.add(normalize_rows(x, mean))
    sizes, full = _lists_full(index)
    plain_sizes, plain_full = _lists_full(plain)
    assert index.ntotal == plain.ntotal == sizes.sum() == 6000 and len(sizes) >= 16
    assert full.all()
    np.testing.assert_array_equal(plain_full, (plain_sizes & (plain_sizes - 1)) == 0)
    assert not plain_full.all()
    for i in (index, plain):
        faiss.extract_index_ivf(i).nprobe = 32
    q = normalize_rows(x[:50] + 0.1, mean)
    ours, theirs = index.search(q, 10), plain.search(q, 10)
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)


def test_compressed_ranking_survives_the_dropped_pca_components(tmp_path):
    # 1000 coarse patterns (12-d, kept by a 16-d PCA), each in 6 rows with fine detail of 6
    # strengths (spread over all 64 dims, mostly dropped by the PCA). Queried with its most
    # detailed row, the compressed index must rank that row first among 4 candidates: ranked by
    # the inner product in the PCA space, a smoother sibling (more of its unit norm in the kept
    # components) scores higher and only 16 % were found; L2 on the unit rows ranks it first.
    rng = np.random.default_rng(7)
    low = np.repeat(rng.standard_normal((1000, 12)) @ (3 * rng.standard_normal((12, 64))), 6, 0)
    strength = np.tile([0.2, 0.5, 1.0, 1.5, 2.0, 3.0], 1000)[:, None]
    x = (low + strength * rng.standard_normal((6000, 64))).astype('<f4')
    x.tofile(tmp_path / 'rows.bin')
    rows = RawRows(str(tmp_path / 'rows.bin'), 64, cache_bytes=0)
    index = build_cosine_index(rows, x.mean(0), exact_max_bytes=0, factory='PCAR16,IVF16,SQ8',
                               nprobe=16, candidates=4)
    which = np.arange(5, 6000, 6)[:300]
    ids, _ = index.search(x[which] + 0.05 * rng.standard_normal((300, 64)).astype('f4'), 1)
    assert (ids[:, 0] == which).mean() >= 0.98
