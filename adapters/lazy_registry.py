"""One registry mechanism for tokenizers, benchmarks and metrics: names declared once, imported lazily, and an
unknown name answered with "did you mean" and the valid choices.

Two ways to declare a name, both at the definition:

* a decorator on the class (``@BENCHMARKS.register("webvid-recon", description=...)``), which also sets
  ``cls.name``; the registry imports its ``locations`` (the modules holding such classes) the first time a name is
  looked up or the names are listed;
* a lazy entry naming ``"module:attr"`` (``TOKENIZERS.add(name, TokenizerSpec(...))``) for factories that build
  several names from options (the tokenizer table); the module is imported only when that name is built.

Built on ``mmengine.registry.Registry`` (the field's registry, which this project's package list names): its
``locations`` mechanism does the deferred import, ``register_module`` the decorator registration and storage, its
``__repr__`` the listing. Two things of mmengine's are replaced, and why: its ``get`` reads a dot in a name as a
scope separator (``"wan2.2-vae"`` would be looked up as key ``"2-vae"`` in scope ``"wan2"``) and returns ``None`` for
an unknown name; here names are matched exactly, :meth:`Registry.load` imports and returns the object, an unknown
name raises the registry's error with suggestions, and ``get`` is the mapping's (entries), so the registry reads
like the dict it replaced.
Its ``locations`` import stops at the first module that fails to import; here each failure is kept and reported
with the name that could not be found, so a broken optional dependency only breaks its own entries.
"""
from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Iterator

from mmengine.registry import Registry as _MMRegistry

__all__ = ["Registry", "Entry", "UnknownName", "did_you_mean", "import_target"]


class UnknownName(KeyError):
    """A name no registry entry has; the message names the close matches and the valid choices."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class Entry(tuple):
    """A registered name: ``target`` is ``"module:attr"``; ``description`` one line; ``meta`` free-form metadata
    (e.g. a benchmark's ``supplies`` options). Unpacks as the pair ``(target, description)``, the shape the name
    tables had before."""

    def __new__(cls, target: str, description: str = "", meta: dict | None = None):
        self = super().__new__(cls, (target, description))
        self.meta = dict(meta or {})
        return self

    target = property(lambda self: self[0])
    description = property(lambda self: self[1])

    def __repr__(self) -> str:
        return f"Entry({self.target!r}, {self.description!r}, {self.meta!r})"


def did_you_mean(kind: str, name: str, valid: list[str], valid_label: str = "") -> str:
    """``unknown <kind> 'x'. Did you mean a, b? Valid <kind>s: ...`` (the suggestions from :mod:`difflib`)."""
    close = difflib.get_close_matches(str(name), valid, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} {valid_label or f'Valid {kind}s'}: {', '.join(valid)}"


def import_target(target: str, what: str = "") -> Any:
    """``"pkg.module:attr"`` -> the attribute, importing the module. ImportError names ``what`` and the module."""
    module_name, colon, attr = target.partition(":")
    if not colon or not attr:
        raise ValueError(f"{what or target}: target must be 'module:attr', got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ImportError(f"{what or target} needs module {module_name} which failed to import: {err}") from err
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"{what or target}: module {module_name} has no attribute {attr!r}") from None


class Registry(_MMRegistry):
    """Name -> entry (anything with a ``target`` attribute), a mutable mapping over the entries.

    ``kind`` names what is registered (``"tokenizer"``); ``error`` is the :class:`UnknownName` subclass raised for an
    unknown name; ``valid_label`` the phrase before the valid names in its message; ``locations`` the modules
    imported (each once, failures kept) before a name is looked up or the names are listed.
    """

    def __init__(self, kind: str, *, locations: tuple[str, ...] = (), error: type[UnknownName] = UnknownName,
                 valid_label: str = "", entry_type: Callable | None = None):
        super().__init__(kind, scope="pyratok", locations=list(locations))
        self.kind, self.error, self.valid_label = kind, error, valid_label
        self._entries: dict[str, Any] = {}
        self._entry_type = entry_type
        self.import_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ declaring
    def add(self, name: str, entry: Any) -> Any:
        """A lazy entry (its ``target`` is imported only by :meth:`get`). A name registered twice is an error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self[name] = entry
        return entry

    def register(self, name: str, description: str = "", **meta) -> Callable:
        """Class decorator: registers ``name`` -> this class and sets ``cls.name = name`` (declared once)."""

        def deco(obj):
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice ({self._entries[name].target})")
            obj.name = name
            self._register_module(obj, name, force=True)
            self._entries[name] = Entry(f"{obj.__module__}:{obj.__qualname__}", description, dict(meta))
            return obj

        return deco

    # ------------------------------------------------------------------ looking up
    def import_from_location(self) -> None:
        if self._imported:
            return
        self._imported = True
        for loc in self._locations:
            try:
                importlib.import_module(loc)
            except Exception as err:  # noqa: BLE001 — kept and named when a lookup misses
                self.import_errors[loc] = f"{type(err).__name__}: {err}"

    def names(self) -> list[str]:
        self.import_from_location()
        return list(self._entries)

    def entry(self, name: str) -> Any:
        """The entry of ``name``; raises the registry's :class:`UnknownName` with suggestions."""
        if name not in self._entries:
            self.import_from_location()
        if name not in self._entries:
            raise self.unknown(name)
        return self._entries[name]

    def unknown(self, name: str) -> UnknownName:
        msg = did_you_mean(self.kind, name, self.names(), self.valid_label)
        if self.import_errors:
            msg += " (modules that failed to import: " + "; ".join(f"{k}: {v}" for k, v in
                                                                  self.import_errors.items()) + ")"
        return self.error(msg)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        """Mapping ``get``: the entry of ``name``, or ``default`` (exact names: a dot is not a scope)."""
        return self.entry(name) if name in self else default

    def load(self, name: str) -> Any:
        """The registered class/factory of ``name``, importing its module on first use."""
        entry = self.entry(name)
        obj = self._module_dict.get(name)
        if obj is None or f"{obj.__module__}:{obj.__qualname__}" != entry.target:
            obj = import_target(entry.target, f"{self.kind} {name!r}")
            self._module_dict[name] = obj
        return obj

    # ------------------------------------------------------------------ mapping protocol over the entries
    def __getitem__(self, name: str) -> Any:
        return self.entry(name)

    def __setitem__(self, name: str, entry: Any) -> None:
        if self._entry_type is not None and not hasattr(entry, "target"):
            entry = self._entry_type(*entry)
        self._entries[name] = entry
        self._module_dict.pop(name, None)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]
        self._module_dict.pop(name, None)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self.import_from_location()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def keys(self):
        return self.names()

    def items(self):
        return [(n, self._entries[n]) for n in self.names()]

    def values(self):
        return [self._entries[n] for n in self.names()]
