# The embedded default of `python -m benchmarks.run`: every benchmark on synthetic data (written once into the
# cache) plus the real samples in ../shared/realdata, each benchmark's default tokenizers (benchmarks.matrix),
# a local Ray instance. Every key of a run is here; other configs inherit it (_base_ = ["embedded_default.py"]).
suite = "all"
tokenizers = None          # None: each benchmark's default tokenizers
data_root = None           # None: synthetic data + real samples
out = "results"
cache_dir = None           # None: $PYRATOK_CACHE/runs (default ~/.cache/pyratok/runs)
engine = "ray"             # ray | inline
address = None             # None: a local Ray instance
workers = None             # None: all cores
retries = 2                # retries of a task whose error may be transient
synthetic_scale = "tiny"
synthetic_seed = 0
protocol = {}              # {benchmark: {protocol key: value}}
tokenizer_options = {}     # {tokenizer: {option: value}}
progress = True
retrain_checkpoints = False  # True: retrain the checkpoints shipped in pyratok/checkpoints (~30 min)
