"""Benchmarks, suites and metrics by name, through the one registry mechanism (:mod:`adapters.lazy_registry`).

A benchmark declares its name once, on its class, in its task module::

    @register_benchmark("webvid-recon", "video reconstruction on WebVid-10M val: PSNR, SSIM, LPIPS (Table 1)")
    class WebVidReconstruction(_Reconstruction): ...

The task modules (``TASK_MODULES``) are imported the first time a benchmark is looked up or listed; a module that
fails to import is named in the error of a lookup that misses, the others still work.

    from benchmarks.registry import build_benchmark, resolve_suite
    resolve_suite("reconstruction")        # -> ["webvid-recon", "coco-recon", "tokenizer-efficiency"]
    bench = build_benchmark("webvid-recon", max_samples=8)

``register_benchmark(..., supplies=("bpp",))``: tokenizer options the benchmark provides itself (the planner then
does not require them on the tokenizer). Metrics register the same way (``METRICS``: name -> ``module:function``);
the engine digests the source of the metric modules a benchmark's task module imports into its cache keys.
"""
from __future__ import annotations

from adapters.lazy_registry import Entry, Registry, UnknownName, did_you_mean

__all__ = ["BENCHMARKS", "METRICS", "SUITES", "TASK_MODULES", "build_benchmark", "resolve_suite", "list_benchmarks",
           "register_benchmark", "benchmark_class", "UnknownBenchmark"]


class UnknownBenchmark(UnknownName):
    pass


# the modules that hold the benchmark classes (imported on first lookup, in this order)
TASK_MODULES = ("benchmarks.tasks.reconstruction", "benchmarks.tasks.efficiency", "benchmarks.tasks.compression",
                "benchmarks.tasks.codebook", "benchmarks.tasks.segmentation", "benchmarks.tasks.localization",
                "benchmarks.tasks.classification", "benchmarks.tasks.video_qa", "benchmarks.tasks.class_generation",
                "benchmarks.tasks.text_to_video")

BENCHMARKS = Registry("benchmark", locations=TASK_MODULES, error=UnknownBenchmark, entry_type=Entry)
register_benchmark = BENCHMARKS.register

METRICS = Registry("metric", entry_type=Entry)
for _name, _target, _desc in (
        ("psnr", "pyratok.image_quality:psnr", "peak signal-to-noise ratio in dB"),
        ("ssim", "pyratok.image_quality:ssim", "structural similarity"),
        ("fvd", "benchmarks.metrics.fvd:compute_fvd", "Frechet video distance over I3D features"),
        ("temporal-map", "benchmarks.metrics.temporal_ap:mean_average_precision", "temporal action localization mAP"),
        ("ytvis-map", "benchmarks.metrics.ytvis_eval:evaluate", "YouTube-VIS video instance segmentation mAP"),
        ("dense-crf-3d", "benchmarks.metrics.crf:dense_crf_3d", "3-D dense CRF refinement of masks")):
    METRICS.add(_name, Entry(_target, _desc))

SUITES: dict[str, list[str]] = {
    "reconstruction": ["webvid-recon", "coco-recon", "tokenizer-efficiency"],
    "compression": ["mcl-jcv-compression"],
    "codebook": ["codebook-size", "codebook-utilization"],
    "segmentation": ["ytvis-seg", "ovis-seg"],
    "localization": ["thumos14-tal", "activitynet-tal"],
    "classification": ["kinetics400-cls", "kinetics600-cls", "kinetics700-cls"],
    "qa": ["mvbench-qa"],
    "generation": ["ucf101-gfvd", "webvid-t2v"],
}
SUITES["understanding"] = SUITES["segmentation"] + SUITES["localization"] + SUITES["classification"] + SUITES["qa"]
SUITES["all"] = (SUITES["reconstruction"] + SUITES["compression"] + SUITES["codebook"] + SUITES["understanding"]
                 + SUITES["generation"])


def list_benchmarks() -> list[str]:
    return BENCHMARKS.names()


def _unknown(name: str) -> UnknownBenchmark:
    valid = list(SUITES) + BENCHMARKS.names()
    return UnknownBenchmark(did_you_mean("suite or benchmark", name, valid, "Valid suite or benchmarks"))


def resolve_suite(text: str) -> list[str]:
    """``all`` | a suite name | comma-separated suite and/or benchmark names -> benchmark names (ordered, unique)."""
    out: list[str] = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        if part in SUITES:
            names = SUITES[part]
        elif part in BENCHMARKS:
            names = [part]
        else:
            raise _unknown(part)
        out += [n for n in names if n not in out]
    if not out:
        raise _unknown(text)
    return out


def benchmark_class(name: str):
    """The benchmark class registered as ``name`` (imports its task module)."""
    return BENCHMARKS.load(name)


def build_benchmark(name: str, **options):
    """An instance of benchmark ``name`` with protocol ``options`` (unknown keys are an error naming the valid)."""
    return benchmark_class(name)(**options)
