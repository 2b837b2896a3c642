"""Columns several tables share."""
from benchmarks.tables.spec import Column

__all__ = ["recon_columns"]


def recon_columns(identity: tuple[Column, ...] = ()) -> tuple[Column, ...]:
    cols = []
    for bench, paper_bench, short in (("coco-recon", "COCO-Val", "COCO"), ("webvid-recon", "WebVid-10M", "WebVid")):
        cols += [Column(f"{short} PSNR", bench, "psnr", paper_bench, "PSNR", "{:.2f}"),
                 Column(f"{short} SSIM", bench, "ssim", paper_bench, "SSIM", "{:.3f}"),
                 Column(f"{short} LPIPS", bench, "lpips", paper_bench, "LPIPS", "{:.3f}")]
    return tuple(identity) + tuple(cols)
