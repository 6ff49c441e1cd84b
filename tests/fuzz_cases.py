"""Seeded mutations of real and generated exports, and one import of each as a user would.

Case ``i`` of seed ``s`` is always the same bytes (``make_case(s, i)``), so a failure is
reproduced by its number. The seeds are generated exports (always here) and the real files
of ``../shared/fixtures/real`` when that folder exists (never copied into this repository).
Mutations: byte flips, truncations, blocks overwritten, zip parts swapped, dropped or
garbled, hostile cell values (huge numbers, formulas, long text, odd dates), encodings
changed, and wide sheets.

Used by ``tests/test_ingest_fuzz.py`` (a few hundred cases) and
``benchmarks/fuzz_import.py`` (thousands, in worker processes).
"""
from __future__ import annotations

import io
import random
import re
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import hostile_files as hf

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"

# What each real file needs to import at all (as tests/test_real_files.py imports them), so
# that mutations reach the cleaning and loading, not only the first refusal.
REAL_OPTIONS: dict[str, dict] = {
    "bdap_朝阳医院2018年销售数据.xlsx": {"account_from": "product-prefix", "mapping": {"amount": "应收金额"}},
    "luojiateng_超市营业额2.xlsx": {"sheets": ["Sheet1"], "mapping": {"supplier": "柜台", "amount": "交易额"}},
    "luojiateng_营业额数据.xlsx": {"sheets": ["Sheet1"], "mapping": {"supplier": "柜台", "amount": "交易额"}},
    "sspu_示例 - 超市.xls": {"sheets": ["订单"], "account_from": "product-prefix"},
    "aussachaa_Sample - Superstore.csv": {"account_from": "product-prefix"},
    "wmj_1月.csv": {"account_from": "product-prefix",
                   "mapping": {"date": "订单付款时间", "amount": "买家实际支付金额", "product": "宝贝标题"}},
    "wmj_1月.xlsx": {"sheets": ["莫寒"], "account_from": "product-prefix",
                    "mapping": {"date": "订单付款时间", "amount": "买家实际支付金额", "product": "宝贝标题"}},
    "wmj_JD.csv": {},
    "hiflylabs_olist_sellers_dataset.csv": {},
    "dsfta_catering_dish_profit.xls": {},
}

HOSTILE_VALUES = [
    "1e308", "-1e308", "100000000000000", "99999999999999.99999", "1e15", "-1e15", "1e400", "NaN", "inf",
    "12 34", "1,2,3", "(1,234.00)", "1234.50-", "１２３", "¥1e14", "0x1F", "", " ", "-", "#N/A", "#DIV/0!",
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "@SUM(1+1)", "+1", "\t=1", "'", "\"", "\"\"",
    "合计", "小计", "Total", "日期", "供应商", "2018-02-29", "0000-00-00", "9999-12-31", "2958466", "60",
    "20250230", "2025年13月1日", "03/04/2025", "\u202e\u202d", "𠀀𠀁", "\ufeff", "\x1b[31m", "a\r\nb",
    "x" * 33_000, "长" * 140_000,
]


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    options: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.data.startswith(b"PK"):
            return "zip"
        if self.data.startswith(b"\xd0\xcf\x11\xe0"):
            return "ole"
        return "text"


def seeds(max_bytes: int | None = None) -> list[Seed]:
    """The generated seeds, then the real files (those no bigger than ``max_bytes``)."""
    out = [
        Seed("sales.csv", hf.sales_csv(60)),
        Seed("sales.xlsx", hf.sales_xlsx(60)),
        Seed("gbk.csv", ("日期,供应商,品牌,销售额（元）,成本\n" + "".join(
            f"2025-01-{d:02d},供应商{d % 4},品牌{d % 3},{d * 10.5},{d * 8}\n" for d in range(1, 29))).encode("gbk")),
        Seed("titled.xlsx", hf.simple_xlsx([["2025年1月销售明细"], ["日期", "供应商", "数量", "销售额(万元)", "毛利"]]
                                           + [[f"2025-01-{d:02d}", f"供应商{d % 5}", d, d / 10, d / 50] for d in range(1, 31)]
                                           + [["合计", None, 465, 46.5, 9.3]])),
        Seed("semicolon.csv", hf.semicolon_csv(), {"mapping": {"supplier": "seller_city"}}),
    ]
    if REAL.is_dir():
        for path in sorted(REAL.iterdir()):
            if path.name in REAL_OPTIONS and (max_bytes is None or path.stat().st_size <= max_bytes):
                out.append(Seed(path.name, path.read_bytes(), REAL_OPTIONS[path.name]))
    return out


# --- mutations ------------------------------------------------------------------------------

def flip_bytes(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 16)):
        b[rnd.randrange(len(b))] = rnd.randrange(256)
    return bytes(b)


def truncate(rnd: random.Random, data: bytes) -> bytes:
    return data[:rnd.randrange(1, len(data))]


