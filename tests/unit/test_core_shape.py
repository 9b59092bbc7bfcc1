"""The core's shape: small modules, and no import cycle among them (issue 22).

Imports are read with `ast`, so those under `if TYPE_CHECKING:` and inside functions count:
a cycle that only the type checker sees still makes a newcomer read every module in it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cardbot.core

CORE = Path(cardbot.core.__file__).parent
PACKAGE = "cardbot.core"
MAX_LINES = 400


def module_name(path: Path) -> str:
    """The dotted name of a core module (a package's __init__ is the package)."""
    parts = path.relative_to(CORE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def core_modules() -> dict[str, Path]:
    """Every module of the core, by dotted name."""
    return {module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def imports_in(source: str, name: str, modules: set[str], *, package: bool = False) -> set[str]:
    """The core modules that module `name` (a package's __init__ when `package`) imports,
    wherever the import statement stands."""
    parent = name if package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = parent.split(".")[: len(parent.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from package import module` imports the module; `from module import name`
            # imports the module that defines the name.
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph() -> dict[str, set[str]]:
    """Each core module with the core modules it imports."""
    modules = core_modules()
    return {
        name: imports_in(
            path.read_text(encoding="utf-8"), name, set(modules), package=path.stem == "__init__"
        )
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle is not None:
                    return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = visit(module)
            if cycle is not None:
                return cycle
    return None


def test_no_core_module_is_longer_than_the_limit() -> None:
    too_long = {}
    for path in core_modules().values():
        relative = path.relative_to(CORE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long[relative] = lines
    assert too_long == {}, f"split these modules (at most {MAX_LINES} lines each)"


def test_core_modules_import_each_other_without_a_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_check_sees_imports_under_type_checking_and_in_functions() -> None:
    """The check itself: every kind of import is read, and a cycle is found and named."""
    sample = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from cardbot.core.service import ConversationService\n"
        "from cardbot.core import flow as states\n"
        "from .review import team\n"
        "def late():\n"
        "    import cardbot.core.turn\n"
    )
    modules = {
        "cardbot.core.service",
        "cardbot.core.flow",
        "cardbot.core.turn",
        "cardbot.core.review.team",
        "cardbot.core.replies",
    }
    assert imports_in(sample, "cardbot.core.desk", modules) == modules - {"cardbot.core.replies"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
