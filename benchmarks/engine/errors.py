"""Errors of the right kind: a configuration error is refused while planning, before any work, with the valid
choices; a task error is retried only when retrying can fix it (a crashed worker, a full disk, a CUDA OOM) — a
``ValueError`` from a wrong option fails the same way every time."""
from __future__ import annotations

__all__ = ["ConfigurationError", "is_transient", "root_cause"]


class ConfigurationError(ValueError):
    """A run that cannot work as configured: an unknown key, an unsupported tokenizer/benchmark pair, a missing
    required option. The message names the problem and the valid choices."""


# exception types that retrying the same task with the same inputs cannot fix
_PERMANENT = (ValueError, TypeError, KeyError, LookupError, AttributeError, NotImplementedError, ImportError,
              AssertionError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError,
              ZeroDivisionError)


def root_cause(err: BaseException) -> BaseException:
    """Ray wraps a worker's exception (``RayTaskError.cause``): the original one."""
    return getattr(err, "cause", None) or err


def is_transient(err: BaseException) -> bool:
    """True when a retry may succeed: anything but the deterministic error types above (a worker crash, an
    ``OSError`` such as a full disk, a ``RuntimeError`` such as out-of-memory)."""
    return not isinstance(root_cause(err), _PERMANENT)
