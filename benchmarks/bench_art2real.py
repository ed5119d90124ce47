"""Art2Real bank search: compressed index + exact re-rank vs exact search, and bounded RAM.

    python benchmarks/bench_art2real.py [--bank 1000000] [--queries 4096] [--big 10000000]
        [--big-max-disk-gb 8] [--no-step]

1. A bank of ``--bank`` 16x16 RGB patches (d = 768, float32 rows on disk as build_banks writes
   them) cut at random positions, scales and flips from real photos (../shared/data/images when
   present, else the generated demo photos); ``--queries`` patches from other positions with a
   little noise play the generated patches. k = 5 neighbours: the index of
   ``vidplugins.utils.knn`` (compressed codes, exact re-rank of candidates read from the rows
   file) against exact search (faiss ``IndexFlatIP`` over all normalised rows in RAM, queries in
   batches, same threads; only the searches are timed). With comma lists for ``--nprobe`` /
   ``--candidates`` the fastest setting with recall@1 >= ``--target-recall`` on
   ``--tune-queries`` held-out queries is chosen first. Prints the speed-up and recall@1 (the
   top neighbour equals the exact one, identical rows counted as equal, the strict id equality
   printed too).
2. Peak RAM (max RSS of a child process importing only NumPy and faiss) of building the index
   of a ``--big``-row bank and searching it. The rows file of 10M patches is 30.7 GB; when the
   free disk (less 20 GB) or ``--big-max-disk-gb`` does not allow it, the largest bank that fits is measured
   and the line says so (RSS grows with the codes: ~(PQ bytes + 8) per row, plus fixed buffers).
3. One Art2Real training step (generator, discriminators, contextual loss) at 128x128 on the
   bank of step 1's photos, time split (``--no-step`` skips it).

The last line is JSON: {"bank": N, "speedup": x, "recall_at_1": r, "peak_rss_gb": g, ...}.
"""
import argparse
import functools
import importlib.util
import json
import os
import os.path as osp
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_IMAGES = osp.join(osp.dirname(REPO), 'shared', 'data', 'images')


def load_knn():
    # By file path: the RAM child must not import torch / OpenMMLab through vidplugins/__init__.
    spec = importlib.util.spec_from_file_location('knn', osp.join(REPO, 'vidplugins', 'utils',
                                                                  'knn.py'))
    mod = importlib.util.module_from_spec(spec)
    sys.modules['knn'] = mod   # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def source_images(tmp):
    from PIL import Image
    paths = []
    if osp.isdir(SHARED_IMAGES):
        for d, _, files in os.walk(SHARED_IMAGES):
            paths += [osp.join(d, f) for f in sorted(files) if f.lower().endswith(('.jpg', '.png'))]
    if not paths:
        sys.path.insert(0, REPO)
        from vidplugins.demo_data.art2real_images import generate_art2real
        generate_art2real(osp.join(tmp, 'gen'), n_paintings=0, n_photos=32, n_test=0, size=256)
        paths = sorted(osp.join(tmp, 'gen', 'trainB', f)
                       for f in os.listdir(osp.join(tmp, 'gen', 'trainB')))
    imgs = []
    for p in paths:
        im = Image.open(p).convert('RGB')
        for s in (1.0, 0.7, 0.5):
            w, h = int(im.width * s), int(im.height * s)
            if min(w, h) >= 64:
                arr = np.asarray(im.resize((w, h), Image.BILINEAR))
                imgs += [arr, arr[:, ::-1]]
    return imgs, ('shared real images' if osp.isdir(SHARED_IMAGES) else 'generated photos')


def random_patches(imgs, n, rng, size=16):
    out = np.empty((n, 3 * size * size), np.float32)
    which = rng.integers(0, len(imgs), n)
    for i, w in enumerate(which):
        im = imgs[w]
        y = rng.integers(0, im.shape[0] - size + 1)
        x = rng.integers(0, im.shape[1] - size + 1)
        out[i] = im[y:y + size, x:x + size].transpose(2, 0, 1).reshape(-1) / 127.5 - 1
    return out


