"""Imports point one way: ``pyratok`` <- ``adapters`` <- ``benchmarks``.

Every module's imports are read with :mod:`ast` — module level *and* lazy imports inside functions, relative
imports resolved against the module's package — so a deferred ``from benchmarks... import`` inside an adapter
function is caught as well as a top-level one. The checker itself is tested on hand-written sources.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# layer -> the project layers it must not import
FORBIDDEN = {"pyratok": {"adapters", "benchmarks"}, "adapters": {"benchmarks"}}


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the module ``module`` (dotted)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # ``from . import x`` / ``from benchmarks import x`` import submodules too
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def _modules(layer: str):
    for path in sorted((REPO / layer).rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield path, ".".join(parts), is_package


def violations(layer: str) -> list[str]:
    bad = []
    for path, module, is_package in _modules(layer):
        for line, name in imported_modules(path.read_text(), module, is_package):
            top = name.split(".")[0]
            if top in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer):
    assert list(_modules(layer)), f"no modules found under {layer}/"
    bad = violations(layer)
    assert not bad, f"{layer}/ must not import {sorted(FORBIDDEN[layer])}:\n" + "\n".join(bad)


# ------------------------------------------------------------------------------------------------ the checker
def test_checker_finds_lazy_relative_and_dynamic_imports():
    src = '''
import os
from torch import nn
from .base import Tokenizer
from .. import benchmarks_like
def f():
    from benchmarks.provisioning import provide
    import benchmarks.tools.ci_gate as gate
class A:
    def g(self):
        importlib.import_module("benchmarks.registry")
'''
    names = [n for _, n in imported_modules(src, "adapters.codecs")]
    assert "benchmarks.provisioning" in names and "benchmarks.tools.ci_gate" in names
    assert "benchmarks.registry" in names                       # dynamic import by a constant name
    assert "adapters.base" in names and "adapters.base.Tokenizer" in names   # relative, resolved
    assert "os" in names and "torch" in names
    lines = {n: ln for ln, n in imported_modules(src, "adapters.codecs")}
    assert lines["benchmarks.provisioning"] == 7


def test_checker_resolves_relative_imports_of_a_package_init():
    names = [n for _, n in imported_modules("from .registry import build\n", "adapters", is_package=True)]
    assert names == ["adapters.registry", "adapters.registry.build"]
    names = [n for _, n in imported_modules("from ..base import X\n", "benchmarks.tools.perf.runner")]
    assert names[0] == "benchmarks.tools.base"
