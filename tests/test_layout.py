"""The layout's rules, checked on the source: SQL only in lumina/store/, no Streamlit below
lumina/, no store in pages, small modules, and a top of lumina/ that holds package roots only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LUMINA = ROOT / "lumina"
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
MAX_LINES = 400
# config, errors, records: the shared vocabulary every package imports; the rest are packages.
TOP_LEVEL = {"__init__.py", "config.py", "errors.py", "records.py"}

SQL = re.compile(r"\b(SELECT\s[\s\S]+?\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|"
                 r"CREATE\s+(TABLE|INDEX|VIEW|SEQUENCE)\s|ALTER\s+TABLE\s|DROP\s+TABLE\s)")


def _py(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _sql_sites(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            sites.append(f"{_rel(path)}:{node.lineno}: SQL text")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("execute", "executemany", "sql", "fetchall", "fetchone", "register")
              and isinstance(node.func.value, ast.Name) and node.func.value.id in ("con", "conn", "cur", "db")):
            sites.append(f"{_rel(path)}:{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return sites


def test_sql_lives_in_the_store_only():
    store = LUMINA / "store"
    sites = [s for p in _py(LUMINA) + PAGES if store not in p.parents for s in _sql_sites(p)]
    assert not sites, "SQL outside lumina/store/ (move it into a store module):\n" + "\n".join(sites)


def test_the_check_finds_sql():
    # the guard itself must not be blind: the store is full of SQL
    assert _sql_sites(LUMINA / "store" / "samples.py")


def test_no_streamlit_below_lumina():
    bad = [f"{_rel(p)}:{n}: {m}" for p in _py(LUMINA) for n, m in _imports(ast.parse(p.read_text(encoding="utf-8")))
           if m == "streamlit" or m.startswith("streamlit.")]
    assert not bad, "lumina/ is a library the CLI and workers import; Streamlit belongs in pages/:\n" + "\n".join(bad)


def test_pages_never_touch_the_store():
    bad = []
    for p in PAGES:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        bad += [f"{_rel(p)}:{n}: imports {m}" for n, m in _imports(tree)
                if m == "lumina.store" or m.startswith("lumina.store.") or m == "duckdb"]
        bad += [f"{_rel(p)}:{node.lineno}: calls connect()" for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "connect"]
    assert not bad, "Pages read through the library (lumina/web/queries.py), never the store:\n" + "\n".join(bad)


def test_modules_stay_small():
    big = [f"{_rel(p)}: {n} lines" for p in _py(LUMINA) + PAGES
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not big, f"Modules over {MAX_LINES} lines (split them by concern):\n" + "\n".join(big)


def test_top_of_lumina_holds_package_roots():
    loose = sorted(p.name for p in LUMINA.glob("*.py")) 
    assert set(loose) <= TOP_LEVEL, f"Modules at the top of lumina/ belong in a domain package: {sorted(set(loose) - TOP_LEVEL)}"
    for pkg in (p for p in LUMINA.iterdir() if p.is_dir() and any(p.glob("*.py"))):
        assert (pkg / "__init__.py").exists(), f"{_rel(pkg)} is a folder of modules without __init__.py"


@pytest.mark.parametrize("pkg", sorted(p.name for p in LUMINA.iterdir() if (p / "__init__.py").exists()))
def test_every_package_says_what_it_is(pkg):
    doc = ast.get_docstring(ast.parse((LUMINA / pkg / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc) > 20, f"lumina/{pkg}/__init__.py needs a docstring saying what lives there"
