"""Quality and diversity throughput: each Lumina step against its raw library, same data, same run.

- embed:  sentences/s of Lumina's Embedder.encode vs SentenceTransformer.encode on the same loaded
          bundled MiniLM (goal: ratio >= 0.9);
- dedup:  near-duplicate groups of --n-dedup texts with planted near copies: Lumina's
          near_duplicate_groups vs a plain datasketch loop (MinHash per text with the default SHA1
          hash, MinHashLSH with its default parameters, query, verify, union-find); both report
          the planted pairs they found (recall);
- umap:   fit on --n-umap points and transform of --n-new new ones: Lumina's Projection vs
          umap.UMAP with the same parameters, on unit vectors around 20 random directions.
          ``diversity.warm_up()`` compiles numba's functions first (both sides then run
          compiled code); its time is printed too.
- map:    the Diversity page's data query at --n-map samples placed on the map (id, x, y,
          cluster, node, status, flags, instruction preview, a colour score): Lumina's
          ``mapping.map_data`` (connect, project lookup, one query, Arrow out) vs the same query
          on an already open connection.
Ratios are lumina/raw rates (> 1 = Lumina faster). Best of --repeat runs per side, since the
2-core machines here are often shared.

    python benchmarks/quality.py [--n-embed 2000] [--n-dedup 100000] [--n-umap 20000] [--n-new 1000]
                                 [--only embed,dedup,umap] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

WORDS = ("time year people way day man thing woman life child world school state family student group "
         "country problem hand part place case week company system program question work government number "
         "night point home water room mother area money story fact month lot right study book eye job word "
         "business issue side kind head house service friend father power hour game line end member law car "
         "city community name president team minute idea kid body information back parent face others level "
         "office door health person art war history party result change morning reason research girl guy "
         "moment air teacher force education river garden engine planet recipe bridge valley market signal "
         "theory window island forest machine winter summer network protein battery language mountain").split()


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def row(name: str, unit: str, raw_rate: float, lum_rate: float, extra: str = "") -> None:
    print(f"{name:28} raw {raw_rate:10.1f} {unit:9} lumina {lum_rate:10.1f} {unit:9} "
          f"ratio {lum_rate / raw_rate:5.2f}  {extra}", flush=True)


# -- embeddings ---------------------------------------------------------------------------------

def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))).capitalize() + "." for _ in range(n)]


def bench_embed(n: int, repeat: int) -> None:
    from lumina.diversity.embeddings import get_embedder

    texts = sentences(n)
    emb = get_embedder()
    st = emb.model  # the same loaded SentenceTransformer: only the wrapper differs
    st.encode(texts[:64], batch_size=64)  # warm-up
    raw_s, _ = best(lambda: st.encode(texts, batch_size=64, show_progress_bar=False), repeat)
    lum_s, vecs = best(lambda: emb.encode(texts, batch_size=64), repeat)
    prog_s, _ = best(lambda: emb.encode(texts, batch_size=64, progress=lambda d, t: None), 1)
    row(f"embed {n} sentences", "sent/s", n / raw_s, n / lum_s,
        f"(with progress callback: {n / prog_s:.1f} sent/s; dim {vecs.shape[1]})")


# -- near-dup -----------------------------------------------------------------------------------

def dedup_corpus(n: int, seed: int = 1) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """n texts of 30-60 words; 5% are near copies (2-3 words changed) of an earlier text."""
    rng = random.Random(seed)
    texts: list[str] = []
    planted: list[tuple[int, int]] = []
    for i in range(n):
        if i > 10 and rng.random() < 0.05:
            src = rng.randrange(i)
            ws = texts[src].split()
            for _ in range(2 if len(ws) > 45 else 1):
                ws[rng.randrange(len(ws))] = rng.choice(WORDS)
            texts.append(" ".join(ws))
            planted.append((src, i))
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 60))))
    return list(enumerate(texts)), planted


def raw_datasketch(items, threshold: float, num_perm: int, shingle: int) -> list[list[int]]:
    from datasketch import MinHash, MinHashLSH

    from lumina.quality.dedup import shingles

    sigs = []
    for _, text in items:
        m = MinHash(num_perm=num_perm)
        m.update_batch(list(shingles(text, shingle)))
        sigs.append(m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for k, m in enumerate(sigs):
        lsh.insert(k, m)
    parent = list(range(len(items)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k, m in enumerate(sigs):
        for other in lsh.query(m):
            if other > k and m.jaccard(sigs[other]) >= threshold:
                a, b = find(k), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def recall(groups: list[list[int]], planted: list[tuple[int, int]], items) -> str:
    from lumina.quality.dedup import jaccard

    where = {i: k for k, g in enumerate(groups) for i in g}
    eligible = [(a, b) for a, b in planted if jaccard(items[a][1], items[b][1]) >= 0.8]
    found = sum(1 for a, b in eligible if a in where and where.get(a) == where.get(b))
    return f"{found}/{len(eligible)}"


def bench_dedup(n: int, repeat: int) -> None:
    from lumina.quality.dedup import near_duplicate_groups

    items, planted = dedup_corpus(n)
    raw_s, raw_groups = best(lambda: raw_datasketch(items, 0.8, 128, 5), repeat)
    lum_s, lum_groups = best(lambda: near_duplicate_groups(items, threshold=0.8, shingle=5, num_perm=128), repeat)
    row(f"near-dedup {n} texts", "texts/s", n / raw_s, n / lum_s,
        f"(raw {raw_s:.1f} s, lumina {lum_s:.1f} s; planted pairs with Jaccard >= 0.8 found: "
        f"raw {recall(raw_groups, planted, items)}, lumina {recall(lum_groups, planted, items)})")


# -- UMAP ---------------------------------------------------------------------------------------

def blobs(n: int, d: int = 384, centers: int = 20, seed: int = 2):
    """Unit vectors around ``centers`` random directions, like embeddings of a varied dataset."""
    import numpy as np

    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, d)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bench_umap(n: int, n_new: int, repeat: int) -> None:
    from lumina.diversity import Projection, _import_umap, warm_up

    t0 = time.perf_counter()
    umap = _import_umap()
    t_import = time.perf_counter() - t0
    t_warm = warm_up()
    print(f"{'umap warm-up':28} import {t_import:.1f} s, diversity.warm_up() {t_warm:.1f} s "
          f"(numba cache: {os.environ.get('NUMBA_CACHE_DIR')})", flush=True)
    x, new = blobs(n), blobs(n_new, seed=4)

    def raw_fit():
        return umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, metric="cosine", random_state=0,
                         n_jobs=1).fit(x)

    raw_s, raw_model = best(raw_fit, repeat)
    lum_s, proj = best(lambda: Projection.fit(x, n_neighbors=15, min_dist=0.1, random_state=0), repeat)
    row(f"umap fit {n} x {x.shape[1]}", "points/s", n / raw_s, n / lum_s, f"(raw {raw_s:.1f} s, lumina {lum_s:.1f} s)")
    raw_t, _ = best(lambda: raw_model.transform(new), repeat)
    lum_t, _ = best(lambda: proj.transform(new), repeat)
    row(f"umap transform {n_new} new", "points/s", n_new / raw_t, n_new / lum_t,
        f"(raw {raw_t:.2f} s, lumina {lum_t:.2f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = proj.save(Path(tmp) / "map.bin")
        t_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        Projection.load(path)
        t_load = time.perf_counter() - t0
        print(f"{'umap save / load':28} {t_save:.2f} s / {t_load:.2f} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)


def bench_map(n: int, repeat: int) -> None:
    import duckdb
    import numpy as np

    from lumina.diversity import map_job as mapping
    from lumina import projects
    from lumina.projects import samples
    from lumina.config import settings
    from lumina.records import NewSample, Score
    from lumina.store import connect
    from lumina.store import quality as store_quality
    from lumina.store import samples as store_samples

    p = projects.create_project(f"map-bench-{n}", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    t0 = time.monotonic()
    rng = np.random.default_rng(0)
    for start in range(0, n, 10_000):
        batch = [NewSample(mode="import", instruction=f"Question {i} about topic {i % 97}: how does it work?",
                           response=f"Answer {i}.", node_path=f"Area {i % 10} > Topic {i % 97}",
                           messages=[{"role": "user", "content": f"Question {i}"}, {"role": "assistant", "content": "A"}])
                 for i in range(start, min(n, start + 10_000))]
        with connect() as con:
            ids = samples.write_many(con, p.id, batch)
            store_samples.write_scores_many(con, [(i, [Score("judge", "1", "overall", float(i % 5 + 1))]) for i in ids])
            store_quality.put_points(con, p.id, ids, rng.normal(size=(len(ids), 2)), rng.integers(0, 12, len(ids)))
    print(f"{'map data: fill':28} {n} samples in {time.monotonic() - t0:.0f} s", flush=True)

    def lumina():
        tbl = mapping.map_data(p.name, "judge.overall")
        assert tbl.num_rows == n

    con = duckdb.connect(str(settings().db_path))

    def raw():
        tbl = con.sql(store_quality.MAP_SQL, params={"pid": p.id, "scorer": "judge", "metric": "overall"}
                      ).to_arrow_table()
        assert tbl.num_rows == n

    t_raw, _ = best(raw, repeat)
    con.close()
    t_lum, _ = best(lumina, repeat)
    row(f"map data query {n // 1000}k", "rows/s", n / t_raw, n / t_lum,
        f"(raw {t_raw * 1000:.0f} ms: the same query on an open connection; lumina {t_lum * 1000:.0f} ms with connect)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-embed", type=int, default=2000)
    ap.add_argument("--n-dedup", type=int, default=100_000)
    ap.add_argument("--n-umap", type=int, default=20_000)
    ap.add_argument("--n-new", type=int, default=1000)
    ap.add_argument("--n-map", type=int, default=100_000)
    ap.add_argument("--only", default="embed,dedup,umap,map")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("LUMINA_HOME", tempfile.mkdtemp(prefix="lumina-bench-"))
    only = set(args.only.split(","))
    print(f"quality benchmark: embed {args.n_embed}, dedup {args.n_dedup}, umap {args.n_umap} + {args.n_new} new, "
          f"best of {args.repeat}, {os.cpu_count()} CPUs", flush=True)
    if "embed" in only:
        bench_embed(args.n_embed, args.repeat)
    if "dedup" in only:
        bench_dedup(args.n_dedup, args.repeat)
    if "umap" in only:
        bench_umap(args.n_umap, args.n_new, args.repeat)
    if "map" in only:
        bench_map(args.n_map, args.repeat)


if __name__ == "__main__":
    main()
