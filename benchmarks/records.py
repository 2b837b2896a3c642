"""Result records: one JSON line per (benchmark, tokenizer, metric), with provenance (DESIGN §3).

Tables and figures are built from these records (pandas), never typed by hand. Every record says where its data
came from (synthetic | real sample | real dataset), which protocol version and tokenizer checkpoint produced it, the
code version, the device and the time it took — so a number can always be traced and never confused with a
paper-reported one (those live in ``leaderboards/`` and are labelled ``paper``).
"""
from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["ResultRecord", "write_records", "read_records", "code_version", "device_description"]

REPO = Path(__file__).resolve().parents[1]


@dataclass
class ResultRecord:
    benchmark: str
    tokenizer: str
    metric: str
    value: float | None
    n_samples: int
    n_failed: int
    data_origin: str                 # synthetic | real sample | real dataset
    data_source: str                 # path / description
    protocol_version: str
    table: str
    task: str
    unit: str = ""
    higher_is_better: bool | None = None
    note: str = ""
    text_space: str | None = None    # native | probe (understanding benchmarks)
    tokenizer_family: str = ""
    tokenizer_kind: str = ""
    checkpoint_origin: str = ""      # local-weights | trained-here | random-init | none
    checkpoint_sha: str | None = None
    code_version: str | None = None
    device: str = ""
    seconds: float = 0.0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def write_records(path: str | Path, records: list[ResultRecord | dict]) -> Path:
    """Write JSONL atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r.to_dict() if isinstance(r, ResultRecord) else r, sort_keys=True, default=str) + "\n")
    tmp.replace(path)
    return path


def read_records(path: str | Path) -> list[dict]:
    out = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{i}: not a JSON record ({err})") from None
    return out


def code_version() -> str | None:
    """git sha of the checkout (``-dirty`` when it has uncommitted changes), None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10)
        if sha.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_description() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} torch threads)"
