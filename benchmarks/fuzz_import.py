"""Thousands of mutated exports through the whole import, in worker processes, and the counts.

    python3 benchmarks/fuzz_import.py [--cases 5000] [--seed 14] [--workers 2] [--hang 60] [--max-bytes N]

``--max-bytes 400000`` leaves out the seeds over 400 KB, as ``tests/test_ingest_fuzz.py`` does: with
``--cases 300`` it runs the 300 cases the suite ran before it kept its first 160 (case ``i`` is the
same bytes in both).

The cases are ``tests/fuzz_cases.py``'s (case ``i`` of a seed is always the same bytes, so
any case below is reproduced by its number); the real files of ``../shared/fixtures/real``
join the seeds when that folder exists. Each worker imports its share of the cases into
its own store, as a user would (prepare, then commit what is accepted), and checks after
every case that a refused file changed nothing and that every sales line belongs to a
loaded import whose ``rows_loaded`` is its line count. The parent counts:

  - crashes: an exception other than ``ImportRejected`` / ``DecisionNeeded``, or a worker
    that died (its case is named);
  - hangs: a case still running after ``--hang`` seconds (its worker is killed and a new
    one goes on with the next case);
  - partial writes: the checks above failing;

and prints the slowest case under 1 MB (the rule: a file under 1 MB costs at most 2 s and
300 MB to import or refuse; each parsing worker is held to 200 MB + 50 × the file's size).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20


def worker(seed: int, numbers: list[int], db: str, max_bytes: int | None = None) -> None:
    """Import ``numbers`` (one JSON line per case start and end on stdout)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import fuzz_cases as fc
    from kam_core.store import open_store

    store = open_store(db)
    pool = fc.seeds(max_bytes=max_bytes)
    for number in numbers:
        case = fc.make_case(seed, number, pool)
        print(json.dumps({"start": number}), flush=True)
        before = fc.store_state(store)
        outcome = fc.import_case(store, case)
        problems = fc.partial_writes(store)
        if outcome.kind != "loaded" and fc.store_state(store) != before:
            problems.append("refused, but the store changed")
        print(json.dumps({"done": number, "seed": case.seed, "mutation": case.mutation, "size": len(case.data),
                          "kind": outcome.kind, "code": outcome.code, "seconds": round(outcome.seconds, 3),
                          "detail": outcome.detail, "partial": problems}, ensure_ascii=False), flush=True)
    hwm = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")), 0) // 1024
    print(json.dumps({"finished": True, "peak_mb": hwm}), flush=True)
    store.close()


class Worker:
    def __init__(self, seed: int, numbers: list[int], db: str, max_bytes: int | None = None):
        self.numbers = numbers
        self.current: int | None = None
        self.started_at = 0.0
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(seed), "--db", db,
             "--numbers", ",".join(map(str, numbers))]
            + (["--max-bytes", str(max_bytes)] if max_bytes is not None else []),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
            env={**os.environ, "KAM_AUTO_DEMO": "0"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hang", type=float, default=60.0, help="seconds after which a case counts as a hang")
    ap.add_argument("--max-bytes", type=int, default=None,
                    help="leave out seed files larger than this (the suite uses 400000)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--numbers", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.seed, [int(n) for n in args.numbers.split(",") if n], args.db, args.max_bytes)
        return

    start = time.perf_counter()
    results: dict[int, dict] = {}
    hangs: list[str] = []
    died: list[str] = []
    peaks: list[int] = []
    reported = 0
    sel = selectors.DefaultSelector()
    with tempfile.TemporaryDirectory() as tmp:
        def spawn(numbers: list[int]) -> None:
            if numbers:
                w = Worker(args.seed, numbers, str(Path(tmp) / f"fuzz-{numbers[0]}.duckdb"), args.max_bytes)
                sel.register(w.proc.stdout, selectors.EVENT_READ, w)

        for k in range(args.workers):
            spawn(list(range(k, args.cases, args.workers)))
        while sel.get_map():
            for key, _ in sel.select(timeout=1.0):
                w: Worker = key.data
                line = w.proc.stdout.readline()
                if not line:                                   # the worker ended
                    sel.unregister(w.proc.stdout)
                    w.proc.wait()
                    if w.current is not None:                  # in the middle of a case: a crash
                        died.append(f"case {w.current}: the worker process died (exit {w.proc.returncode})")
                        rest = w.numbers[w.numbers.index(w.current) + 1:]
                        spawn(rest)
                    continue
                msg = json.loads(line)
                if "start" in msg:
                    w.current, w.started_at = msg["start"], time.perf_counter()
                elif "done" in msg:
                    results[msg["done"]] = msg
                    w.current = None
                elif "finished" in msg:
                    peaks.append(msg["peak_mb"])
            for key in list(sel.get_map().values()):
                w = key.data
                if w.current is not None and time.perf_counter() - w.started_at > args.hang:
                    hangs.append(f"case {w.current}: still running after {args.hang:.0f} s")
                    sel.unregister(w.proc.stdout)
                    w.proc.kill()
                    w.proc.wait()
                    spawn(w.numbers[w.numbers.index(w.current) + 1:])
            done = len(results) + len(hangs) + len(died)
            if done // 500 > reported:
                reported = done // 500
                print(f"… {done:,} cases, {time.perf_counter() - start:,.0f} s", file=sys.stderr, flush=True)

    kinds = collections.Counter(r["kind"] for r in results.values())
    crashes = [f"case {n} ({r['seed']}, {r['mutation']}): {r['code']}: {r['detail'][:160]}"
               for n, r in sorted(results.items()) if r["kind"] == "crash"] + died
    partial = [f"case {n} ({r['seed']}, {r['mutation']}): {p}" for n, r in sorted(results.items()) for p in r["partial"]]
    codes = collections.Counter(f"{r['kind']}:{r['code']}" for r in results.values() if r["kind"] in ("rejected", "decision"))
    mutations = collections.Counter(r["mutation"] for r in results.values())
    small = [r for r in results.values() if r["size"] < MB]
    slowest = max(small, key=lambda r: r["seconds"]) if small else None
    over = sum(1 for r in small if r["seconds"] > 2.0)

    print(f"fuzzed imports: {args.cases:,} cases (seed {args.seed}), {args.workers} workers, "
          f"{time.perf_counter() - start:,.0f} s")
    print(f"  loaded {kinds['loaded']:,} · refused {kinds['rejected']:,} · asked {kinds['decision']:,}")
    print(f"  crashes {len(crashes)} · hangs {len(hangs)} · partial writes {len(partial)}")
    for line in crashes[:20] + hangs[:20] + partial[:20]:
        print(f"    {line}")
    print("  mutations: " + ", ".join(f"{m} {n}" for m, n in mutations.most_common()))
    print("  ways out: " + ", ".join(f"{c} {n}" for c, n in codes.most_common(14)))
    if slowest:
        print(f"  files under 1 MB: slowest case {slowest['done']} ({slowest['seed']}, {slowest['mutation']}, "
              f"{slowest['size'] / 1024:,.0f} KB) {slowest['seconds']:.2f} s; {over} of {len(small):,} over 2 s")
    if peaks:
        print(f"  peak memory of a fuzzing process (its store and every case it ran): {max(peaks)} MB")
    sys.exit(1 if crashes or hangs or partial else 0)


if __name__ == "__main__":
    main()
