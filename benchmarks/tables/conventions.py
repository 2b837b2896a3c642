"""Notes every table of a kind carries: the metric conventions of the reconstruction tables and what the
reference rows of each kind of table are (so a pasted table keeps them)."""

__all__ = ["RECON_CONVENTIONS", "IMAGE_REFERENCES", "ZERO_SHOT_REFERENCES", "GENERATION_FLOOR"]

RECON_CONVENTIONS = (
    "Conventions: values in [-1, 1] at the tokenizer, metrics on RGB mapped to [0, 1] with the reconstruction "
    "clamped. PSNR = the mean of per-frame PSNRs (each over a frame's pixels and RGB channels, MSE floored at "
    "1e-12), then the mean over clips (records of protocol >= 1.1 for reconstruction, >= 2 for compression; "
    "earlier records hold the per-clip-MSE PSNR); the per-clip-MSE variant is recorded beside it as metric "
    "psnr_clip_mse (equal on single images). SSIM: Gaussian window (11 taps, sigma 1.5; K1 0.01, K2 0.03, data "
    "range 1), per RGB channel over the valid window positions, averaged over channels, per frame, then over frames "
    "and clips. LPIPS: AlexNet, per frame on [-1, 1] - unavailable here because its ImageNet weights cannot be "
    "downloaded (offline); never substituted. Each record's extra.conventions repeats this.",
)

IMAGE_REFERENCES = (
    "References (same code, same data): Grey = every pixel mid-grey (0 bits); Mean colour = each clip's mean RGB "
    "colour at 8 bits per channel (24 bits per clip); Bicubic = each frame bicubic-downsampled to the largest 8-bit "
    "RGB grid within tiny PyraTok's bits per pixel at the clip's geometry and upsampled back (adapters.references). "
    "A tokenizer row that does not beat them beyond noise has not shown it reconstructs better than a trivial "
    "method.",
)

ZERO_SHOT_REFERENCES = (
    "References (same code, same data): the random-feature null = ref-random-features (seeded standard-normal "
    "features and text embeddings of the same shapes) scored by the same benchmark code, mean / 95th percentile "
    "over 20 seeds (0..19); Chance = the analytic expected score of a uniform random guesser "
    "(benchmarks.metrics.chance; top-k: min(k, C) / C; multiple choice: mean of 1 / options). Detection / mask mAP "
    "has no analytic chance: its floor is the null.",
)

GENERATION_FLOOR = (
    "No reference row yet: the real-vs-real FVD floor (two disjoint real sets of the same size) and the FVD of "
    "temporally shuffled real clips are not computed by this harness yet. At a few clips per set FVD is dominated "
    "by the sample size, so a measured FVD here cannot be read as close to or far from real data.",
)
