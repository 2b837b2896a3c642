"""The trainer's command line, configs and logs: clear errors, all four stages chained, per-step metrics.

One chained run (stage 0 -> 1 -> 2 -> 3, a couple of 32x32 steps each) through ``python -m pyratok.train``'s
``main``; a corrupt video in the CSV must be skipped and reported, never crash the run.
"""
from __future__ import annotations

import json
import math
import logging

import numpy as np
import pytest

from pyratok.config_utils import ConfigError
from pyratok.data.video import write_video
from pyratok.train.__main__ import main
from pyratok.train.config import TrainConfig, load_train_config
from pyratok.train.metrics_log import read_metrics

SMALL = {"base": "tiny",
         "data": {"resolutions": [32], "frames": [5], "batch_size": 1, "num_workers": 0, "val_resolution": 32,
                  "val_frames": 5, "val_batches": 1},
         "stage3": {"resolutions": [32]}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_data")
    rng = np.random.default_rng(0)
    rows = ["path,caption"]
    for i in range(3):
        base = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
        write_video(root / f"v{i}.mp4", np.stack([np.roll(base, t, axis=0) for t in range(8)]), fps=8)
        rows.append(f"v{i}.mp4,a texture {i} moves down")
    (root / "broken.mp4").write_bytes(b"\x00" * 100)
    rows.append("broken.mp4,a broken file")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    cfg = root / "small.json"
    cfg.write_text(json.dumps(SMALL))
    return root, cfg


def test_bad_config_key_names_key_and_valid_keys(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"base": "tiny", "stage1": {"lrr": 1.0}}))
    assert main(["--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "lrr" in err and "grad_accum" in err and "bad.json" in err
    with pytest.raises(ConfigError, match="modee"):
        t = TrainConfig.tiny()
        t.model_overrides = {"lapq": {"modee": "single"}}
        t.model_config()
    with pytest.raises(ConfigError, match="unknown train config"):
        load_train_config("nonexistent-name")


def test_model_overrides_and_stage_data():
    t = TrainConfig.tiny()
    t.model_overrides = {"lapq": {"mode": "single"}}
    assert t.model_config().lapq.mode == "single"
    assert TrainConfig.paper().stage_data(3).batch_size == 2 and TrainConfig.paper().stage_data(1).batch_size == 4
    assert TrainConfig.paper().stage1.disabled_losses == ["ar"] and TrainConfig.paper().stage2.disabled_losses == []
    assert [TrainConfig.paper().stage(n).steps for n in (1, 2, 3)] == [30_000, 60_000, 180_000]
    with pytest.raises(ConfigError, match="1 \\+ 4k"):
        load_train_config_from({"base": "tiny", "data": {"frames": [8]}})


def load_train_config_from(d, tmp=None):
    import tempfile
    from pathlib import Path
    p = Path(tempfile.mkdtemp()) / "c.json"
    p.write_text(json.dumps(d))
    return load_train_config(p)


def test_missing_data_is_a_clear_error(tmp_path, data, capsys):
    _, cfg = data
    assert main(["--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "no training data" in capsys.readouterr().err
    assert main(["--config", str(cfg), "--out", str(tmp_path / "o"), "--data", str(tmp_path / "nope.csv"),
                 "--video-root", str(tmp_path)]) == 2
    assert "training CSV not found" in capsys.readouterr().err
    # the paper config starts from the pretrained Wan 2.2 VAE: without its path nothing may train on a random VAE
    assert main(["--config", "paper", "--out", str(tmp_path / "p"), "--data", str(data[0] / "pairs.csv"),
                 "--video-root", str(data[0])]) == 2
    assert "no pretrained VAE" in capsys.readouterr().err


def test_chained_stages_logs_and_failures(tmp_path, data, caplog):
    root, cfg = data
    out = tmp_path / "run"
    common = ["--config", str(cfg), "--out", str(out), "--data", str(root / "pairs.csv"), "--video-root", str(root),
              "--val-data", str(root / "pairs.csv"), "--no-progress"]
    with caplog.at_level(logging.INFO):
        assert main(common + ["--stage", "0", "--stage", "1", "--stage", "2", "--stage", "3", "--steps", "2"]) == 0
    # the broken file: skipped, logged with its path and reason, listed in failures.jsonl
    fails = [json.loads(ln) for ln in (out / "failures.jsonl").read_text().splitlines()]
    assert any(f["file"].endswith("broken.mp4") and f["reason"] for f in fails)
    assert any("broken.mp4" in r.getMessage() for r in caplog.records)
    assert any("frame-retention term on" in r.getMessage() and "un-adapted VAE" in r.getMessage()
               for r in caplog.records)  # stage 3, scored by the default reference

    s0, s1, s2 = (read_metrics(out / f"stage{n}") for n in (0, 1, 2))
    assert {"loss", "l1", "ssim", "kl", "psnr", "lr", "grad_norm", "steps_per_s"} <= set(s0[0])
    for key in ("recon", "recon/l1", "recon/ssim", "codebook", "codebook/commitment", "codebook/entropy",
                "codebook/hierarchical", "codebook/text_alignment", "codebook/text_codebook", "drift", "psnr",
                "utilization/level1", "entropy/per_sample/level1", "entropy/codebook/level4"):
        assert key in s1[0], key
    assert "ar" not in s1[0] and "ar" in s2[0]  # L_AR arrives in stage 2
    assert s2[-1]["val/ar_nll"] > 0 and s2[-1]["val/ar_uniform"] == pytest.approx(16 * math.log(2))
    assert "val/ar_nll" not in s1[-1]  # no L_AR in stage 1
    s3 = read_metrics(out / "stage3")
    assert "retention" in s3[0] and "retention" not in s2[0]
    assert "val/psnr" in s1[-1] and s1[-1]["step"] == 2
    assert list((out / "stage1" / "tb").glob("events.out.tfevents.*"))
    for n in range(4):
        assert (out / f"stage{n}" / "final").is_dir() and (out / f"stage{n}" / "summary.json").is_file()

    # again without --resume: refuses to overwrite; with --resume: finished stages are skipped
    assert main(common + ["--stage", "1", "--steps", "2"]) == 2
    assert main(common + ["--stage", "1", "--steps", "2", "--resume"]) == 0
    assert len(read_metrics(out / "stage1")) == len(s1)
