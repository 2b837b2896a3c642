"""Figures 10 (reconstruction vs codebook size) and 29 (codebook utilisation vs input resolution) from the
records of the ``codebook-size`` and ``codebook-utilization`` benchmarks (:mod:`benchmarks.tasks.codebook`)."""
from __future__ import annotations

import math
import re
from pathlib import Path

__all__ = ["plot_figure10", "plot_figure29"]

CODEBOOK_SIZE = "codebook-size"
CODEBOOK_UTILIZATION = "codebook-utilization"


def _origin_label(records: list[dict]) -> str:
    origins = sorted({str(r.get("data_origin") or "unknown") for r in records})
    return f"measured here ({', '.join(origins)})"


def _tok_label(name: str, records: list[dict]) -> str:
    ck = {r.get("checkpoint_origin") for r in records if r.get("tokenizer") == name}
    return f"{name} (random init: untrained)" if "random-init" in ck else name


def _by_tokenizer(records: list[dict], benchmark: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in records:
        if r.get("benchmark") == benchmark and r.get("value") is not None:
            out.setdefault(r["tokenizer"], {})[r["metric"]] = float(r["value"])
    return out


def plot_figure10(records: list[dict], out_png: str | Path) -> Path:
    """Figure 10 from result records: PSNR, SSIM (and LPIPS where measured) against the codebook size (log2 axis),
    one point per tokenizer of the ``codebook-size`` benchmark. Raises ValueError when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if r.get("benchmark") == CODEBOOK_SIZE]
    data = {t: m for t, m in _by_tokenizer(recs, CODEBOOK_SIZE).items() if "vocab" in m}
    if not data:
        raise ValueError("plot_figure10: no codebook-size records with a vocab value")
    metrics = [m for m in ("psnr", "ssim", "lpips", "utilization") if any(m in v for v in data.values())]
    names = {"psnr": "PSNR (dB)", "ssim": "SSIM", "lpips": "LPIPS", "utilization": "codebook utilisation (%)"}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    order = sorted(data, key=lambda t: data[t]["vocab"])
    for ax, m in zip(axes[0], metrics):
        pts = [(math.log2(data[t]["vocab"]), data[t][m] * (100 if m == "utilization" else 1), t)
               for t in order if m in data[t]]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=_origin_label(recs))
        for x, y, t in pts:
            ax.annotate(_tok_label(t, recs), (x, y), textcoords="offset points", xytext=(3, 4), fontsize=7)
        ax.set_xlabel("codebook size (log2 codes, K bits)")
        ax.margins(x=0.2)
        ax.set_ylabel(names[m])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Figure 10: codebook size vs reconstruction — {_origin_label(recs)}; "
                 "the paper prints no values for this figure", fontsize=9)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return out_png


def _paper_figure29() -> list[tuple[int, float, str]]:
    """(resolution p, value %, kind) from the leaderboard: exact values and the text's lower bounds."""
    from benchmarks.leaderboards import load_leaderboard

    out = []
    for _, row in load_leaderboard("figure29").iterrows():
        m = re.search(r"resolution=(\d+)p", row["setting"])
        if not m:
            continue
        if row["value"] == row["value"]:  # not NaN
            out.append((int(m.group(1)), float(row["value"]), "value"))
        else:
            b = re.search(r"(\d+(?:\.\d+)?)\s*%", row["printed"])
            if b:
                out.append((int(m.group(1)), float(b.group(1)), "lower bound"))
    return out


def _resolution_axis(ax, ticks: list[int]) -> None:
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log", base=2)
    if ticks:
        ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_figure29(records: list[dict], out_png: str | Path, paper: bool = True) -> Path:
    """Figure 29 from result records: pooled utilisation (%) against input resolution per tokenizer, with the
    ceiling min(tokens, vocab)/vocab dashed; beside it (``paper=True``) the values the paper's text states
    (240p..4320p, a different model and scale: a separate panel, never the same axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if r.get("benchmark") == CODEBOOK_UTILIZATION]
    data = _by_tokenizer(recs, CODEBOOK_UTILIZATION)
    series = {}
    for tok, ms in data.items():
        pts = sorted((int(m.group(1)), v) for k, v in ms.items() if (m := re.fullmatch(r"utilization@(\d+)", k)))
        caps = sorted((int(m.group(1)), v) for k, v in ms.items()
                      if (m := re.fullmatch(r"max_utilization@(\d+)", k)))
        if pts:
            series[tok] = (pts, caps)
    if not series:
        raise ValueError("plot_figure29: no codebook-utilization records with utilization@<resolution> values")
    fig, axes = plt.subplots(1, 2 if paper else 1, figsize=(9.5 if paper else 5, 3.8), squeeze=False)
    ax = axes[0][0]
    for tok, (pts, caps) in series.items():
        line, = ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], "o-",
                        label=f"{_tok_label(tok, recs)}: used")
        if caps:
            ax.plot([c[0] for c in caps], [100 * c[1] for c in caps], "--", color=line.get_color(),
                    label=f"{tok}: max possible (tokens / vocab)")
    _resolution_axis(ax, sorted({p[0] for pts, _ in series.values() for p in pts}))
    ax.set_xlabel("input resolution (px, square centre crop)")
    ax.set_ylabel("codebook utilisation (%)")
    ax.set_title(_origin_label(recs), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if paper:
        pax = axes[0][1]
        pts = _paper_figure29()
        vals = [p for p in pts if p[2] == "value"]
        lows = [p for p in pts if p[2] == "lower bound"]
        if vals:
            pax.plot([p[0] for p in vals], [p[1] for p in vals], "s", label="paper: stated value")
        if lows:
            pax.plot([p[0] for p in lows], [p[1] for p in lows], "^", label="paper: stated lower bound")
        _resolution_axis(pax, sorted({p[0] for p in pts}))
        pax.set_xlabel("input resolution (p)")
        pax.set_ylabel("codebook utilisation (%)")
        pax.set_title("paper (App. C.4 text; full model)", fontsize=9)
        pax.grid(alpha=0.3)
        pax.legend(fontsize=7)
    fig.suptitle("Figure 29: codebook utilisation vs input resolution", fontsize=10)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return out_png
