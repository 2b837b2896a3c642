"""Sampling throughput of the token prior (:mod:`benchmarks.generation`) -> results/perf/generation.json.

    python -m benchmarks.tools.perf.generation [--batch 8] [--repeats 3] [--out results/perf/generation.json]

Measured:

* the tiny prior (``PriorConfig.tiny()``) on the CPU, fp32, over tiny PyraTok's token layout for a 9 x 64 x 64
  clip (4 levels x 3 x 4 x 4 = 192 visual tokens, bits head, class prefix), with and without the KV cache, and
  with the KV cache plus classifier-free guidance (which doubles the batch);
* the paper-size prior (``PriorConfig.paper()``, Table 8's 2.3 B) over Table 8's PyraTok layout (4 levels x
  4 x 8 x 8 = 1,024 tokens) in bf16 with the KV cache — on CUDA only; without a GPU the record says "not
  measured" and why (2.3 B parameters do not fit this 2-core CPU's time budget, and a CPU number would say
  nothing about the GPU setting the paper uses). Its parameter count is taken on the ``meta`` device, without
  allocating weights.

Throughput = generated visual tokens (and clips) per second of wall time, ``<SEP>`` insertion included, decoding
the tokens to pixels not included (that is the tokenizer's decode, timed in results/perf/model.json). Weights are
random: the amount of work per token does not depend on them. Median of ``--repeats`` runs after one warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from benchmarks.generation.layout import TokenLayout
from benchmarks.generation.prior import PriorCondition, PriorConfig, PriorSpec, TokenPrior
from benchmarks.tools.perf.timing import median_time

TINY_LAYOUT = TokenLayout(((5, 4, 4), (3, 4, 4), (3, 2, 2), (2, 2, 2)))  # tiny PyraTok pyramid, 9 x 64 x 64 clip
PAPER_LAYOUT = TokenLayout(((9, 8, 8), (5, 8, 8), (5, 4, 4), (3, 4, 4)))  # Table 8: 1,024 tokens, 17 x 128 x 128 (pyratok.lapq)
NUM_CLASSES = 101                               # UCF-101


def _spec(layout: TokenLayout) -> PriorSpec:
    return PriorSpec(layout, 2 ** 16, "bits", "class", num_classes=NUM_CLASSES)


def measure(model: TokenPrior, batch: int, repeats: int, *, use_cache: bool, guidance: float, device: str,
            autocast_dtype=None) -> dict:
    cond = PriorCondition(labels=torch.arange(batch, device=device) % NUM_CLASSES)
    gen = torch.Generator(device=device).manual_seed(0)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run():
        with torch.autocast(device_type=device, dtype=autocast_dtype or torch.float32,
                            enabled=autocast_dtype is not None):
            model.sample(cond, temperature=1.0, top_k=0, guidance=guidance, use_cache=use_cache, generator=gen)

    seconds, runs = median_time(run, repeats, sync)
    tokens = batch * model.spec.layout.num_visual
    return {"kv_cache": use_cache, "guidance": guidance, "batch": batch,
            "visual_tokens_per_clip": model.spec.layout.num_visual, "seconds": seconds, "runs_s": runs,
            "tokens_per_s": tokens / seconds, "clips_per_s": batch / seconds}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    ap.add_argument("--out", type=Path, default=Path("results/perf/generation.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    record = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "what": "TokenPrior.sample throughput (visual tokens and clips per second), decode to pixels excluded; "
                "random weights; median after one warm-up",
        "runs": [],
    }
    tiny = TokenPrior(PriorConfig.tiny(), _spec(TINY_LAYOUT)).eval()
    for use_cache, guidance in ((True, 1.0), (False, 1.0), (True, 1.5)):
        print(f"[generation perf] tiny prior, cpu, kv_cache={use_cache}, guidance={guidance} ...", flush=True)
        run = measure(tiny, args.batch, args.repeats, use_cache=use_cache, guidance=guidance, device="cpu")
        record["runs"].append({"config": "tiny", "device": "cpu", "dtype": "float32", "params": tiny.num_params(),
                               "layout": TINY_LAYOUT.to_dict(), **run})
    cached = next(r for r in record["runs"] if r["kv_cache"] and r["guidance"] == 1.0)
    full = next(r for r in record["runs"] if not r["kv_cache"])
    record["tiny_kv_cache_speedup"] = full["seconds"] / cached["seconds"]

    with torch.device("meta"):
        paper_params = TokenPrior(PriorConfig.paper(), _spec(PAPER_LAYOUT)).num_params()
    paper = {"config": "paper", "params": paper_params, "layout": PAPER_LAYOUT.to_dict(), "dtype": "bfloat16",
             "kv_cache": True}
    if torch.cuda.is_available():
        print("[generation perf] paper prior, cuda, bf16, kv_cache ...", flush=True)
        model = TokenPrior(PriorConfig.paper(), _spec(PAPER_LAYOUT)).to("cuda", torch.bfloat16).eval()
        paper.update(measure(model, args.batch, args.repeats, use_cache=True, guidance=1.0, device="cuda",
                             autocast_dtype=torch.bfloat16), device="cuda")
        paper["peak_memory_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
        record["runs"].append(paper)
    else:
        paper["measured"] = False
        paper["reason"] = "not measured: no GPU on this machine (CUDA unavailable; the device tool lent none)"
        record["paper_config"] = paper
    record["load_average_after"] = os.getloadavg()[0]
    record["note"] = ("CPU timings on a 2-core machine shared with other jobs (load average in "
                      "'load_average_after'); they are indicative, not precise.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
