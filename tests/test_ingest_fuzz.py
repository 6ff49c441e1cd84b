"""Seeded mutations of real and generated exports: every one is loaded, refused by name, or
asked about, and none leaves a half-written import behind.

The cases come from ``tests/fuzz_cases.py`` (case ``i`` is always the same bytes); the
real files of ``../shared/fixtures/real`` join the seeds when that folder exists. A longer
run, in worker processes: ``python3 benchmarks/fuzz_import.py``.

The suite runs the first 160 cases of seed 14 (about 15 s; with or without the real files
they reach every outcome above the counts asserted below). The 300 it ran before, exactly:
``KAM_FUZZ_CASES=300 python3 -m pytest tests/test_ingest_fuzz.py``, or in worker processes
``python3 benchmarks/fuzz_import.py --cases 300 --max-bytes 400000``.
"""
from __future__ import annotations

import collections
import os

import pytest

import fuzz_cases as fc
from kam_core.store import open_store

RUN_SEED = 14
CASES = int(os.environ.get("KAM_FUZZ_CASES", "160"))
HANG_SECONDS = 60      # a hang guard, not a speed test: the slowest case takes a few seconds


@pytest.mark.slow
def test_hundreds_of_mutated_exports_end_in_a_load_a_refusal_or_a_question_and_never_half_write(tmp_path):
    store = open_store(tmp_path / "fuzz.duckdb")
    pool = fc.seeds(max_bytes=400_000)          # the 2-3 MB real files are left to the benchmark
    outcomes: collections.Counter[str] = collections.Counter()
    crashes, hangs, partial = [], [], []
    for number in range(CASES):
        case = fc.make_case(RUN_SEED, number, pool)
        before = fc.store_state(store)
        outcome = fc.import_case(store, case)
        outcomes[outcome.kind] += 1
        label = f"case {number} ({case.seed}, {case.mutation})"
        if outcome.kind == "crash":
            crashes.append(f"{label}: {outcome.code}: {outcome.detail}")
        if outcome.seconds > HANG_SECONDS:
            hangs.append(f"{label}: {outcome.seconds:.0f} s")
        if outcome.kind != "loaded" and fc.store_state(store) != before:
            partial.append(f"{label}: refused, but the store changed")
        partial += [f"{label}: {p}" for p in fc.partial_writes(store)]
    store.close()
    assert crashes == []
    assert hangs == []
    assert partial == []
    # the mutations reach every way out, not only the first refusal
    assert outcomes["loaded"] >= 30 and outcomes["rejected"] >= 30 and outcomes["decision"] >= 10, outcomes


def test_a_case_number_always_gives_the_same_bytes():
    pool = fc.seeds(max_bytes=400_000)
    first = [fc.make_case(RUN_SEED, n, pool) for n in range(20)]
    again = [fc.make_case(RUN_SEED, n, pool) for n in range(20)]
    assert [(c.seed, c.mutation, c.data) for c in first] == [(c.seed, c.mutation, c.data) for c in again]
    assert len({c.mutation for c in first}) >= 5
