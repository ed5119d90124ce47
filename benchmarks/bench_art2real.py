"""Art2Real bank search: compressed index + exact re-rank vs exact search, and bounded RAM.

    python benchmarks/bench_art2real.py [--bank 1000000] [--queries 4096] [--big 10000000]
        [--big-dir DIR] [--big-max-disk-gb 8] [--no-step] [--stress]

1. A bank of ``--bank`` 16x16 RGB patches (d = 768, float32 rows on disk as build_banks writes
   them), cut the way ``tools/art2real/build_banks.py`` cuts them: the 16:6 grid (size 16, stride
   6), with scales 1, 0.7, 0.5 and mirroring as augmentation, from every real source there is:
   the photos and faces of ../shared/data/images and every ``--frame-every``-th frame of each
   video of ../shared/data/videos (each image's patches kept at random with the same probability
   when they give more than ``--bank``), topped up with generated demo photos
   (``vidplugins.demo_data.art2real_images``, seeds 1000, 1001, ...) when they give fewer, or
   made of those alone without ../shared. The sources and their patch counts are printed.
   Queries play the patches of G(x): grid patches of images never in the bank (the paintings of
   ../shared/data/images and generated paintings and photos of another seed), split into
   ``--tune-queries`` tuning and ``--queries`` measured ones (disjoint). k = 5 neighbours: the
   index of ``vidplugins.utils.knn`` as the banks build it (``PCAR128,IVF{nlist},SQ8``, code
   ranges from quantiles; compressed codes, exact re-rank of candidates read from the rows
   file) against exact search (faiss ``IndexFlatIP`` over all normalised rows in RAM, queries in
   batches, same threads; only the searches are timed). With comma lists for ``--nprobe`` /
   ``--candidates`` the fastest setting with recall@1, strict and untied strict recall@1 all
   >= ``--target-recall`` on the tuning queries is chosen first, then the measured queries run
   once. recall@1 (headline) is ann-benchmarks' k-NN recall at k = 1 (our top-1 distance within
   1e-3 of the exact one); printed beside it: the strict recall@1 (the exact top-1 id or a
   byte-identical row), and the strict recall@1 on the queries whose exact nearest row is
   unique within 1e-3, with their share (see ``recall_at_1``). ``--stress``: the old dense
   worst case instead (random continuous positions of
   the few real images, queries noisy copies of other positions of the same images: dozens of
   1-px-shifted near-copies per query), not what build_banks gives.
2. Peak RAM (max RSS of a child process importing only NumPy and faiss) of building the index
   of a ``--big``-row bank and searching it (synthetic low-rank rows: RAM depends on the row
   count, not the content). The rows file of 10M patches is 30.7 GB (``--big-dir``: kept and
   reused); when the free disk (less ``--keep-free-gb``) or ``--big-max-disk-gb`` does not allow
   it, the largest bank that fits is measured and the line says so, with an extrapolation (RSS
   grows with the codes: ~(code bytes + 8) per row, plus fixed buffers).
3. One Art2Real training step (generator, discriminators, contextual loss) at 128x128 on a
   bank of 8 of the real sources, time split (``--no-step`` skips it).

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


SHARED = osp.join(osp.dirname(REPO), 'shared', 'data')
# The banks' index (vidplugins.art2real.banks.BANK_INDEX / BANK_SQ_QUANTILE, equal by test; not
# imported: the RAM child must not import torch).
FACTORY, SQ_QUANTILE = 'PCAR{pca},IVF{nlist},SQ8', 1e-3
SIZE, STRIDE = 16, 6                  # build_banks' 16:6 scale
AUGMENT = ((1.0, False), (1.0, True), (0.7, False), (0.7, True), (0.5, False), (0.5, True))


def _images(folder):
    if not osp.isdir(folder):
        return []
    return sorted(osp.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith(('.jpg', '.jpeg', '.png')))


def _rgb(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert('RGB'))


def _video_frames(path, every):
    """Frames 0, every, 2 every, ... of a video (RGB uint8)."""
    import cv2
    cap = cv2.VideoCapture(path)
    out, i = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            out.append(np.ascontiguousarray(frame[:, :, ::-1]))
        i += 1
    cap.release()
    return out


def bank_sources(frame_every):
    """The real sources of the bank as ``[(name, [RGB uint8 images])]``: the photos and faces of
    ../shared/data/images and every ``frame_every``-th frame of ../shared/data/videos/*."""
    out = []
    for sub in ('photos', 'faces'):
        for p in _images(osp.join(SHARED, 'images', sub)):
            out.append((f'images/{sub}/{osp.basename(p)}', [_rgb(p)]))
    vdir = osp.join(SHARED, 'videos')
    if osp.isdir(vdir):
        for f in sorted(os.listdir(vdir)):
            frames = _video_frames(osp.join(vdir, f), frame_every)
            if frames:
                out.append((f'videos/{f} ({len(frames)} frames, every {frame_every}th)', frames))
    return out


def generated(tmp, kind, count, seed, size=256):
    """``count`` generated demo images (vidplugins.demo_data.art2real_images): ``kind`` 'photo'
    (trainB) or 'painting' (trainA), of the given seed."""
    sys.path.insert(0, REPO)
    from vidplugins.demo_data.art2real_images import generate_art2real
    root = osp.join(tmp, f'gen_{kind}_{seed}')
    photos = count if kind == 'photo' else 0
    generate_art2real(root, n_paintings=count - photos, n_photos=photos, n_test=0, size=size,
                      seed=seed)
    sub = osp.join(root, 'trainB' if kind == 'photo' else 'trainA')
    imgs = [_rgb(p) for p in _images(sub)]
    shutil.rmtree(root, ignore_errors=True)
    return imgs


def grid_patches(img, scale=1.0, flip=False):
    """The 16:6 grid patches of an RGB uint8 image (optionally resized and mirrored), as
    build_banks cuts them (``F.unfold`` order: channel, row, column), in [-1, 1]. ``(L, 768)``"""
    from PIL import Image
    if scale != 1.0:
        h, w = img.shape[:2]
        img = np.asarray(Image.fromarray(img).resize((int(w * scale), int(h * scale)),
                                                      Image.BILINEAR))
    if flip:
        img = img[:, ::-1]
    if min(img.shape[:2]) < SIZE:
        return np.empty((0, 3 * SIZE * SIZE), np.float32)
    win = np.lib.stride_tricks.sliding_window_view(img, (SIZE, SIZE), axis=(0, 1))
    win = win[::STRIDE, ::STRIDE]                               # (gh, gw, 3, SIZE, SIZE)
    return win.reshape(-1, 3 * SIZE * SIZE).astype(np.float32) / 127.5 - 1


def write_faithful_bank(path, n, tmp, frame_every, rng):
    """Write ``n`` bank rows cut as build_banks cuts them (16:6 grid; scales 1, 0.7, 0.5 and
    mirroring as augmentation) from the real sources; when they give more than ``n`` patches, a
    uniform random subset of every image's patches is kept; when fewer, generated demo photos
    (seeds 1000, 1001, ...) top them up. Returns the list of sources used (with counts)."""
    real = bank_sources(frame_every)
    total = sum(len(grid_patches(im, s, f)) for _, ims in real for im in ims for s, f in AUGMENT)
    keep = min(1.0, n / max(total, 1))
    written, used = 0, [f'(the real sources give {total:,} patches: each kept with probability '
                        f'{keep:.3f})']
    with open(path, 'wb') as out:
        def put(x):
            nonlocal written
            x = x[:n - written]
            out.write(x.astype('<f4').tobytes())
            written += len(x)
            return len(x)
        for name, ims in real:
            c = 0
            for im in ims:
                for s, f in AUGMENT:
                    x = grid_patches(im, s, f)
                    c += put(x[rng.random(len(x)) < keep])
            used.append(f'{name}: {c:,}')
        seed, gen = 1000, 0
        while written < n:
            for im in generated(tmp, 'photo', 16, seed):
                for s, f in AUGMENT:
                    gen += put(grid_patches(im, s, f))
            seed += 1
        if gen:
            used.append(f'generated demo photos (seeds 1000-{seed - 1}, 256x256): {gen:,}')
    return used


def held_out_queries(tmp, n_measured, n_tune, rng):
    """Queries from sources never in the bank: the 16:6 grid patches of the paintings of
    ../shared/data/images (G's inputs) and of generated demo paintings and photos (other seeds
    than the bank's), shuffled and split into ``n_tune`` tuning and ``n_measured`` measured
    queries (disjoint patches). Returns ``(measured, tune, source names)``."""
    names, pool = [], []
    for p in _images(osp.join(SHARED, 'images', 'paintings')):
        pool.append(grid_patches(_rgb(p)))
        names.append(f'images/paintings/{osp.basename(p)}')
    pool += [grid_patches(im) for im in generated(tmp, 'painting', 16, 7)]
    pool += [grid_patches(im) for im in generated(tmp, 'photo', 16, 7)]
    names.append('16 generated paintings + 16 generated photos (seed 7)')
    # Each source contributes equally (the big paintings would dominate otherwise).
    per = -(-(n_measured + n_tune) // len(pool))
    x = np.concatenate([p[rng.choice(len(p), min(per, len(p)), replace=False)] for p in pool])
    x = x[rng.permutation(len(x))]
    if len(x) < n_measured + n_tune:
        raise ValueError(f'only {len(x)} held-out query patches')
    return x[:n_measured], x[n_measured:n_measured + n_tune], names


def source_images(tmp):
    """--stress: the old dense setting (all images, 3 scales, mirrored) for random positions."""
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


#: ann-benchmarks' distance slack (erikbern/ann-benchmarks, ann_benchmarks/plotting/metrics.py:
#: ``knn_threshold`` = exact k-th distance + epsilon, ``get_recall_values(..., epsilon=1e-3)``)
EPSILON = 1e-3


def recall_at_1(rows, ids, cos, eids, ecos):
    """recall@1 of ours ``(Q, k)`` against the exact search ``(Q, >= 2)``, four ways (a dict).

    - ``recall_at_1`` (the headline): ann-benchmarks' k-NN recall at k = 1, the field's standard
      definition: our first neighbour counts when its angular distance (1 - cos) is at most the
      exact first one's plus ``EPSILON`` = 1e-3 (rows closer to the query than one another by
      less than that are the same neighbour to it: the contextual loss of Eq. A.1-A.6 cannot
      tell them apart either).
    - ``strict``: our first id is the exact first id, or a row byte-identical to it (the bank may
      hold the same patch twice: flat sky, black borders); ``same_id``: the id alone.
    - ``untied``: ``strict`` on the queries whose exact nearest row is unique within ``EPSILON``
      (the exact second is more than 1e-3 further), with their share ``untied_share``: on the
      others, which of the near-equal rows is "the" nearest is decided below 1e-3 of cosine, by
      compression noise of the video frames the bank was cut from.
    """
    same = ids[:, 0] == eids[:, 0]
    equal = same.copy()
    diff = np.flatnonzero(~same & (ids[:, 0] >= 0))
    if len(diff):
        ours, theirs = rows.take(ids[diff, 0]), rows.take(eids[diff, 0])
        equal[diff] = (ours == theirs).all(1)
    within = (ecos[:, 0] - cos[:, 0]) <= EPSILON      # 1 - cos vs 1 - ecos, + epsilon
    untied = (ecos[:, 0] - ecos[:, 1]) > EPSILON
    return dict(recall_at_1=float(np.mean(within)), strict=float(np.mean(equal)),
                same_id=float(np.mean(same)),
                untied=float(np.mean(equal[untied])) if untied.any() else float('nan'),
                untied_share=float(np.mean(untied)))


def bank_speed(args, tmp):
    knn = load_knn()
    rng = np.random.default_rng(0)
    path = osp.join(tmp, 'bank.bin')
    t0 = time.time()
    if args.stress:
        imgs, source = source_images(tmp)
        write_rows(path, args.bank, lambda c: random_patches(imgs, c, rng))
        sources = [f'--stress: random positions of {source} (3 scales, mirrored)']
        queries = random_patches(imgs, args.queries, rng)
        queries += rng.normal(0, 0.02, queries.shape).astype(np.float32)
        rng_tune = np.random.default_rng(123)
        tune = random_patches(imgs, args.tune_queries, rng_tune)
        tune += rng_tune.normal(0, 0.02, tune.shape).astype(np.float32)
        qsources = ['noisy copies of other random positions of the same images']
    else:
        sources = write_faithful_bank(path, args.bank, tmp, args.frame_every, rng)
        queries, tune, qsources = held_out_queries(tmp, args.queries, args.tune_queries, rng)
    rows = knn.RawRows(path, 768, cache_bytes=0)
    mean = np.zeros(768, np.float64)
    for _, c in rows.chunks():
        mean += c.sum(0)
    mean = (mean / len(rows)).astype(np.float32)
    t1 = time.time()
    print(f'bank: {len(rows):,} patches 16x16x3 (rows written in {t1 - t0:.0f} s) from:')
    for line in sources:
        print(f'  {line}')
    print(f'queries ({args.queries} measured, {args.tune_queries} for tuning, disjoint) from: '
          + '; '.join(qsources))
    nprobes, cands = args.nprobe_list, args.candidates_list
    index = knn.build_cosine_index(rows, mean, exact_max_bytes=0,
                                   factory=factory(args, knn, len(rows)),
                                   sq_quantile=args.sq_quantile,
                                   nprobe=nprobes[0], candidates=cands[0])
    t_build = time.time() - t1
    eids, ecos, t_exact = exact_search(knn, rows, mean, np.concatenate([queries, tune]), 5)
    t_exact *= len(queries) / (len(queries) + len(tune))       # seconds for the reported queries
    teids, tecos = eids[len(queries):], ecos[len(queries):]
    eids, ecos = eids[:len(queries)], ecos[:len(queries)]
    print(f'index {factory(args, knn, len(rows)) or "default"} built in {t_build:.1f} s; exact '
          f'(faiss IndexFlatIP, rows in RAM, {args.threads} thread(s)): '
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
                r = recall_at_1(rows, ids, cos, teids, tecos)
                ok = min(r['recall_at_1'], r['strict'], r['untied'])
                print(f'  tuning on {len(tune)} held-out queries: nprobe {nprobe:4d}, re-rank '
                      f'{cand:5d}: {1e3 * dt:.2f} ms/query ({ms_exact / dt:.1f}x), recall@1 '
                      f'{r["recall_at_1"]:.3f} (strict {r["strict"]:.3f}, untied '
                      f'{r["untied"]:.3f})')
                if ok >= args.target_recall and (best is None or dt < best[0]):
                    best = (dt, nprobe, cand)
        if best is not None:
            choice = best[1:]
        else:
            choice = (nprobes[-1], cands[-1])
        print(f'  chosen: nprobe {choice[0]}, re-rank {choice[1]} (fastest with held-out '
              f'recall@1, strict and untied strict recall@1 >= {args.target_recall}'
              + ('' if best else ': none, took the largest')
              + ')')
    index.set_nprobe(choice[0])
    index.candidates = choice[1]
    t2 = time.time()
    ids, cos = index.search(queries, 5)
    t_ours = time.time() - t2
    r = recall_at_1(rows, ids, cos, eids, ecos)
    top2 = float(np.median(ecos[:, 0] - ecos[:, 1]))
    tied5 = float(np.mean(ecos[:, 0] - ecos[:, 4] <= EPSILON))
    print(f'k-NN of {args.queries} patches, k=5, nprobe {choice[0]}, exact re-rank of '
          f'{choice[1]}: ours {t_ours:.2f} s ({1e3 * t_ours / args.queries:.2f} ms/query), exact '
          f'{t_exact:.2f} s -> {t_exact / t_ours:.1f}x, recall@1 {r["recall_at_1"]:.3f} '
          f'(ann-benchmarks: top-1 distance within {EPSILON:g} of the exact one)')
    print(f'  strict recall@1 (the exact top-1 id, or a byte-identical row) {r["strict"]:.3f}, '
          f'same id alone {r["same_id"]:.3f}; on the {100 * r["untied_share"]:.1f} % of queries '
          f'whose exact nearest row is unique within {EPSILON:g} (no tie): strict recall@1 '
          f'{r["untied"]:.3f}. Ties: median exact top-1 - top-2 cosine gap {top2:.1e}; '
          f'{100 * tied5:.1f} % of queries have all 5 exact neighbours within {EPSILON:g} of the '
          f'top-1')
    return dict(bank=len(rows), speedup=round(t_exact / t_ours, 1),
                recall_at_1=round(r['recall_at_1'], 4), recall_at_1_strict=round(r['strict'], 4),
                recall_at_1_same_id=round(r['same_id'], 4),
                recall_at_1_untied_strict=round(r['untied'], 4),
                untied_share=round(r['untied_share'], 4), nprobe=choice[0],
                candidates=choice[1], setting='stress' if args.stress else 'faithful')


def factory(args, knn, n):
    """The faiss index factory string of the compressed index (``--factory``, ``{nlist}`` and
    ``{pca}`` filled in for the bank size as ``build_cosine_index`` fills them)."""
    return args.factory.format(nlist=knn._nlist(n), pca=min(768, 128))


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
    if not (osp.exists(path) and osp.getsize(path) == n * 768 * 4):   # else: reused (--big-dir)
        write_rows(path + '.part', n, functools.partial(mix_rows, pool, rng), chunk=8192)
        os.replace(path + '.part', path)
    del pool                                   # out of the RAM measured from here on
    rows = knn.RawRows(path, 768, cache_bytes=0)
    mean = np.zeros(768, np.float32)
    t0 = time.time()
    index = knn.build_cosine_index(rows, mean, exact_max_bytes=0, factory=factory(args, knn, n),
                                   sq_quantile=args.sq_quantile,
                                   nprobe=args.nprobe, candidates=args.candidates,
                                   chunk_rows=16384)
    t_build = time.time() - t0
    q = rows.sample(4096, seed=2) + 0.01
    t1 = time.time()
    index.search(q, 5)
    import faiss
    row_bytes = faiss.extract_index_ivf(index.index).code_size + 8    # code + its int64 id
    # The child's own peak (RUSAGE_SELF: this process image since exec). The parent's
    # RUSAGE_CHILDREN is not used: Linux folds into it the forked child's RSS before exec, a
    # copy of the parent's (4.06 GB measured after the 1M comparison held its rows in RAM).
    print(json.dumps(dict(peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                          build_s=round(t_build, 1), search_s=round(time.time() - t1, 2),
                          ntotal=int(index.index.ntotal), row_bytes=int(row_bytes))))


def peak_ram(args, tmp):
    folder = args.big_dir or tmp
    os.makedirs(folder, exist_ok=True)
    free = shutil.disk_usage(folder).free
    limit = min(args.big_max_disk_gb * 1e9, free - args.keep_free_gb * 1e9)
    n = int(min(args.big, limit // (768 * 4)))
    if n < 1:
        raise SystemExit(f'{folder}: {free / 1e9:.1f} GB free, less --keep-free-gb '
                         f'{args.keep_free_gb:g}, leaves no room for the peak-RAM bank\'s rows')
    existing = osp.join(folder, 'big.bin')
    if osp.exists(existing) and osp.getsize(existing) == args.big * 768 * 4:
        n = args.big                          # written by an earlier run with --big-dir
    cmd = [sys.executable, __file__, '--child-big', str(n), '--child-dir', folder,
           '--threads', str(args.threads), '--nprobe', str(args.nprobe),
           '--candidates', str(args.candidates)]
    cmd += ['--factory', args.factory, '--sq-quantile', str(args.sq_quantile)]
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
    info = json.loads(out.splitlines()[-1])
    rss = info['peak_rss_kib'] * 1024 / 1e9             # KiB (Linux ru_maxrss) -> GB
    note = '' if n == args.big else (f' (asked for {args.big:,}: the rows file would be '
                                     f'{args.big * 3072 / 1e9:.1f} GB; measured the largest that '
                                     f'fits --big-max-disk-gb and the free disk less '
                                     f'--keep-free-gb)')
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


def step_split(tmp, frame_every):
    imgs = [im for _, ims in bank_sources(frame_every) for im in ims][:8]
    if not imgs:
        imgs = generated(tmp, 'photo', 8, 1000)
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
    p.add_argument('--big-dir', default=None,
                   help='folder of the peak-RAM bank\'s rows file big.bin, kept (and reused when '
                        'it has --big rows) instead of a temporary one; delete it when done')
    p.add_argument('--keep-free-gb', type=float, default=20.0,
                   help='disk left free when sizing the peak-RAM bank\'s rows file')
    p.add_argument('--no-step', action='store_true')
    p.add_argument('--stress', action='store_true',
                   help='the old dense setting: random positions of the few real images, '
                        'queries noisy copies of other positions')
    p.add_argument('--frame-every', type=int, default=15,
                   help='bank: every n-th frame of each video of ../shared/data/videos')
    p.add_argument('--factory', default=FACTORY,
                   help='faiss index factory of the compressed index, {nlist} and {pca} filled '
                        'in (default: the banks\' BANK_INDEX)')
    p.add_argument('--sq-quantile', type=float, default=SQ_QUANTILE,
                   help='scalar quantiser ranges: [q, 1 - q] quantiles (the banks\' '
                        'BANK_SQ_QUANTILE)')
    p.add_argument('--nprobe', default='32',
                   help='inverted lists visited per query; a comma list is tuned (with '
                        '--candidates) on --tune-queries held-out queries')
    p.add_argument('--candidates', default='64',
                   help='rows re-ranked exactly per query (a comma list: tuned)')
    p.add_argument('--tune-queries', type=int, default=1024)
    p.add_argument('--target-recall', type=float, default=0.96,
                   help='held-out recall@1 (ann-benchmarks), strict and untied strict recall@1 '
                        'the tuning asks for (a margin above the 0.95 goal)')
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
        result = bank_speed(args, tmp)
        os.remove(osp.join(tmp, 'bank.bin'))
        if args.big > 0:
            args.nprobe, args.candidates = result['nprobe'], result['candidates']
            result.update(peak_ram(args, tmp))
            if not args.big_dir:
                os.remove(osp.join(tmp, 'big.bin'))
        else:
            result['peak_rss_gb'] = None
        if not args.no_step:
            result['step_ms'] = step_split(tmp, args.frame_every)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    line = dict(bank=result['bank'], speedup=result['speedup'],
                recall_at_1=result['recall_at_1'], peak_rss_gb=result['peak_rss_gb'])
    line.update({k: v for k, v in result.items() if k not in line})
    print(json.dumps(line))


if __name__ == '__main__':
    main()
