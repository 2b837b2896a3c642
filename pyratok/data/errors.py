"""Errors and failure records shared by every dataset reader.

Two ways a reader reports bad input (the project rule: "a clear error naming the file and the problem, and nothing
already computed is lost"):

* :class:`DatasetFormatError` — raised when a whole file cannot be used (unparseable JSON, missing required
  field, wrong type). The message names the file, the field (a JSON path or CSV column) and the reason.
* :class:`SampleFailure` — a record for one bad sample (a corrupt or truncated video, a missing frame folder,
  an RLE whose size disagrees with its video). Readers collect these instead of raising, so a benchmark run
  carries on past the sample and reports ``n_failed`` with the reasons.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class DatasetFormatError(ValueError):
    """A dataset file is malformed. ``str(err)`` reads ``<file>: <field>: <reason>``."""

    def __init__(self, file: str | Path, field: str | None, reason: str):
        self.file = str(file)
        self.field = field
        self.reason = reason
        where = f"{self.file}: {field}" if field else self.file
        super().__init__(f"{where}: {reason}")


class SampleDecodeError(RuntimeError):
    """One sample (a video, an image, a frame folder) could not be read. Carries the path and the reason."""

    def __init__(self, file: str | Path, reason: str, field: str | None = None):
        self.file = str(file)
        self.reason = reason
        self.field = field
        super().__init__(f"{self.file}: {reason}")

    def to_failure(self, sample_id: str | None = None) -> "SampleFailure":
        return SampleFailure(sample_id=sample_id, file=self.file, field=self.field, reason=self.reason)


@dataclass(frozen=True)
class SampleFailure:
    """One sample that could not be used: which sample, which file, which field, and why."""

    sample_id: str | None
    file: str
    field: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