def write_rows(path, n, make_chunk, chunk=65536):
    with open(path, 'wb') as f:
        for start in range(0, n, chunk):
            f.write(make_chunk(min(chunk, n - start)).astype('<f4').tobytes())


def exact_search(knn, rows, mean, queries, k, batch=1024):
    """The exact reference: faiss ``IndexFlatIP`` over all centred, normalised rows held in RAM
    (``N x D`` float32: 3.1 GB for 1M patches), searched ``batch`` queries at a time (BLAS
    GEMM), on the same threads as ours. Returns ``(ids, cos, seconds of search)``: building the
    flat index (reading the rows) is not timed, as our index's build is not."""
    import faiss
    flat = faiss.IndexFlatIP(rows.dim)
    for _, c in rows.chunks():
        flat.add(knn.normalize_rows(c, mean))
    q = knn.normalize_rows(queries, mean)
    t = time.time()
    out = [flat.search(q[s:s + batch], k) for s in range(0, len(q), batch)]
    seconds = time.time() - t
    del flat
    cos = np.concatenate([o[0] for o in out])
    return np.concatenate([o[1] for o in out]), cos, seconds


def recall_at_1(ids, cos, eids, ecos):
    """``(recall@1, same id, within 1e-4, within 1e-3)`` of ours ``(Q, k)`` against exact.

    recall@1: our first id is the exact first id. The bank holds identical rows (the same
    position drawn twice): an id whose cosine ties the exact first one (1e-6, float32 rounding)
    is the same patch and counts; the strict id equality is returned too."""
    gap = ecos[:, 0] - cos[:, 0]          # >= 0 up to rounding: ours cannot beat exact
    same = ids[:, 0] == eids[:, 0]
    return (float(np.mean(same | (gap <= 1e-6))), float(np.mean(same)),
            float(np.mean(gap <= 1e-4)), float(np.mean(gap <= 1e-3)))