def overwrite_block(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    at, n = rnd.randrange(len(b)), rnd.randint(1, 512)
    b[at:at + n] = bytes([rnd.choice([0, 0xFF, rnd.randrange(256)])]) * n
    return bytes(b)


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(parts: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": a part twice, on purpose
        for name, body in (parts.items() if isinstance(parts, dict) else parts):
            # a fixed time stamp: writestr(name) stamps the clock's, so one case made twice
            # two seconds apart would differ
            z.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def swap_parts(rnd: random.Random, data: bytes) -> bytes:
    """Two parts of the package trade contents (the workbook and a sheet, say), or one goes
    missing, or appears twice."""
    parts = _parts(data)
    names = list(parts)
    how = rnd.choice(["swap", "swap", "drop", "duplicate", "empty"])
    a, b = rnd.sample(names, 2)
    if how == "swap":
        parts[a], parts[b] = parts[b], parts[a]
    elif how == "drop":
        del parts[a]
    elif how == "empty":
        parts[a] = b""
    else:
        return _zip(list(parts.items()) + [(a, parts[b])])
    return _zip(parts)


def garble_part_xml(rnd: random.Random, data: bytes) -> bytes:
    """A part cut, or with bytes flipped, then packed again with a good checksum: the XML
    parser meets it, not the zip layer."""
    parts = _parts(data)
    name = rnd.choice([n for n in parts if n.endswith((".xml", ".rels"))] or list(parts))
    body = parts[name]
    if body:
        parts[name] = truncate(rnd, body) if rnd.random() < 0.5 else flip_bytes(rnd, body)
    return _zip(parts)


_CELL_VALUE = re.compile(rb"<v>[^<]*</v>|<t(?: [^>]*)?>[^<]*</t>")


def hostile_xlsx_cells(rnd: random.Random, data: bytes) -> bytes:
    """Cells of a sheet given hostile values (numbers too big, text too long, formulas), or
    references far away (ZZZZZ1, A1048576), or a shared-string index that does not exist."""
    parts = _parts(data)
    sheets = [n for n in parts if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    if not sheets:
        return flip_bytes(rnd, data)
    name = rnd.choice(sheets)
    xml = parts[name]
    matches = list(_CELL_VALUE.finditer(xml))
    if not matches:
        return flip_bytes(rnd, data)
    out, last = [], 0
    for m in sorted(rnd.sample(matches, min(len(matches), rnd.randint(1, 8))), key=lambda m: m.start()):
        value = rnd.choice(HOSTILE_VALUES + ["99999999999999999999", "-1", "1e308", "4294967295"])
        text = value.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "surrogatepass")
        out += [xml[last:m.start()], (b"<v>" + text + b"</v>") if m.group().startswith(b"<v>") else (b"<t>" + text + b"</t>")]
        last = m.end()
    xml = b"".join(out) + xml[last:]
    if rnd.random() < 0.3:
        far = rnd.choice([b"ZZZZZ1", b"XFD1", b"A1048576", b"SG2", b"SF100000", b"AAAA9"])
        xml = xml.replace(b"</sheetData>", b'<row r="' + re.sub(rb"[A-Z]", b"", far) + b'"><c r="' + far
                          + b'" t="inlineStr"><is><t>x</t></is></c></row></sheetData>', 1)
    parts[name] = xml
    return _zip(parts)


def _lines(data: bytes) -> tuple[list[str], str]:
    for encoding in ("utf-8-sig", "gb18030", "cp1252"):
        try:
            return data.decode(encoding).splitlines(), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1").splitlines(), "latin-1"


def hostile_csv_cells(rnd: random.Random, data: bytes) -> bytes:
    """Cells of a text export replaced by hostile values, in its own encoding."""
    lines, encoding = _lines(data)
    if len(lines) < 2:
        return flip_bytes(rnd, data)
    delimiter = max(",;\t|", key=lines[0].count)
    for _ in range(rnd.randint(1, 10)):
        i = rnd.randrange(1, len(lines))
        cells = lines[i].split(delimiter)
        value = rnd.choice(HOSTILE_VALUES)
        if any(ch in value for ch in f'{delimiter}"\r\n'):
            value = '"' + value.replace('"', '""') + '"'
        cells[rnd.randrange(len(cells))] = value
        lines[i] = delimiter.join(cells)
    try:
        return ("\n".join(lines) + "\n").encode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeEncodeError:
        return ("\n".join(lines) + "\n").encode("utf-8")


def reencode(rnd: random.Random, data: bytes) -> bytes:
    """The same text under another encoding or mark: UTF-16 with or without its BOM, a
    UTF-16 BOM over UTF-8 bytes, UTF-8 with a BOM, GB18030, CR-only line ends, NULs."""
    lines, _ = _lines(data)
    text = "\n".join(lines) + "\n"
    how = rnd.choice(["utf16", "utf16_nobom", "bom_over_utf8", "utf8_bom", "gb18030", "cr", "nul"])
    if how == "utf16":
        return text.encode("utf-16")
    if how == "utf16_nobom":
        return text.encode("utf-16-le")
    if how == "bom_over_utf8":
        body = text.encode("utf-8")
        return rnd.choice([b"\xff\xfe", b"\xfe\xff"]) + body + (b" " if len(body) % 2 else b"")
    if how == "utf8_bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if how == "gb18030":
        return text.encode("gb18030")
    if how == "cr":
        return text.replace("\n", "\r").encode("utf-8")
    b = bytearray(text.encode("utf-8"))
    b[rnd.randrange(len(b))] = 0
    return bytes(b)


def wide_sheet(rnd: random.Random, data: bytes) -> bytes:
    """A wide export: 60 to 2,000 columns, as CSV or xlsx, few or many lines."""
    n_columns = rnd.choice([60, 200, 499, 500, 501, 900, 2000])
    n_rows = rnd.choice([1, 20, 300])
    if rnd.random() < 0.5:
        return hf.wide_csv(n_columns, n_rows)
    header = ["日期", "供应商", "销售额"] + [f"备注{i}" for i in range(4, n_columns + 1)]
    rows = [header] + [["2025-01-02", f"供应商{r % 3}", r + 1] + list(range(n_columns - 3)) for r in range(n_rows)]
    return hf.simple_xlsx(rows)


MUTATIONS: dict[str, tuple[Callable[[random.Random, bytes], bytes], tuple[str, ...]]] = {
    # name: (mutation, the seed kinds it applies to)
    "flip": (flip_bytes, ("zip", "ole", "text")),
    "truncate": (truncate, ("zip", "ole", "text")),
    "block": (overwrite_block, ("zip", "ole", "text")),
    "swap_parts": (swap_parts, ("zip",)),
    "garble_xml": (garble_part_xml, ("zip",)),
    "hostile_cells": (hostile_xlsx_cells, ("zip",)),
    "hostile_csv": (hostile_csv_cells, ("text",)),
    "reencode": (reencode, ("text",)),
    "wide": (wide_sheet, ("zip", "ole", "text")),
}


@dataclass(frozen=True)
class Case:
    number: int
    seed: str
    mutation: str
    data: bytes
    options: dict


def make_case(seed: int, number: int, pool: list[Seed]) -> Case:
    """Case ``number`` of run ``seed``: always the same bytes for the same seeds."""
    rnd = random.Random(seed * 1_000_003 + number)
    source = rnd.choice(pool)
    name = rnd.choice([m for m, (_, kinds) in MUTATIONS.items() if source.kind in kinds])
    data = MUTATIONS[name][0](rnd, source.data)
    options = dict(source.options) if name != "wide" else {}
    return Case(number, source.name, name, data, options)


# --- one import, as a user would, and what it left behind ---------------------------------

@dataclass
class Outcome:
    kind: str        # loaded | rejected | decision | crash
    code: str        # the refusal's code, or the crash's exception type
    seconds: float
    detail: str = ""


def import_case(store, case: Case, file_name: str | None = None) -> Outcome:
    """Prepare and, if the file is accepted, commit; anything but a refusal or a question is a crash."""
    from kam_core.imports.errors import DecisionNeeded, ImportRejected
    from kam_core.imports.pipeline import ImportOptions, commit_import, prepare_import

    start = time.perf_counter()
    try:
        plan = prepare_import(store, case.data, file_name or f"{case.number}-{case.seed}",
                              ImportOptions(**case.options))
        commit_import(store, plan, user="fuzz")
        return Outcome("loaded", "", time.perf_counter() - start)
    except DecisionNeeded as exc:
        return Outcome("decision", exc.code, time.perf_counter() - start)
    except ImportRejected as exc:
        return Outcome("rejected", exc.code, time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - what the fuzz run counts
        return Outcome("crash", type(exc).__name__, time.perf_counter() - start, str(exc)[:300])


def store_state(store) -> tuple:
    """What a refused file must leave as it was."""
    cur = store.cursor()
    return (cur.execute("select count(*), sum(amount) from sales").fetchone(),
            cur.execute("select count(*), max(id) from imports").fetchone(),
            store.data_version())


def partial_writes(store) -> list[str]:
    """Lines that belong to no loaded import, and loaded imports whose rows_loaded is not their line count."""
    cur = store.cursor()
    problems = []
    orphans = cur.execute("select count(*) from sales where import_id not in "
                          "(select id from imports where status = 'loaded')").fetchone()[0]
    if orphans:
        problems.append(f"{orphans} sales lines belong to no loaded import")
    for import_id, expected, actual in cur.execute(
            """select i.id, i.rows_loaded, count(s.import_id) from imports i left join sales s on s.import_id = i.id
               where i.status = 'loaded' and i.kind = 'sales' group by i.id, i.rows_loaded
               having count(s.import_id) <> i.rows_loaded""").fetchall():
        problems.append(f"import {import_id}: rows_loaded {expected} but {actual} lines")
    return problems
