"""Cache keys: what a cached number depends on, hashed.

A shard key holds the tokenizer's cache key (adapter + options + checkpoint sha), the benchmark and its full protocol,
the shard's items, a digest of the shard's input files and a digest of the *code* that computes it: the source of
the tokenizer's adapter module and the repository modules it imports (the pyratok model code it loads), and of the
benchmark's task module and the repository modules it imports (its metric modules, dataset readers, ``benchmarks.base``).
So an edit to a metric invalidates the shards of the benchmarks that import it, and no others.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

__all__ = ["CACHE_LAYOUT_VERSION", "files_digest", "shard_cache_key", "fit_cache_key", "code_digest",
           "module_closure", "stable_hash"]

CACHE_LAYOUT_VERSION = "2"   # 2: keys hold the code digest
_HASH_CONTENT_LIMIT = 64 << 20  # files larger than this are identified by (size, mtime) instead of content
_REPO_PACKAGES = ("pyratok", "adapters", "benchmarks")
_digest_memo: dict[tuple, str] = {}


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _file_digest(path: str) -> str:
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return "missing"
    memo_key = (str(p), st.st_size, st.st_mtime_ns)
    if memo_key in _digest_memo:
        return _digest_memo[memo_key]
    if p.is_dir():
        d = f"dir:{sorted(x.name for x in p.iterdir())}"
    elif st.st_size > _HASH_CONTENT_LIMIT:
        d = f"size:{st.st_size}:mtime:{st.st_mtime_ns}"
    else:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        d = h.hexdigest()
    _digest_memo[memo_key] = d
    return d


def files_digest(files: list[str] | tuple[str, ...]) -> str:
    """Digest of input files: content sha256 (files up to 64 MiB; larger ones by size + mtime), in order. A file
    that does not exist contributes "missing" (its shard then records the failure)."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(Path(f).name).encode())
        h.update(_file_digest(str(f)).encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------ code digests
_REPO = Path(__file__).resolve().parents[2]


def _module_file(name: str) -> Path | None:
    """The source file of a module; repository modules are found without importing anything."""
    if name.split(".")[0] in _REPO_PACKAGES:
        base = _REPO.joinpath(*name.split("."))
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if cand.is_file():
                return cand
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _imports_of(path: Path, module: str) -> set[str]:
    """Repository modules ``path`` imports (absolute and relative imports, module-level or inside functions)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in out if m.split(".")[0] in _REPO_PACKAGES}


def module_closure(module: str, exclude: tuple[str, ...] = ()) -> dict[str, Path]:
    """``module`` and every repository module it imports, transitively -> their source files. Modules under an
    ``exclude`` prefix are left out (e.g. the engine itself, whose edits cannot change a number)."""
    todo, seen = [module], {}
    while todo:
        name = todo.pop()
        if name in seen or any(name == e or name.startswith(e + ".") for e in exclude):
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        todo.extend(_imports_of(path, name))
    return seen


_CODE_MEMO: dict[tuple, str] = {}
_ENGINE_SIDE = ("benchmarks.engine", "benchmarks.runner", "benchmarks.run", "benchmarks.registry",
                "benchmarks.records", "benchmarks.tables", "benchmarks.matrix", "benchmarks.provisioning",
                "adapters.registry", "adapters.lazy_registry")


def code_digest(target: str) -> str:
    """Digest of the source of ``target``'s module (``"module:attr"`` or a module name) and of the repository
    modules it imports, transitively (the engine, registries and renderers excluded: they do not change numbers)."""
    module = target.partition(":")[0]
    closure = module_closure(module, exclude=_ENGINE_SIDE)
    stats = tuple(sorted((n, p.stat().st_mtime_ns, p.stat().st_size) for n, p in closure.items()))
    if (module, stats) not in _CODE_MEMO:
        h = hashlib.sha256()
        for name, path in sorted(closure.items()):
            h.update(name.encode())
            h.update(path.read_bytes())
        _CODE_MEMO[(module, stats)] = h.hexdigest()[:24]
    return _CODE_MEMO[(module, stats)]


def shard_cache_key(tokenizer_key: str, benchmark: str, protocol: dict, shard: dict, data_digest: str,
                    code: str = "") -> str:
    """``code``: the tokenizer and benchmark code digests (:func:`code_digest`), joined."""
    return stable_hash({"layout": CACHE_LAYOUT_VERSION, "tokenizer": tokenizer_key, "benchmark": benchmark,
                        "protocol": protocol, "shard": {"index": shard["index"], "count": shard["count"],
                                                        "items": shard["items"]}, "data": data_digest,
                        "code": code})


def fit_cache_key(tokenizer_key: str, benchmark: str, protocol: dict, data_digest: str, code: str = "") -> str:
    return stable_hash({"layout": CACHE_LAYOUT_VERSION, "fit": True, "tokenizer": tokenizer_key,
                        "benchmark": benchmark, "protocol": protocol, "data": data_digest, "code": code})