def bank_speed(args, tmp):
    knn = load_knn()
    rng = np.random.default_rng(0)
    imgs, source = source_images(tmp)
    path = osp.join(tmp, 'bank.bin')
    t0 = time.time()
    write_rows(path, args.bank, lambda c: random_patches(imgs, c, rng))
    rows = knn.RawRows(path, 768, cache_bytes=0)
    mean = np.zeros(768, np.float64)
    for _, c in rows.chunks():
        mean += c.sum(0)
    mean = (mean / len(rows)).astype(np.float32)
    t1 = time.time()
    nprobes, cands = args.nprobe_list, args.candidates_list
    index = knn.build_cosine_index(rows, mean, exact_max_bytes=0,
                                   factory=factory(args, knn, len(rows)),
                                   nprobe=nprobes[0], candidates=cands[0])
    t_build = time.time() - t1
    queries = random_patches(imgs, args.queries, rng)
    queries += rng.normal(0, 0.02, queries.shape).astype(np.float32)
    # Held-out tuning queries (their own random stream): nprobe and candidates are chosen on
    # them, then the reported queries run once with the choice.
    rng_tune = np.random.default_rng(123)
    tune = random_patches(imgs, args.tune_queries, rng_tune)
    tune += rng_tune.normal(0, 0.02, tune.shape).astype(np.float32)
    eids, ecos, t_exact = exact_search(knn, rows, mean, np.concatenate([queries, tune]), 5)
    t_exact *= len(queries) / (len(queries) + len(tune))       # seconds for the reported queries
    teids, tecos = eids[len(queries):], ecos[len(queries):]
    eids, ecos = eids[:len(queries)], ecos[:len(queries)]
    print(f'bank: {len(rows):,} patches 16x16x3 from {source} (rows written in '
          f'{t1 - t0:.1f} s), index {factory(args, knn, len(rows)) or "default"} built in '
          f'{t_build:.1f} s; exact (faiss IndexFlatIP, rows in RAM, {args.threads} thread(s)): '
          f'{1e3 * t_exact / len(queries):.2f} ms/query')
    choice = (nprobes[0], cands[0])
    if len(nprobes) * len(cands) > 1:
        ms_exact = t_exact / len(queries)
        best = None
        for nprobe in nprobes:
            for cand in cands:
                index.set_nprobe(nprobe)
                index.candidates = cand
                t = time.time()
                ids, cos = index.search(tune, 5)
                dt = (time.time() - t) / len(tune)
                r = recall_at_1(ids, cos, teids, tecos)
                print(f'  tuning on {len(tune)} held-out queries: nprobe {nprobe:4d}, re-rank '
                      f'{cand:5d}: {1e3 * dt:.2f} ms/query ({ms_exact / dt:.1f}x), recall@1 '
                      f'{r[0]:.3f}')
                if r[0] >= args.target_recall and (best is None or dt < best[0]):
                    best = (dt, nprobe, cand)
        if best is not None:
            choice = best[1:]
        else:
            choice = (nprobes[-1], cands[-1])
        print(f'  chosen: nprobe {choice[0]}, re-rank {choice[1]} (fastest with held-out '
              f'recall@1 >= {args.target_recall}' + ('' if best else ': none, took the largest')
              + ')')
    index.set_nprobe(choice[0])
    index.candidates = choice[1]
    t2 = time.time()
    ids, cos = index.search(queries, 5)
    t_ours = time.time() - t2
    recall, strict, n4, n3 = recall_at_1(ids, cos, eids, ecos)
    top2 = float(np.median(ecos[:, 0] - ecos[:, 1]))
    print(f'k-NN of {args.queries} patches, k=5, nprobe {choice[0]}, exact re-rank of '
          f'{choice[1]}: ours {t_ours:.2f} s ({1e3 * t_ours / args.queries:.2f} ms/query), exact '
          f'{t_exact:.2f} s -> {t_exact / t_ours:.1f}x, recall@1 {recall:.3f} (same id: '
          f'{strict:.3f}; top-1 cosine within 1e-4 of the exact one: {n4:.3f}, within 1e-3: '
          f'{n3:.3f}; median exact top-1 - top-2 cosine gap {top2:.1e})')
    return dict(bank=len(rows), speedup=round(t_exact / t_ours, 1), recall_at_1=round(recall, 4),
                recall_at_1_same_id=round(strict, 4), recall_at_1_within_1e3=round(n3, 4),
                nprobe=choice[0], candidates=choice[1]), imgs


def factory(args, knn, n):
    """The faiss index factory string of the compressed index (``--factory``, ``{nlist}`` filled
    in for the bank size), or None for ``vidplugins.utils.knn``'s default."""
    if args.factory is None:
        return None
    return args.factory.format(nlist=knn._nlist(n))


def mix_rows(pool, rng, c):
    """``c`` rows, each a row of ``pool`` plus 0.3 times another. ``(c, D)``"""
    return pool[rng.integers(0, len(pool), c)] + 0.3 * pool[rng.integers(0, len(pool), c)]


def big_child(n, folder, args):
    """Runs in a child: write n rows, build, search; its max RSS is the measurement."""
    knn = load_knn()
    rng = np.random.default_rng(1)
    basis = rng.standard_normal((32, 768)).astype(np.float32) / 8
    # Rows: sums of two rows of a pool of low-rank + noise rows (drawing 768 normals per row
    # takes longer than building the index).
    # Small pool and chunks: the rows' generation must not set the peak RAM measured here.
    pool = (rng.standard_normal((16384, 32)).astype(np.float32) @ basis
            + 0.05 * rng.standard_normal((16384, 768)).astype(np.float32))
    path = osp.join(folder, 'big.bin')
    write_rows(path, n, functools.partial(mix_rows, pool, rng), chunk=8192)
    del pool                                   # out of the RAM measured from here on
    rows = knn.RawRows(path, 768, cache_bytes=0)
    mean = np.zeros(768, np.float32)
    t0 = time.time()
    index = knn.build_cosine_index(rows, mean, exact_max_bytes=0, factory=factory(args, knn, n),
                                   nprobe=args.nprobe, candidates=args.candidates,
                                   chunk_rows=16384)
    t_build = time.time() - t0
    q = rows.sample(4096, seed=2) + 0.01
    t1 = time.time()
    index.search(q, 5)
    import faiss
    row_bytes = faiss.extract_index_ivf(index.index).code_size + 8    # code + its int64 id
    print(json.dumps(dict(build_s=round(t_build, 1), search_s=round(time.time() - t1, 2),
                          ntotal=int(index.index.ntotal), row_bytes=int(row_bytes))))


