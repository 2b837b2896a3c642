"""The checkpoints shipped in ``pyratok/checkpoints``: present, within the size budget, documented, and still
measuring what their PROVENANCE.json says (re-measured here with scikit-image's PSNR on the same clips)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from pyratok.checkpoints import CHECKPOINTS, MAX_TOTAL_BYTES, ROOT, checkpoint_dir, provenance

REQUIRED = ("command", "train_config", "seed", "data", "code", "versions", "measured", "measured_protocol",
            "train_seconds")


def test_every_checkpoint_is_shipped_within_budget():
    total = 0
    for name in CHECKPOINTS:
        d = checkpoint_dir(name)
        assert (d / "training_log.jsonl").stat().st_size > 0
        total += sum(p.stat().st_size for p in d.iterdir() if p.is_file())
    assert total <= MAX_TOTAL_BYTES, f"shipped checkpoints take {total / 2**20:.1f} MB > 25 MB"


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_provenance_is_complete(name):
    prov = provenance(name)
    missing = [k for k in REQUIRED if k not in prov]
    assert not missing, f"{name}: PROVENANCE.json lacks {missing}"
    assert prov["data"]["stage0_data_digest"] and prov["code"]["digest"]
    assert set(prov["data"]["real_train_clips"]).isdisjoint(prov["data"]["real_held_out_clips"])
    assert "/root/" not in (ROOT / name / "PROVENANCE.json").read_text()  # portable paths only


def test_unknown_checkpoint_names_the_shipped_ones():
    with pytest.raises(KeyError, match="tiny-wan-vae"):
        checkpoint_dir("tiny-wan-vea")


def _skimage_psnr(recon: torch.Tensor, video: torch.Tensor) -> float:
    """PSNR per frame on [0, 1] by scikit-image, mean over frames; tensors (3, T, H, W) in [-1, 1]."""
    x = ((video.numpy() + 1) / 2).astype(np.float64)
    y = ((recon.clamp(-1, 1).numpy() + 1) / 2).astype(np.float64)
    return float(np.mean([peak_signal_noise_ratio(x[:, t], y[:, t], data_range=1.0) for t in range(x.shape[1])]))


@pytest.fixture(scope="module")
def fixed_clips():
    from benchmarks.provisioning.training_data import default_training_data
    from benchmarks.tools.ci_gate import real_clips, synthetic_clips

    prov = provenance("tiny-wan-vae")
    n = len(prov["measured"]["synthetic_val"]["psnr"])
    real, failed = real_clips(names=tuple(prov["data"]["real_held_out_clips"]))
    if failed:
        pytest.skip(f"real sample clips unavailable: {failed[0]['reason']}")
    return {"synthetic_val": synthetic_clips(default_training_data())[:n], "real_held_out": real}


@pytest.mark.slow
def test_tiny_vae_remeasures_as_recorded(fixed_clips):
    from diffusers import AutoencoderKLWan

    prov = provenance("tiny-wan-vae")
    vae = AutoencoderKLWan.from_pretrained(str(checkpoint_dir("tiny-wan-vae"))).eval()
    for split, clips in fixed_clips.items():
        rec = prov["measured"][split]
        assert [Path(c[2]).name for c in clips] == [Path(f).name for f in rec["files"]], split
        with torch.no_grad():
            ours = [_skimage_psnr(vae.decode(vae.encode(c[0][None]).latent_dist.mode()).sample[0], c[0])
                    for c in clips]
        mean_col = [_skimage_psnr(c[0].mean(dim=(1, 2, 3), keepdim=True).expand_as(c[0]), c[0]) for c in clips]
        # the same clips (their mean-colour PSNR is a fingerprint of the pixels) ...
        np.testing.assert_allclose(mean_col, rec["mean_colour_psnr"], atol=1e-3, err_msg=split)
        # ... reconstruct as recorded (CPU float summation order may differ slightly across machines)
        np.testing.assert_allclose(ours, rec["psnr"], atol=0.05, err_msg=split)
        # and the VAE is a working codec on data it never trained on: above the per-clip mean colour
        assert np.mean(ours) > np.mean(mean_col) + 1.0, (split, np.mean(ours), np.mean(mean_col))
