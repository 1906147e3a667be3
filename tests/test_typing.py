"""The typing contract: complete hints on every public function, and py.typed shipped.

A public function is a module-level function, or a method of a module-level
(or nested public) class, whose name does not start with "_" (dunder methods
such as ``__init__`` and ``__call__`` count: they are called from outside), in
a module none of whose dotted components starts with "_" (``__init__`` itself
is public). Complete means every parameter (``self``/``cls`` excepted) and the
return are annotated. The check reads the sources with :mod:`ast`, so it never
imports a module and sees exactly what mypy sees.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import statmech

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE_DIR = Path(statmech.__file__).resolve().parent
ROOT = PACKAGE_DIR.parent

# Packages and modules whose typing is complete; a module is in scope when its
# dotted name equals a prefix or lies below one.
TYPED_SCOPE: tuple[str, ...] = (
    "statmech",  # every public module of the package
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_public_module(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def in_scope(name: str, scope: tuple[str, ...] = TYPED_SCOPE) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in scope)


def is_public_name(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def missing_annotations(node: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    """The names of the unannotated parameters of ``node``, and "return" if its return is."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if is_method and "staticmethod" not in _decorator_names(node) and positional:
        positional = positional[1:]  # self or cls
    params = [*positional, *args.kwonlyargs]
    if args.vararg is not None:
        params.append(args.vararg)
    if args.kwarg is not None:
        params.append(args.kwarg)
    missing = [p.arg for p in params if p.annotation is None]
    if node.returns is None:
        missing.append("return")
    return missing


def _walk_body(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module or class body, descending into if/try blocks (not into functions)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _walk_body(stmt.body)
            yield from _walk_body(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from _walk_body(block)
            for handler in stmt.handlers:
                yield from _walk_body(handler.body)
        else:
            yield stmt


def public_functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """(qualified name, node, is_method) of every public function and method in ``tree``."""

    def visit(
        body: list[ast.stmt], prefix: str, in_class: bool
    ) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
        for stmt in _walk_body(body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if in_class and not is_public_name(stmt.name):
                    continue
                if not in_class and stmt.name.startswith("_"):
                    continue
                yield prefix + stmt.name, stmt, in_class
            elif isinstance(stmt, ast.ClassDef) and not stmt.name.startswith("_"):
                yield from visit(stmt.body, f"{prefix}{stmt.name}.", True)

    yield from visit(tree.body, "", False)


def scoped_modules(scope: tuple[str, ...] = TYPED_SCOPE) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = module_name(path)
        if is_public_module(name) and in_scope(name, scope):
            found.append((name, path))
    return found


def unannotated(scope: tuple[str, ...] = TYPED_SCOPE) -> list[str]:
    """``module:function (missing, ...)`` for every incompletely annotated public function in ``scope``."""
    report = []
    for name, path in scoped_modules(scope):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for qualname, node, is_method in public_functions(tree):
            missing = missing_annotations(node, is_method)
            if missing:
                report.append(f"{name}:{qualname} ({', '.join(missing)})")
    return report


def test_every_scoped_prefix_names_an_existing_module() -> None:
    # A misspelt prefix would silently check nothing.
    for prefix in TYPED_SCOPE:
        assert scoped_modules((prefix,)), f"TYPED_SCOPE entry {prefix!r} matches no public module"


def test_public_functions_are_fully_annotated() -> None:
    report = unannotated()
    assert not report, f"{len(report)} public functions lack annotations:\n" + "\n".join(report)


def test_checker_flags_what_it_should() -> None:
    # The checker itself, on a module with every case: a test that cannot fail would prove nothing.
    source = """
def good(a: int, *args: str, b: float = 1.0, **kw: int) -> None: ...
def no_return(a: int): ...
def bare_param(a, b: int) -> int: ...
def bare_star(*args, **kwargs) -> None: ...
def _private(a): ...
class Public:
    def method(self, x) -> None: ...
    def fine(self, x: int) -> int: ...
    @staticmethod
    def static(x: int) -> int: ...
    @staticmethod
    def static_bare(x) -> int: ...
    @classmethod
    def build(cls, x: int) -> "Public": ...
    def __init__(self, x): ...
    def _hidden(self, x): ...
    class Inner:
        def deep(self, y) -> None: ...
class _Private:
    def method(self, x): ...
if True:
    def conditional(x) -> None: ...
"""
    tree = ast.parse(source)
    found = {name: missing_annotations(node, m) for name, node, m in public_functions(tree)}
    assert found == {
        "good": [],
        "no_return": ["return"],
        "bare_param": ["a"],
        "bare_star": ["args", "kwargs"],
        "Public.method": ["x"],
        "Public.fine": [],
        "Public.static": [],
        "Public.static_bare": ["x"],
        "Public.build": [],
        "Public.__init__": ["x", "return"],
        "Public.Inner.deep": ["y"],
        "conditional": ["x"],
    }


def test_private_modules_are_out_of_scope() -> None:
    assert not is_public_module("statmech.plots._style")
    assert not is_public_module("statmech.sim._kernel")
    assert is_public_module("statmech.plots")
    assert in_scope("statmech.plots.style", ("statmech.plots",))
    assert not in_scope("statmech.plotsextra", ("statmech.plots",))


def test_py_typed_is_package_data() -> None:
    # Installed (importlib.resources sees it) and declared, so a built wheel carries it too.
    marker = resources.files("statmech").joinpath("py.typed")
    assert marker.is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["statmech"]