def peak_ram(args, tmp):
    free = shutil.disk_usage(tmp).free
    limit = min(args.big_max_disk_gb * 1e9, free - 20e9)    # leave 20 GB to the machine
    n = int(min(args.big, limit // (768 * 4)))
    cmd = [sys.executable, __file__, '--child-big', str(n), '--child-dir', tmp,
           '--threads', str(args.threads), '--nprobe', str(args.nprobe),
           '--candidates', str(args.candidates)]
    if args.factory is not None:
        cmd += ['--factory', args.factory]
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
    info = json.loads(out.splitlines()[-1])
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6   # KiB -> GB (Linux)
    note = '' if n == args.big else (f' (asked for {args.big:,}: the rows file would be '
                                     f'{args.big * 3072 / 1e9:.1f} GB; measured the largest that '
                                     f'fits --big-max-disk-gb and the free disk less 20 GB)')
    print(f'RAM: bank of {n:,} patches (16x16x3) built + 4096 queries searched in a child '
          f'process: peak RSS {rss:.2f} GB, build {info["build_s"]} s, search '
          f'{info["search_s"]} s, total {time.time() - t0:.0f} s{note}')
    out = dict(big_bank=n, peak_rss_gb=round(rss, 3))
    if n < args.big:
        # RAM grows with the index's codes only: add them for the missing rows.
        est = rss + (args.big - n) * info['row_bytes'] / 1e9
        print(f'RAM extrapolated to {args.big:,} patches: {est:.2f} GB (measured peak + '
              f'{info["row_bytes"]} bytes of code and id per further patch)')
        out.update(peak_rss_gb_extrapolated=round(est, 3), extrapolated_to=args.big)
    return out


def step_split(imgs, tmp):
    import torch
    sys.path.insert(0, REPO)
    from PIL import Image
    import vidplugins.art2real  # noqa: F401
    from mmagic.registry import MODELS
    from mmengine.registry import init_default_scope
    from vidplugins.art2real.banks import build_banks
    init_default_scope('mmagic')
    photos = osp.join(tmp, 'photos')
    os.makedirs(photos, exist_ok=True)
    for i, im in enumerate(imgs[:8]):
        Image.fromarray(np.ascontiguousarray(im)).save(osp.join(photos, f'{i}.png'))
    bank_dir = osp.join(tmp, 'step_banks')
    build_banks(photos, bank_dir, segmenter=dict(type='background'), progress=False,
                logger=lambda *a: None)
    model = MODELS.build(dict(
        type='Art2RealCycleGAN', painting_domain='painting', photo_domain='photo',
        default_domain='photo', reachable_domains=['painting', 'photo'],
        related_domains=['painting', 'photo'], data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=64,
                       norm_cfg=dict(type='IN'), use_dropout=False, num_blocks=9,
                       padding_mode='reflect'),
        discriminator=dict(type='PatchDiscriminator', in_channels=3, base_channels=64,
                           num_conv=3, norm_cfg=dict(type='IN')),
        contextual_loss=dict(type='MultiScaleContextualLoss', banks=bank_dir)))
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    y = torch.rand(1, 3, 128, 128) * 2 - 1
    labels = torch.zeros(1, 128, 128, dtype=torch.long)
    gens = model.generators
    discs = model.discriminators
    times = {}
    t = time.time()
    fake_y = gens['photo'](x)
    cyc_x = gens['painting'](fake_y)
    fake_x = gens['painting'](y)
    cyc_y = gens['photo'](fake_x)
    id_ = gens['photo'](y) + gens['painting'](x)
    g_loss = sum(discs[d](f).pow(2).mean() for d, f in (('photo', fake_y), ('painting', fake_x)))
    g_loss = g_loss + (cyc_x - x).abs().mean() + (cyc_y - y).abs().mean() + id_.mean()
    times['generators_fwd'] = time.time() - t
    t = time.time()
    cx = model.contextual_loss(fake_y, labels)
    times['contextual_loss_fwd'] = time.time() - t
    t = time.time()
    (g_loss + cx).backward()
    times['generators_bwd'] = time.time() - t
    t = time.time()
    d_loss = sum(discs[d](f.detach()).pow(2).mean() + (discs[d](r) - 1).pow(2).mean()
                 for d, f, r in (('photo', fake_y, y), ('painting', fake_x, x)))
    d_loss.backward()
    times['discriminators_fwd_bwd'] = time.time() - t
    print('one training step at 128x128 (9-block ResNet generators, CPU): ' + ', '.join(
        f'{k} {v * 1e3:.0f} ms' for k, v in times.items()))
    return {k: round(v * 1e3) for k, v in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--bank', type=int, default=1_000_000)
    p.add_argument('--queries', type=int, default=4096)
    p.add_argument('--big', type=int, default=10_000_000,
                   help='rows of the peak-RAM bank (0: skip that part)')
    p.add_argument('--big-max-disk-gb', type=float, default=8.0)
    p.add_argument('--no-step', action='store_true')
    p.add_argument('--factory', default=None,
                   help='faiss index factory of the compressed index, {nlist} filled in '
                        '(default: vidplugins.utils.knn\'s)')
    p.add_argument('--nprobe', default='32',
                   help='inverted lists visited per query; a comma list is tuned (with '
                        '--candidates) on --tune-queries held-out queries')
    p.add_argument('--candidates', default='64',
                   help='rows re-ranked exactly per query (a comma list: tuned)')
    p.add_argument('--tune-queries', type=int, default=1024)
    p.add_argument('--target-recall', type=float, default=0.96,
                   help='held-out recall@1 the tuning asks for (a margin above the 0.95 goal)')
    p.add_argument('--threads', type=int, default=1,
                   help='faiss / BLAS threads for both searches (1: on a shared, loaded CPU '
                        "OpenMP threads waiting on each other dominate)")
    p.add_argument('--child-big', type=int, help=argparse.SUPPRESS)
    p.add_argument('--child-dir', help=argparse.SUPPRESS)
    args = p.parse_args()
    args.nprobe_list = [int(v) for v in str(args.nprobe).split(',')]
    args.candidates_list = [int(v) for v in str(args.candidates).split(',')]
    args.nprobe, args.candidates = args.nprobe_list[-1], args.candidates_list[-1]
    import faiss
    faiss.omp_set_num_threads(args.threads)
    try:   # NumPy's BLAS (the re-rank's products) on the same threads as faiss: on a loaded
        # machine its default threads wait on each other (4x slower measured on 2 shared cores)
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    except ImportError:
        print('threadpoolctl missing: NumPy\'s BLAS keeps its default threads')
    if args.child_big:
        big_child(args.child_big, args.child_dir, args)
        return
    tmp = tempfile.mkdtemp(prefix='bench_art2real_')
    try:
        result, imgs = bank_speed(args, tmp)
        os.remove(osp.join(tmp, 'bank.bin'))
        if args.big > 0:
            args.nprobe, args.candidates = result['nprobe'], result['candidates']
            result.update(peak_ram(args, tmp))
            os.remove(osp.join(tmp, 'big.bin'))
        else:
            result['peak_rss_gb'] = None
        if not args.no_step:
            result['step_ms'] = step_split(imgs, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    line = dict(bank=result['bank'], speedup=result['speedup'],
                recall_at_1=result['recall_at_1'], peak_rss_gb=result['peak_rss_gb'])
    line.update({k: v for k, v in result.items() if k not in line})
    print(json.dumps(line))


if __name__ == '__main__':
    main()
