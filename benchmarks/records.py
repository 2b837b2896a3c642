"""Result records: one JSON line per (benchmark, tokenizer, metric), with provenance.

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

__all__ = ["ResultRecord", "write_records", "read_records", "code_version", "device_description", "write_outputs",
           "portable"]

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
    config_digest: str | None = None  # digest of the resolved run config written beside the results
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _machine_prefixes() -> list[tuple[str, str]]:
    """(absolute prefix of this machine, portable name), most specific first; computed once per environment."""
    import os

    env = tuple(os.environ.get(k) for k in ("PYRATOK_REALDATA", "PYRATOK_CACHE", "HOME"))
    if env not in _PREFIXES:
        _PREFIXES[env] = _compute_prefixes()
    return _PREFIXES[env]


_PREFIXES: dict[tuple, list[tuple[str, str]]] = {}


def _compute_prefixes() -> list[tuple[str, str]]:
    from benchmarks.base import realdata_root
    from benchmarks.provisioning.cache import cache_root

    pairs = [(realdata_root(), "../shared/realdata"), (cache_root(), "$PYRATOK_CACHE"), (REPO, "."),
             (Path.home(), "~")]
    out = {(str(v).rstrip("/"), name) for path, name in pairs for v in (Path(path), Path(path).resolve())}
    return sorted(out, key=lambda pn: -len(pn[0]))


def portable(record: dict) -> dict:
    """``record`` with this machine's absolute paths replaced by portable names (the real-data folder by
    ``../shared/realdata``, the cache by ``$PYRATOK_CACHE``, the checkout by ``.``, the home folder by ``~``), so
    committed records and tables never carry where they were produced. Applied on every write and every read."""
    text = json.dumps(record, sort_keys=True, default=str)
    for prefix, name in _machine_prefixes():
        if len(prefix) > 1:
            text = text.replace(prefix, name)
    return json.loads(text)


def write_records(path: str | Path, records: list[ResultRecord | dict]) -> Path:
    """Write JSONL atomically (temp file + rename), machine paths made portable (:func:`portable`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for r in records:
            rec = r.to_dict() if isinstance(r, ResultRecord) else r
            f.write(json.dumps(portable(rec), sort_keys=True, default=str) + "\n")
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
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{i}: not a JSON record ({err})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{path}:{i}: a record must be a JSON object, got {type(rec).__name__}")
            out.append(portable(rec))  # older records may carry machine paths
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


def write_outputs(out: Path, summary, benchmarks: list[str]) -> None:
    """Records per benchmark (replacing that benchmark's file: the run recomputes or re-reads every cell of it,
    records of tokenizers this run did not touch are kept), failures, tokenizer identities and the run summary."""
    out = Path(out)
    by_bench: dict[str, list[dict]] = {}
    for r in summary.records:
        by_bench.setdefault(r["benchmark"], []).append(r)
    for b in benchmarks:
        path = out / "records" / f"{b}.jsonl"
        if b in by_bench:
            write_records(path, _merge_existing(path, by_bench[b]))
    fails = out / "failures.jsonl"
    fails.parent.mkdir(parents=True, exist_ok=True)
    with open(fails, "w") as f:
        for x in summary.failures:
            f.write(json.dumps(portable(x), sort_keys=True, default=str) + "\n")
    ident_file = out / "tokenizers.json"
    idents = json.loads(ident_file.read_text()) if ident_file.is_file() else {}
    idents.update(portable(summary.identities))
    ident_file.write_text(json.dumps(dict(sorted(idents.items())), indent=2, sort_keys=True, default=str) + "\n")
    summary_text = json.dumps(portable(summary.to_dict()), indent=2, sort_keys=True, default=str)
    (out / "run_summary.json").write_text(summary_text + "\n")


def _merge_existing(path: Path, new: list[dict]) -> list[dict]:
    """Keep records of tokenizers this run did not touch (a run of one tokenizer must not erase the others)."""
    touched = {r["tokenizer"] for r in new}
    kept = [r for r in read_records(path) if r["tokenizer"] not in touched] if path.is_file() else []
    return sorted(kept + new, key=lambda r: (r["tokenizer"], r["metric"]))
