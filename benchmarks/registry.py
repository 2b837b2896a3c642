"""Lazy registry of benchmarks and suites: a name maps to ``module:Class``; nothing is imported until used.

    from benchmarks.registry import build_benchmark, resolve_suite
    resolve_suite("reconstruction")        # -> ["webvid-recon", "coco-recon", "tokenizer-efficiency"]
    bench = build_benchmark("webvid-recon", max_samples=8)
"""
from __future__ import annotations

import difflib
import importlib

__all__ = ["BENCHMARKS", "SUITES", "build_benchmark", "resolve_suite", "list_benchmarks", "UnknownBenchmark"]


class UnknownBenchmark(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


# name -> (module:Class, one-line description)
BENCHMARKS: dict[str, tuple[str, str]] = {
    # Table 1 / 6 / 9
    "webvid-recon": ("benchmarks.tasks.reconstruction:WebVidReconstruction",
                     "video reconstruction on WebVid-10M val: PSNR, SSIM, LPIPS (Table 1)"),
    "coco-recon": ("benchmarks.tasks.reconstruction:CocoReconstruction",
                   "image reconstruction on COCO val2017: PSNR, SSIM, LPIPS (Table 1)"),
    "tokenizer-efficiency": ("benchmarks.tasks.efficiency:TokenizerEfficiency",
                             "parameter count and encode+decode latency for 25 frames at 256x256 (Table 1)"),
    # Table 7
    "mcl-jcv-compression": ("benchmarks.tasks.compression:MCLJCVCompression",
                            "video compression on MCL-JCV at matched bits per pixel: PSNR, SSIM, LPIPS (Table 7)"),
    # Figures 10 / 29
    "codebook-size": ("benchmarks.tasks.codebook:CodebookSizeSweep",
                      "reconstruction vs LFQ codebook size (Figure 10)"),
    "codebook-utilization": ("benchmarks.tasks.codebook:CodebookUtilization",
                             "codebook utilisation vs input resolution (Figure 29)"),
    # Table 3
    "ytvis-seg": ("benchmarks.tasks.segmentation:YouTubeVISSegmentation",
                  "zero-shot video instance segmentation on YouTube-VIS 2021: mAP, Jaccard (Table 3)"),
    "ovis-seg": ("benchmarks.tasks.segmentation:OVISSegmentation",
                 "zero-shot video instance segmentation on OVIS: mAP, Jaccard (Table 3)"),
    # Table 4
    "thumos14-tal": ("benchmarks.tasks.localization:Thumos14Localization",
                     "zero-shot temporal action localization on THUMOS14: avg mAP @ tIoU .3:.1:.7 (Table 4)"),
    "activitynet-tal": ("benchmarks.tasks.localization:ActivityNetLocalization",
                        "zero-shot temporal action localization on ActivityNet v1.3: avg mAP @ .5:.05:.95 (Table 4)"),
    # Table 5
    "kinetics400-cls": ("benchmarks.tasks.classification:Kinetics400Classification",
                        "zero-shot classification on Kinetics-400: top-1 / top-5 (Table 5)"),
    "kinetics600-cls": ("benchmarks.tasks.classification:Kinetics600Classification",
                        "zero-shot classification on Kinetics-600 (new classes): top-1 / top-5 (Table 5)"),
    "kinetics700-cls": ("benchmarks.tasks.classification:Kinetics700Classification",
                        "zero-shot classification on Kinetics-700: top-1 / top-5 (Table 5)"),
    "mvbench-qa": ("benchmarks.tasks.video_qa:MVBenchQA",
                   "video question answering on MVBench: accuracy per task and overall (Table 5)"),
    # Tables 8 / 2
    "ucf101-gfvd": ("benchmarks.tasks.class_generation:UCF101ClassConditionalGeneration",
                    "class-conditional generation on UCF-101 with an AR prior over tokens: gFVD (Table 8)"),
    "webvid-t2v": ("benchmarks.tasks.text_to_video:WebVidTextToVideo",
                   "text-to-video on WebVid with an AR prior over tokens: FVD, TC (Table 2)"),
}

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
SUITES["all"] = list(BENCHMARKS)


def list_benchmarks() -> list[str]:
    return list(BENCHMARKS)


def _unknown(kind: str, name: str, valid: list[str]) -> UnknownBenchmark:
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return UnknownBenchmark(f"unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}")


def resolve_suite(text: str) -> list[str]:
    """``all`` | a suite name | comma-separated suite and/or benchmark names -> benchmark names (ordered, unique)."""
    out: list[str] = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        if part in SUITES:
            names = SUITES[part]
        elif part in BENCHMARKS:
            names = [part]
        else:
            raise _unknown("suite or benchmark", part, list(SUITES) + list(BENCHMARKS))
        out += [n for n in names if n not in out]
    if not out:
        raise _unknown("suite or benchmark", text, list(SUITES) + list(BENCHMARKS))
    return out


def build_benchmark(name: str, **options):
    if name not in BENCHMARKS:
        raise _unknown("benchmark", name, list(BENCHMARKS))
    target = BENCHMARKS[name][0]
    module_name, _, cls = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ImportError(f"benchmark {name!r} needs module {module_name} which failed to import: {err}") from err
    return getattr(module, cls)(**options)
