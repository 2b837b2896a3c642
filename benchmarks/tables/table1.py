"""Table 1: reconstruction quality (WebVid-10M, COCO-Val) with parameters and latency."""
from benchmarks.matrix import measured_rows
from benchmarks.tables.conventions import IMAGE_REFERENCES, RECON_CONVENTIONS
from benchmarks.tables.spec import Column, PaperRow, TableSpec

__all__ = ["SPECS"]

COLUMNS = (Column("Params (M)", "tokenizer-efficiency", "params", None, "params", "{:.2f}", 1e-6),
           Column("Latency (ms)", "tokenizer-efficiency", "latency_ms", None, "latency", "{:.0f}"),
           Column("WebVid PSNR", "webvid-recon", "psnr", "WebVid-10M", "PSNR"),
           Column("WebVid SSIM", "webvid-recon", "ssim", "WebVid-10M", "SSIM", "{:.3f}"),
           Column("WebVid LPIPS", "webvid-recon", "lpips", "WebVid-10M", "LPIPS", "{:.3f}"),
           Column("COCO PSNR", "coco-recon", "psnr", "COCO-Val", "PSNR"),
           Column("COCO SSIM", "coco-recon", "ssim", "COCO-Val", "SSIM", "{:.3f}"),
           Column("COCO LPIPS", "coco-recon", "lpips", "COCO-Val", "LPIPS", "{:.3f}"))
PAPER = tuple(PaperRow(m) for m in ("CogVideoX", "3D-MBQ-VAE", "WAN 2.2", "OmniTokenizer", "LARP", "TokenFlow",
                                    "VideoVae+", "TexTok", "LG-VQ", "TokLIP", "SweetTok", "PyraTok"))
NOTES = ("Measured rows: tiny models trained here for minutes on synthetic data (the trained-here checkpoints), "
         "evaluated on the embedded default data (synthetic WebVid-format clips, 17x64x64; 79 real COCO val2017 "
         "sample images at 64x64). They check the pipeline, not the paper's claims; paper rows are the paper's "
         "own numbers at full scale.",
         "Latency: encode+decode of one 25x256x256 clip on this machine's CPU (one thread), not the paper's V100.",
         ) + RECON_CONVENTIONS + IMAGE_REFERENCES

SPECS = [TableSpec("table1", "Table 1: Reconstruction quality", "table1_reconstruction.csv", COLUMNS,
                   measured_rows("table1"), PAPER, NOTES)]
