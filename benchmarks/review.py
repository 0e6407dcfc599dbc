"""Review latency: the time from a decision to the next sample being ready to show, at 1k and
100k samples in the project (goal: p95 <= 200 ms at 100k on these machines).

For each size a fresh project is filled (samples with heuristic scores, a judge score on half),
then, for N decisions in a row:
- lumina: what the Review page runs per decision: ``review.decide`` (event + status, one
          transaction) and ``review.queue_page`` (next sample with scores and flags, remaining
          count, similar samples, its history, node and flag lists: one connection);
- raw:    the least a store could do: one status UPDATE and one "next pending" SELECT on the
          same DuckDB file, no event log.
Prints p50 / p95 of each and the ratio lumina/raw of the p50s.

    python benchmarks/review.py [--sizes 1000,100000] [--decisions 200] [--order "lowest judge score"]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NODES = [f"Domain {d} > Topic {t}" for d in range(10) for t in range(10)]


def fill(project: str, n: int) -> None:
    from lumina import projects
    from lumina.projects import samples
    from lumina.records import NewSample, Score
    from lumina.store import connect
    from lumina.store import samples as store_samples

    p = projects.create_project(project, teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    batch = 5000
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            q = f"Question {i}: how does process {i % 997} affect outcome {i % 113} in practice?"
            a = f"Answer {i}. It depends on conditions {i % 31} and {i % 17}; here is a careful explanation."
            rows.append(NewSample(mode="taxonomy", instruction=q, response=a, node_path=NODES[i % len(NODES)],
                                  messages=[{"role": "user", "content": q}, {"role": "assistant", "content": a}]))
        with connect() as con:
            ids = samples.write_many(con, p.id, rows)
            store_samples.write_scores_many(con, [(sid, [Score("judge", "1", "overall", 1 + (sid * 7919) % 5)])
                                                  for sid in ids[::2]])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_lumina(project: str, decisions: int, order: str) -> list[float]:
    from lumina import review

    times = []
    view = review.queue_page(project, "bench", order).view
    for k in range(decisions):
        t0 = time.perf_counter()
        review.decide(project, [view.sample.id], "approve" if k % 4 else "reject", "bench", reason=None)
        view = review.queue_page(project, "bench", order).view
        times.append(time.perf_counter() - t0)
    return times


def bench_raw(db: Path, decisions: int) -> list[float]:
    import duckdb

    # Same access pattern as Lumina (a connection per unit of work, so worker processes can
    # write in between): one to decide, one to read the next sample.
    times = []
    with duckdb.connect(str(db)) as con:
        (sid,) = con.execute("SELECT id FROM samples WHERE status = 'pending' ORDER BY id LIMIT 1").fetchone()
    for _ in range(decisions):
        t0 = time.perf_counter()
        with duckdb.connect(str(db)) as con:
            con.execute("UPDATE samples SET status = 'approved' WHERE id = ?", [sid])
        with duckdb.connect(str(db)) as con:
            (sid,) = con.execute("SELECT id FROM samples WHERE status = 'pending' ORDER BY id LIMIT 1").fetchone()
            con.execute("SELECT * FROM samples WHERE id = ?", [sid]).fetchone()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--order", default="oldest")
    args = ap.parse_args()
    from lumina.config import settings

    print(f"{'samples':>8} {'order':>20} {'lumina p50':>11} {'lumina p95':>11} {'raw p50':>8} {'raw p95':>8} {'ratio p50':>9}")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as home:
            os.environ["LUMINA_HOME"] = home
            t0 = time.monotonic()
            fill("bench", n)
            fill_s = time.monotonic() - t0
            lum = bench_lumina("bench", args.decisions, args.order)
            raw = bench_raw(settings().db_path, args.decisions)
            ratio = statistics.median(lum) / statistics.median(raw)
            print(f"{n:>8} {args.order:>20} {1000 * statistics.median(lum):>9.1f}ms {1000 * pct(lum, 0.95):>9.1f}ms "
                  f"{1000 * statistics.median(raw):>6.1f}ms {1000 * pct(raw, 0.95):>6.1f}ms {ratio:>8.1f}x"
                  f"   (filled in {fill_s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
