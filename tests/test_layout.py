"""The shape of the tree docs/DESIGN.md describes: what may import what, module sizes, links."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "barberpro"
#: A module past this many lines wants splitting (migrations are history and exempt).
MAX_LINES = 450

#: The barberpro packages (or modules) each part may import, besides itself. docs/DESIGN.md
#: draws the same graph; a new edge is a decision to write down there first.
MAY_IMPORT: dict[str, set[str]] = {
    "argentina": set(),
    "kv": set(),
    "api": set(),
    "background": set(),
    "logs": set(),
    "config": {"alerts.rules"},  # the settings check loads the configured rules
    "db": {"analytics.funnel_definition", "argentina", "background"},
    "analytics": {"api", "argentina", "db"},
    "alerts": {"api", "argentina.timezone", "config", "db", "kv", "background"},
    "payments": {"analytics", "api", "argentina", "config", "db", "background"},
    "monitoring": {
        "alerts.signals",  # the SignalSource it implements
        "analytics.rows",  # the prepared events it counts by province and method
        "alerts.answers",  # the alerts section of its dashboard
        "payments.answers",  # the payments section of its dashboard
        "optimization.answers",  # the optimization section of its dashboard
        "api",
        "argentina",
        "config",
        "kv",
        "background",
        "db.tables",  # the operations ledger's table
    },
    "report": {
        "optimization.audit",  # the day's optimization actions
        "optimization.answers",  # the model of those actions, in its answer's
        "alerts.rules",
        "alerts.store",
        "analytics",
        "api",
        "argentina",
        "config",
        "db",
        "monitoring",
    },
    "web": set(),  # static files and their headers
    "optimization": {
        "api",
        "argentina.timezone",
        "background",
        "config",
        "db",
        "kv",
        "monitoring.histogram",  # the series it reads
        "monitoring.windows",
    },
    "realtime": {"api", "monitoring.websockets", "background"},
    "cli": {
        "argentina",  # today in ART, for `barberpro report`
        "config",
        "db",
        "kv",
        "logs",
        "payments",
        "alerts",
        "app",
        "report",
        "simulator",
    },
    "simulator": set(),  # a client of the service: its HTTP API only
    "app": {"*"},
    "": set(),  # the package itself: its version
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = [p for p in relative.parts if p != "__init__"]
        found[".".join(parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every barberpro module ``path`` imports, at any depth (TYPE_CHECKING blocks included)."""
    modules = _modules()
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("barberpro"):
                continue
            base = node.module.removeprefix("barberpro").removeprefix(".")
            submodules = {f"{base}.{a.name}".lstrip(".") for a in node.names} & modules.keys()
            # ``from barberpro.alerts import answers`` imports the module alerts.answers; the
            # package's own __init__ only counts when a name is taken from it.
            names |= submodules
            if len(submodules) < len(node.names):
                names.add(base)
        elif isinstance(node, ast.Import):
            names.update(
                a.name.removeprefix("barberpro").removeprefix(".")
                for a in node.names
                if a.name.startswith("barberpro")
            )
    return {n for n in names if n in modules}


def _part(module: str) -> str:
    return module.split(".", 1)[0]


def test_no_module_imports_a_part_it_may_not() -> None:
    """Each import crosses only an edge of the dependency graph (MAY_IMPORT)."""
    wrong = []
    for module, path in sorted(_modules().items()):
        part = _part(module)
        allowed = MAY_IMPORT.get(part)
        assert allowed is not None, f"{module}: part {part!r} is missing from MAY_IMPORT"
        if "*" in allowed:
            continue
        for target in sorted(_imports(path)):
            if _part(target) == part or target == "":
                continue
            if not any(target == a or target.startswith(f"{a}.") for a in allowed):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_cycles() -> None:
    """No two modules import each other, even through others or only for type checking."""
    graph = {m: _imports(p) - {m} for m, p in _modules().items()}
    cycles = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # A package importing its own submodules (barberpro.kv -> barberpro.kv.redis) is no cycle
    # unless the submodule imports the package back; those cases are in the list as well.
    assert cycles == []


@pytest.mark.parametrize("path", sorted(_modules().values()), ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    """No module outside the migrations is over MAX_LINES lines."""
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _texts() -> list[Path]:
    skip = {".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache"}
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and not skip & set(p.relative_to(ROOT).parts)
        and "egg-info" not in str(p)
        and p.suffix in {".py", ".md", ".toml", ".cfg", ".ini", ".txt", ""}
        and p.stat().st_size < 2_000_000
    ]


def test_nothing_points_outside_the_repository() -> None:
    """No file refers to documents kept outside the repository."""
    outside = re.compile(r"\.\./shared|CONTRACTS\.md|(?<![/\w])DESIGN\.md")
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _texts()
        if p.name != "test_layout.py"
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


def test_every_document_cited_exists() -> None:
    """Each document under docs/ named anywhere is a file of the repository."""
    cited = {
        m.group(0)
        for p in _texts()
        for m in re.finditer(r"docs/[A-Z_]+\.md", p.read_text(errors="replace"))
    }
    missing = sorted(c for c in cited if not (ROOT / c).is_file())
    assert missing == []
