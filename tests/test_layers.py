"""The architecture, checked: each table has one owner, streamlit stays in the view layer, no
package reaches up into ``ui``, and no two modules import each other in a circle.

The owners are those drawn in docs/DESIGN.md. A query is found by reading each module's string
expressions (constants, f-strings, ``+`` chains) for SQL that names a table after ``from``,
``join``, ``into``, ``update`` or ``delete from``.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kam_core"

# owner (a package or a module, relative to kam_core) -> the tables only it may name in SQL
OWNERS: dict[str, tuple[str, ...]] = {
    "sales": ("sales", "inventory", "sales_daily", "sales_monthly", "sales_by_region", "sales_by_sku"),
    "imports": ("imports", "account_aliases", "mapping_profiles"),
    "dossier": ("accounts", "contacts", "negotiations", "agreements", "price_changes", "plans", "goals",
                "action_items"),
    "auth.py": ("users", "sessions"),
    "settings.py": ("settings",),
    "audit.py": ("audit_log",),
    "schedules.py": ("schedules", "schedule_runs"),
    "saved_views.py": ("saved_views",),
    "store.py": ("data_version", "schema_migrations"),
}
VIEW_LAYER = ("ui",)                     # below app_pages/, dashboard.py and app.py, only these import streamlit


def _naming(tables) -> re.Pattern:
    return re.compile(r"\b(?:from|join|into|update|delete\s+from)\s+(?:\"?main\"?\s*\.\s*)?\"?("
                      + "|".join(tables) + r")\b(?!\s*\()", re.I)


def _looks_like_sql(text: str) -> bool:
    return bool(re.search(r"\bselect\b|\binsert\b|\bupdate\b|\bdelete\b", text, re.I))


def _text_of(node: ast.AST) -> str | None:
    """The text an expression builds from string pieces: a constant, an f-string (its values as
    ``{}``) or a chain of ``+``; None when it is not such an expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_of(node.left), _text_of(node.right)
        if left is not None or right is not None:
            return (left or "{}") + (right or "{}")
    return None


@functools.cache   # one parse per file for the whole run: each owner's check reads every file
def _sql_strings(path: Path) -> tuple[tuple[int, str], ...]:
    """The texts a module builds from strings, store.py's frozen migrations left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    if path.name == "store.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MIGRATIONS":
                skip |= {id(n) for n in ast.walk(node)}
    return tuple((n.lineno, text) for n in ast.walk(tree)
                 if id(n) not in skip and (text := _text_of(n)) is not None)


def _product_files() -> list[Path]:
    return [*PACKAGE.rglob("*.py"), *(ROOT / "app_pages").glob("*.py"), ROOT / "dashboard.py", ROOT / "app.py"]


def _owned_by(path: Path, owner: str) -> bool:
    if not path.is_relative_to(PACKAGE):
        return False
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] == owner


def _stray_queries(files, owner: str, tables) -> list[str]:
    naming = _naming(tables)
    return sorted({f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p.name}:{line}: {naming.search(text).group(0)}"
                   for p in files if not _owned_by(p, owner)
                   for line, text in _sql_strings(p) if naming.search(text) and _looks_like_sql(text)})


@pytest.mark.parametrize("owner", sorted(OWNERS))
def test_only_the_owner_of_a_table_names_it_in_sql(owner):
    found = _stray_queries(_product_files(), owner, OWNERS[owner])
    assert found == [], f"SQL on {owner}'s tables outside kam_core/{owner}:\n" + "\n".join(found)


@pytest.mark.parametrize("code", [
    'cur.execute("select count(*) from sales_daily")',
    'cur.execute(f"select {col} from sales where x = 1")',
    'cur.execute("select amount " + "from sales")',
    'cur.execute(\'select amount from "sales"\')',
    'cur.execute("delete from main.inventory where 1")',
    'cur.execute(\'select 1 from "main"."sales_daily"\')',
    'cur.execute("update accounts set owner = ? where name = ?")',
    'cur.execute("insert into audit_log values (?)")',
])
def test_the_table_check_would_catch_a_query_outside_its_owner(tmp_path, code):
    stray = tmp_path / "stray.py"
    stray.write_text(f"def n(cur, col):\n    return {code}\n")
    assert any(_stray_queries([stray], owner, tables) for owner, tables in OWNERS.items())


def test_the_table_check_leaves_words_that_are_not_queries_alone(tmp_path):
    prose = tmp_path / "prose.py"
    prose.write_text('A = "choose one from plans"\nB = "select from settings(…)"\nC = "sum(x) from sales_total"\n')
    assert not any(_stray_queries([prose], owner, tables) for owner, tables in OWNERS.items())


# -- imports ------------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (a late import inside a function counts too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _kam_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_streamlit_is_imported_only_by_the_view_layer_and_the_pages():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in VIEW_LAYER:
            continue
        found += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in _imports(path)
                  if name == "streamlit" or name.startswith("streamlit.")]
    assert found == []


def test_no_package_imports_the_view_layer():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in VIEW_LAYER:
            continue
        found += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in _imports(path)
                  if name == "kam_core.ui" or name.startswith("kam_core.ui.")]
    assert found == []


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for _, target in _imports(path) if target in modules and target != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_modules_import_each_other_in_a_circle():
    assert _cycles(_graph(_kam_modules())) == []


def test_the_cycle_check_finds_a_circle_of_three():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
