"""The house's arrows go one way: handlers → server.web → models → server.kernel, media.

Read from the source with ``ast`` (imports inside functions count; imports under
``if TYPE_CHECKING:`` do not, as they never run). docs/ARCHITECTURE.md says the same in prose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("server", "models", "handlers", "media")

# package → project packages (prefixes) its modules may import at run time
ALLOWED = {
    "server.kernel": ("server.kernel",),
    "media": ("media", "server.kernel"),
    "models": ("models", "media", "server.kernel"),
    "server.web": (
        "server.web",
        "server.kernel",
        "server.runtime",
        "server.wechat",
        "server.config",
        "models",
        "media",
    ),
    "server.runtime": ("server.runtime", "server.kernel", "server.wechat", "server.config", "models", "media"),
    "server.wechat": ("server.wechat", "server.kernel", "server.runtime.observability", "server.config"),
    # The console is a handler layer for browsers: it may read the API's request and response schemas
    # (handlers' *_schemas modules, checked below), never a handler.
    "server.console": (
        "server.console",
        "server.web",
        "server.kernel",
        "server.runtime",
        "server.wechat",
        "server.config",
        "models",
        "media",
        "handlers",
    ),
}
# third-party packages a layer may not import at run time
FORBIDDEN_LIBRARIES = {
    "server.kernel": ("sanic", "sanic_ext", "tortoise", "redis", "aiohttp", "PIL"),
    "media": ("sanic", "sanic_ext", "tortoise"),
    "models": ("sanic", "sanic_ext"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import that runs, resolving relative ones."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.lineno, child.module))
                # `from pkg import module` imports the module too
                found.extend(
                    (child.lineno, f"{child.module}.{alias.name}")
                    for alias in child.names
                    if _is_source(f"{child.module}.{alias.name}")
                )
            visit(child)

    visit(tree)
    return found


def _is_source(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _sources(package: str) -> list[Path]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _project_module(name: str) -> bool:
    return name.split(".")[0] in PROJECT


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_what_lies_below_it(package):
    wrong = []
    for path in _sources(package):
        for line, name in _runtime_imports(path):
            if _project_module(name) and not _within(name, ALLOWED[package]):
                # `from server import x` names the package itself, allowed when x is.
                if name in PROJECT:
                    continue
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            top = name.split(".")[0]
            if top in FORBIDDEN_LIBRARIES.get(package, ()):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert _sources(package), f"no sources found for {package}"
    assert not wrong, "\n".join(wrong)


def _is_blueprint_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith("handlers.") and not (last == "schemas" or last.endswith("_schemas") or ".schemas." in name)


def test_the_console_uses_the_api_schemas_but_no_handler():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources("server.console")
        for line, name in _runtime_imports(path)
        if name == "handlers" or _is_blueprint_module(name)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_handler_imports_another_handler():
    wrong = []
    for path in _sources("handlers"):
        me = _module_name(path)
        if me == "handlers":  # the package gathers the blueprints
            continue
        for line, name in _runtime_imports(path):
            if _is_blueprint_module(name) and name != me and not name.startswith(me + "."):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (module → modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_models_have_no_import_circle():
    # Not even through an import inside a function, where a circle hides until it bites.
    graph = {
        _module_name(path): {
            name for _, name in _runtime_imports(path) if _is_source(name) and name.startswith("models.")
        }
        for path in _sources("models")
    }
    graph = {m: {n for n in deps if n != m and n in graph} for m, deps in graph.items()}
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the search itself finds one
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_the_checks_see_a_violation():
    # The walker must find imports inside functions and skip TYPE_CHECKING blocks, or the tests above prove nothing.
    source = ROOT / "tests" / "_layers_probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sanic\n"
        "def f():\n    from handlers.tasks import bp\n",
        encoding="utf-8",
    )
    try:
        names = [name for _, name in _runtime_imports(source)]
    finally:
        source.unlink()
    assert "handlers.tasks" in names and "sanic" not in names
    assert _is_blueprint_module("handlers.tasks") and not _is_blueprint_module("handlers.task_schemas")
