"""A run is a config: every key of a run, in one file (an mmengine ``Config``: Python or YAML, ``_base_``
inheritance), the command-line flags as overrides.

    python -m benchmarks.run --config benchmarks/configs/paper_full.py --tokenizers pyratok:checkpoint=/ckpt

:func:`load_config` reads a file (default :data:`DEFAULT_CONFIG`, the embedded default) and applies overrides;
a key that is not a run key is an error naming it and the valid keys. :func:`run_config` turns the result into the
engine's :class:`~benchmarks.engine.state.RunConfig`; :func:`write_resolved` writes the fully resolved config beside
the results (``<out>/run_config.py``) and returns its digest, which every record references (``config_digest``).

Keys (:data:`KEYS`) and their meaning are listed below; ``protocol`` is ``{benchmark: {protocol key: value}}``
(validated by each benchmark), ``tokenizer_options`` ``{tokenizer: {option: value}}``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["KEYS", "RESULT_KEYS", "DEFAULT_CONFIG", "load_config", "run_config", "write_resolved", "config_digest"]

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "embedded_default.py"

KEYS = {
    "suite": "all | a suite | comma-separated suites/benchmarks, or a list of them",
    "tokenizers": "None (each benchmark's defaults) or a list of NAME | NAME:key=value | pkg.module:Class[:k=v]",
    "data_root": "None (synthetic data + real samples) or the folder holding one sub-folder per dataset",
    "out": "output folder for records, tables, figures",
    "cache_dir": "None ($PYRATOK_CACHE/runs) or the shard cache folder",
    "engine": "ray | inline",
    "address": "None (a local Ray instance) or a Ray cluster address",
    "workers": "None (all cores) or the CPUs of the local Ray instance",
    "retries": "retries of a task whose error may be transient",
    "synthetic_scale": "synthetic data scale without data_root: tiny | small | N",
    "synthetic_seed": "seed of the synthetic world",
    "protocol": "{benchmark: {protocol key: value}} overrides",
    "tokenizer_options": "{tokenizer: {option: value}} added to each named tokenizer's options",
    "progress": "show progress bars",
    "retrain_checkpoints": "train the shipped tiny checkpoints (pyratok.checkpoints) afresh instead of using them",
}


def _check_keys(cfg: dict, where: str) -> None:
    from adapters.lazy_registry import did_you_mean
    from benchmarks.engine.errors import ConfigurationError

    for key in cfg:
        if key not in KEYS:
            raise ConfigurationError(f"{where}: " + did_you_mean("config key", key, list(KEYS), "Valid keys"))


def load_config(path: str | Path | None = None, overrides: dict | None = None):
    """The config at ``path`` (default: the embedded default) with ``overrides`` applied (``protocol`` and
    ``tokenizer_options`` merged per benchmark/tokenizer). Raises ConfigurationError for an unknown key or file."""
    from mmengine.config import Config

    from benchmarks.engine.errors import ConfigurationError

    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        examples = sorted(p.name for p in HERE.glob("*.py") if p.name != "__init__.py")
        raise ConfigurationError(f"config file {path} does not exist (examples in {HERE}: {examples})")
    cfg = Config.fromfile(str(path))
    body = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_")}
    _check_keys(body, str(path))
    missing = sorted(set(KEYS) - set(body))
    if missing:
        raise ConfigurationError(f"{path}: missing keys {missing} (inherit them: _base_ = ['embedded_default.py'])")
    over = dict(overrides or {})
    _check_keys(over, "overrides")
    for key in ("protocol", "tokenizer_options"):
        if key in over:
            merged = {k: dict(v) for k, v in (body.get(key) or {}).items()}
            for name, opts in over.pop(key).items():
                merged.setdefault(name, {}).update(opts)
            body[key] = merged
    body.update(over)
    return Config(body)


def run_config(cfg, log=None):
    """mmengine Config -> :class:`~benchmarks.engine.state.RunConfig` (names resolved: unknown ones raise)."""
    from benchmarks.engine.state import RunConfig
    from benchmarks.registry import resolve_suite

    suite = cfg["suite"]
    benchmarks = resolve_suite(",".join(suite) if isinstance(suite, (list, tuple)) else suite)
    toks = cfg["tokenizers"]
    if isinstance(toks, str):
        from benchmarks.run import split_tokenizer_list

        toks = split_tokenizer_list(toks)
    return RunConfig(benchmarks=benchmarks, tokenizers=list(toks) if toks else None, data_root=cfg["data_root"],
                     out=str(cfg["out"]), cache_dir=cfg["cache_dir"], engine=cfg["engine"], address=cfg["address"],
                     workers=cfg["workers"], retries=int(cfg["retries"]), synthetic_scale=str(cfg["synthetic_scale"]),
                     synthetic_seed=int(cfg["synthetic_seed"]), benchmark_options=_plain(cfg["protocol"]),
                     tokenizer_options=_plain(cfg["tokenizer_options"]), progress=bool(cfg["progress"]),
                     retrain_checkpoints=bool(cfg["retrain_checkpoints"]), log=log,
                     config_digest=config_digest(cfg))


def _plain(d) -> dict:
    return json.loads(json.dumps(dict(d or {}), default=str))


# the keys that decide the numbers; where results and cache go and how the work is spread do not, so the same
# experiment run into another folder or on another cluster has the same digest (and byte-identical records)
RESULT_KEYS = ("suite", "tokenizers", "data_root", "synthetic_scale", "synthetic_seed", "protocol",
               "tokenizer_options")


def config_digest(cfg) -> str:
    """sha256 (24 hex) of the resolved config's :data:`RESULT_KEYS`."""
    body = {k: cfg[k] for k in RESULT_KEYS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]


def write_resolved(cfg, out: str | Path) -> Path:
    """``<out>/run_config.py``: the fully resolved config (loadable with ``--config``), its digest on line 1."""
    from mmengine.config import Config

    path = Path(out) / "run_config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {k: cfg[k] for k in KEYS}
    text = Config(body).pretty_text
    path.write_text(f"# resolved run config; config_digest = {config_digest(cfg)}\n{text}\n")
    return path
