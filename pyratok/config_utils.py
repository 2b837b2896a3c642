"""Configuration as data: strict dataclass <-> dict conversion with clear errors.

Every config in PyraTok is a dataclass whose defaults are the paper's values (with the source in a comment).
``from_dict`` rejects unknown keys and names the offending key path and the valid keys, so a typo in a JSON
config fails at load time instead of being silently ignored.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key or value is invalid. The message names the key path and the valid choices."""


def to_dict(cfg: Any) -> Any:
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def from_dict(cls: type[T], data: dict[str, Any] | None, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; nested dataclass fields are built recursively.

    Raises :class:`ConfigError` for unknown keys (listing the valid ones) or a non-dict where a section is expected.
    """
    if data is None:
        return cls()
    if dataclasses.is_dataclass(data):
        return data  # already built
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{path or cls.__name__}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = path or cls.__name__
        raise ConfigError(
            f"unknown config key(s) {unknown} in '{where}'; valid keys: {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        sub = f"{path}.{name}" if path else name
        hint = hints.get(name)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[name] = from_dict(hint, value, sub)
        else:
            # Optional[Dataclass]
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(args) == 1 and isinstance(args[0], type) and dataclasses.is_dataclass(args[0]) and value is not None:
                kwargs[name] = from_dict(args[0], value, sub)
            elif isinstance(value, list) and typing.get_origin(hint) is tuple:
                kwargs[name] = tuple(value)
            else:
                kwargs[name] = value
    return cls(**kwargs)


def load_json(cls: type[T], path: str | Path) -> T:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: invalid JSON: {err}") from err
    try:
        return from_dict(cls, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def replace(cfg: T, **overrides: Any) -> T:
    """``dataclasses.replace`` with a ConfigError naming valid keys on a bad override."""
    valid = {f.name for f in dataclasses.fields(cfg)}
    bad = sorted(set(overrides) - valid)
    if bad:
        raise ConfigError(f"unknown config key(s) {bad} for {type(cfg).__name__}; valid keys: {sorted(valid)}")
    return dataclasses.replace(cfg, **overrides)
