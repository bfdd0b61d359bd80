"""The layout's limits, so later work keeps them: few modules at the package root,
no module over 400 lines, few long functions, no import cycle.

Imports count wherever they are (inside functions, under ``TYPE_CHECKING``), and an
import of ``digest.a.b`` counts as one of the package ``digest.a`` too (its
``__init__`` runs first)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "digest"
MAX_ROOT_MODULES = 12
MAX_MODULE_LINES = 400
LONG_FUNCTION = 60
MAX_LONG_FUNCTIONS = 3
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in known and prefix != module:
                    yield prefix


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
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_few_modules_at_the_root() -> None:
    root = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(root) <= MAX_ROOT_MODULES, root


def test_no_module_over_400_lines() -> None:
    sizes = {str(p): len(p.read_text().splitlines()) for p in _modules().values()}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_functions_are_short() -> None:
    long = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LONG_FUNCTION:
                    long.append((lines, f"{path.relative_to(PACKAGE)}:{node.name}"))
    assert len(long) <= MAX_LONG_FUNCTIONS, sorted(long)
    assert all(lines <= MAX_FUNCTION_LINES for lines, _ in long), sorted(long)


def test_no_import_cycles() -> None:
    known = _modules()
    graph = {m: set(_imports(m, p, known)) for m, p in known.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_package() -> None:
    # digest.a/__init__ imports digest.a.x, which imports a name of digest.a.y:
    # importing digest.a.y runs digest.a first, so the three make one cycle.
    graph = {
        "digest.a": {"digest.a.x"},
        "digest.a.x": {"digest.a", "digest.a.y"},
        "digest.a.y": {"digest.a"},
    }
    assert _cycles(graph) == [["digest.a", "digest.a.x", "digest.a.y"]]


def test_every_package_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 20, init


ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"


def _tree_table_names() -> set[str]:
    """The paths the package-tree table of docs/architecture.md names, relative to
    ``digest/``: each root row's path, and each folder row's modules under it."""
    names: set[str] = set()
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        path = cells[0].strip("`")
        names.add(path)
        for token in re.findall(r"`([^`]+)`", cells[2]):
            if token.endswith((".py", "/")):
                names.add(path + token)
    return names


def test_the_architecture_doc_names_every_module() -> None:
    named = _tree_table_names()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        parts = relative.split("/")
        # A package's __init__ is its folder's row; a subfolder the table names
        # (``store/migrations/``) covers what is in it.
        folders = {"/".join(parts[:n]) + "/" for n in range(2, len(parts))}
        if path.name == "__init__.py" and len(parts) > 1:
            folders.add("/".join(parts[:-1]) + "/")
        if relative not in named and not folders & named:
            missing.append(relative)
    assert missing == [], f"not in the package tree of {ARCHITECTURE.name}: {missing}"


def test_commands_are_registered_where_they_are_listed() -> None:
    # A module that decorates a command group it imported registers its commands as a
    # side effect of being imported: cli/main.py would list it under `# noqa: F401`,
    # and the commands of a group could not be found from the group. Commands are
    # decorated onto the module's own group, or registered in cli/main.py.
    hidden = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                target = call.value if isinstance(call, ast.Attribute) else None
                if isinstance(target, ast.Name) and target.id in imported:
                    hidden.append(f"{path.name}:{node.name} on {target.id}")
    assert hidden == []
