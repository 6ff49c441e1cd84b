"""Find the header row(s) of a sheet given as text cells, and normalise header names.

Exports put title rows (``2025年销售明细表``), filter lines (``日期：2024-01-01 至
2024-01-31``) and sometimes two header levels (``本期|本期|同期|同期`` over
``数量|金额|数量|金额``) above the data (bad_inputs §1.1, §1.2). The guess is
shown to the user, who can override it with :func:`build_header`.

Scoring of each of the first 30 rows::

    score = coverage × textiness + 0.6 × synonym_hits + 0.5 × type_contrast

``coverage`` = non-empty cells / widest row; ``textiness`` = share of short
(≤ 30 chars) cells that are neither numbers nor dates; ``synonym_hits`` = known
field names (``mapping.field_of``), capped at 4, / 4; ``type_contrast`` = share
of number/date cells in the next five non-empty rows minus the row's own share
(data follows a header; data follows data). A row with 1–2 cells in a sheet at
least 3 wide scores ×0.3 (a title); a filter line (``:``/``：`` with ``至``)
scores 0. Ties go to the earlier row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kam_core.imports.clean import parse_date, parse_number
from kam_core.imports.errors import ImportRejected
from kam_core.imports.mapping import field_of, normalise_header

__all__ = ["HeaderGuess", "build_header", "find_header", "normalise_header", "unique_names"]

SCAN_ROWS = 30
_SHORT = 30
# Header names and title text are cut to this many characters (a name in an Excel table
# holds at most 255): a cell of a million characters in the first rows (a file read in
# the wrong encoding) would otherwise be normalised and matched against every synonym.
MAX_HEADER_CHARS = 255
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class HeaderGuess:
    """Where the header is and what the columns are called.

    ``row_index``: 0-based index (into the rows given) of the *last* header row.
    ``n_rows``: how many header rows were joined (1 or more).
    ``columns``: one unique, normalised name per column (as wide as the widest row).
    ``title``: the text of the title/filter rows above the header, or None.
    """

    row_index: int
    n_rows: int
    columns: list[str]
    title: str | None


def unique_names(names: list[str]) -> list[str]:
    """Blank → ``column_{i+1}``; a repeated name gets ``_2``, ``_3`` … (never overwriting)."""
    out: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(names):
        base = name or f"column_{i + 1}"
        cand, k = base, 1
        while cand.casefold() in taken:
            k += 1
            cand = f"{base}_{k}"
        taken.add(cand.casefold())
        out.append(cand)
    return out


def _text(c: str | None) -> str:
    return normalise_header(c[:2 * MAX_HEADER_CHARS])[:MAX_HEADER_CHARS] if c is not None else ""


def _kind(c: str) -> str:
    """'' for blank, 'v' for a number or date, 't' for text."""
    if not c:
        return ""
    try:
        if parse_number(c) is not None:
            return "v"
    except ValueError:
        pass
    return "v" if parse_date(c) is not None else "t"


def _is_filter_line(cells: list[str]) -> bool:
    joined = " ".join(cells)
    return ("：" in joined or ":" in joined) and "至" in joined


@dataclass
class _Row:
    cells: list[str]
    kinds: list[str]

    @property
    def ne(self) -> int:
        return sum(1 for c in self.cells if c)

    @property
    def value_share(self) -> float:
        return sum(1 for k in self.kinds if k == "v") / self.ne if self.ne else 0.0


def _prepare(rows: list[list[str | None]], width: int) -> list[_Row]:
    out = []
    for r in rows:
        cells = [_text(c) for c in r] + [""] * (width - len(r))
        out.append(_Row(cells, [_kind(c) for c in cells]))
    return out


def _score(i: int, rows: list[_Row], width: int) -> float:
    row = rows[i]
    ne = row.ne
    if ne == 0:
        return -1.0
    cells = [c for c in row.cells if c]
    if _is_filter_line(cells):
        return 0.0
    text_short = sum(1 for c, k in zip(row.cells, row.kinds) if k == "t" and len(c) <= _SHORT)
    coverage = ne / width
    textiness = text_short / ne
    syn = min(sum(1 for c in cells if field_of(c)), 4) / 4
    below = [r for r in rows[i + 1:] if r.ne][:5]
    below_share = sum(r.value_share for r in below) / len(below) if below else 0.0
    contrast = max(below_share - row.value_share, 0.0)
    score = coverage * textiness + 0.6 * syn + 0.5 * contrast
    if ne <= 2 and width >= 3:
        score *= 0.3
    return score


def _groupish(upper: _Row, lower: _Row) -> bool:
    """Does ``upper`` look like a group level above ``lower``?"""
    if upper.ne < 2 or any(k == "v" for k in upper.kinds) or _is_filter_line([c for c in upper.cells if c]):
        return False
    if any(":" in c or "：" in c for c in upper.cells):
        return False
    lower_names = [c for c in lower.cells if c]
    if len(set(lower_names)) < len(lower_names):
        return True
    filled = [j for j, c in enumerate(upper.cells) if c]
    upper_names = [upper.cells[j] for j in filled]
    if len(set(upper_names)) < len(upper_names):
        return True
    # a blank inside the upper row's span, under which the lower row has a name: a merged group cell
    return any(not upper.cells[j] and lower.cells[j] for j in range(filled[0], len(upper.cells)) if j > filled[0])


def _join(band: list[_Row], width: int) -> list[str]:
    last = band[-1]
    levels: list[list[str]] = []
    for row in band[:-1]:
        filled = list(row.cells)
        for j in range(1, width):
            # carry a group label right across blanks, but not out of a column that
            # has no sub-header (that one is a vertically merged stand-alone name)
            if not filled[j] and filled[j - 1] and last.cells[j - 1] and last.cells[j]:
                filled[j] = filled[j - 1]
        levels.append(filled)
    levels.append(list(last.cells))
    names = []
    for j in range(width):
        parts: list[str] = []
        for lv in levels:
            if lv[j] and (not parts or parts[-1] != lv[j]):
                parts.append(lv[j])
        names.append("_".join(parts))
    return names


def build_header(rows: list[list[str | None]], row_index: int, n_rows: int = 1) -> HeaderGuess:
    """The header made of rows ``row_index - n_rows + 1 … row_index`` (a user's override)."""
    if not 0 <= row_index < len(rows) or not 1 <= n_rows <= row_index + 1:
        raise ValueError(f"no header rows {row_index - n_rows + 1}..{row_index} in {len(rows)} rows")
    width = max((len(r) for r in rows), default=0)
    prepared = _prepare(rows[: row_index + 1], width)
    band = prepared[row_index - n_rows + 1: row_index + 1]
    # the title keeps the file's own text (it often holds the period and the store)
    title_lines = [
        " ".join(_WS.sub(" ", str(c)[:MAX_HEADER_CHARS]).strip() for c in raw if c is not None and str(c).strip())
        for raw, r in zip(rows, prepared[: row_index - n_rows + 1]) if r.ne
    ]
    return HeaderGuess(
        row_index=row_index,
        n_rows=n_rows,
        columns=unique_names(_join(band, width)),
        title="\n".join(title_lines) or None,
    )


def find_header(rows: list[list[str | None]]) -> HeaderGuess:
    """Guess the header among the first 30 rows (see the module docstring for the scoring).

    Raises ``ImportRejected("no_header")`` when those rows are all empty.
    """
    head = rows[:SCAN_ROWS]
    width = max((len(r) for r in head), default=0)
    prepared = _prepare(head, width)
    scores = [_score(i, prepared, width) for i in range(len(prepared))]
    if not scores or max(scores) < 0:
        raise ImportRejected("no_header", "The first rows of this sheet are empty: no header row was found.")
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    # a sub-header row right below (group labels were the best row)?
    nxt = best + 1
    if (nxt < len(prepared) and prepared[nxt].ne and all(k != "v" for k in prepared[nxt].kinds)
            and _groupish(prepared[best], prepared[nxt])
            and any(r.value_share > 0 for r in prepared[nxt + 1: nxt + 6])):
        best = nxt
    n_rows = 1
    while n_rows < 3 and best - n_rows >= 0 and _groupish(prepared[best - n_rows], prepared[best - n_rows + 1]):
        n_rows += 1
    return build_header(rows, best, n_rows)
