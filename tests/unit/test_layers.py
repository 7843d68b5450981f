"""The package's rooms import one way, and no module imports itself back through others.

Read from the source (an AST walk, nothing imported): every ``import promoter…`` and
``from promoter… import …``, at the top of a module or inside a function alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "promoter"

# Bottom to top: a room imports only from itself and from rooms earlier in this list.
# The foundations (the package's top-level modules) import only one another.
ROOMS = (
    "files",
    "model",
    "project",
    "compile",
    "gates",
    "check",
    "scan",
    "net",
    "targets",
    "mail",
    "promotion",
    "importing",
    "watch",
    "cli",
)
ENTRY = ("promoter", "promoter.__main__")  # the package's face and ``python -m promoter``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The promoter modules a file imports (a name taken from a package counts as the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("promoter"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not (node.module == "promoter" or node.module.startswith("promoter.")):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def room_of(module: str) -> int:
    """-1 for a foundation, else the room's index in ROOMS."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS):
        return ROOMS.index(parts[1])
    return -1


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def test_the_rooms_are_the_ones_named_here() -> None:
    rooms = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ROOMS)


def test_every_import_runs_down() -> None:
    upward = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name not in ENTRY
        for target in targets
        if target not in ENTRY and room_of(target) > room_of(name)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_room_faces_hold_no_code() -> None:
    faces = {
        name: path
        for name, path in modules().items()
        if path.name == "__init__.py" and name != "promoter"
    }
    with_code = []
    for name, path in faces.items():
        body = ast.parse(path.read_text()).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the room's docstring
        if body:
            with_code.append(name)
    assert with_code == []


@pytest.mark.parametrize(
    ("module", "target", "allowed"),
    [
        ("promoter.cli.main", "promoter.model.email", True),
        ("promoter.model.email", "promoter.project.load", False),
        ("promoter.errors", "promoter.files.safeopen", False),
        ("promoter.files.safeopen", "promoter.errors", True),
    ],
)
def test_the_rule_itself(module: str, target: str, allowed: bool) -> None:
    assert (room_of(target) <= room_of(module)) is allowed
