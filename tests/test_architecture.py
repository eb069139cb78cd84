"""The shape of the code, checked: no import cycle among tplog's modules, data flowing one way
(cli -> services -> models/db; services and db never print or parse the command line), and
migrations that import no services. Imports inside functions count as much as those at the
top: a cycle deferred to run time is still a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tplog"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, by its full name (`from a import b` names a.b when b is
    a module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: {target for target in _imports(path) if target in MODULES and target != name}
            for name, path in MODULES.items()}


def test_no_import_cycle_among_tplog_modules():
    graph = _graph()
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_walk_sees_imports_inside_functions():
    # tplog.cli.visits imports its services inside the commands (start-up time).
    assert "tplog.services.visits" in _graph()["tplog.cli.visits"]


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def _importers_of(packages: tuple[str, ...]) -> set[str]:
    return {name for name, path in MODULES.items()
            if any(_within(target, packages) for target in _imports(path))}


def test_services_and_persistence_never_touch_the_command_line():
    outward = _importers_of(("typer", "rich", "tplog.cli", "tplog.render", "tplog.fitted",
                             "tplog.report_tables", "tplog.jsonout"))
    assert not {name for name in outward
                if _within(name, ("tplog.services", "tplog.db", "tplog.models",
                                  "tplog.clinical", "tplog.vocab"))}


def test_persistence_and_migrations_import_no_services():
    assert not {name for name in _importers_of(("tplog.services",))
                if _within(name, ("tplog.db", "tplog.models"))}
    for script in (ROOT / "alembic").rglob("*.py"):
        assert not {name for name in _imports(script) if _within(name, ("tplog.services",))}, \
            script


def test_the_clinical_rules_are_pure():
    rules = _imports(MODULES["tplog.clinical"])
    assert not {name for name in rules if _within(name, ("sqlalchemy", "typer", "rich"))}
