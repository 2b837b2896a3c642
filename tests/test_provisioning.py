"""benchmarks.provisioning: what the embedded default trains and writes here, and how it is keyed.

References: hand-made source trees (an edit to a file must change the key, an edit elsewhere must not), the
adapters' own refusal to train, and a tiny diffusers VAE trained for two steps on random clips. Nothing here trains
a PyraTok (that costs minutes); ``provide`` is checked on the decisions it makes and with a fake trainer.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import benchmarks.provisioning as provisioning
from adapters.diffusers_vae import TINY_FRAMES, build
from benchmarks.provisioning import artifacts, digest, pyratok_variants
from benchmarks.provisioning.artifacts import artifact_key, trained_artifact
from benchmarks.provisioning.tiny_vae import init_logvar, load_training_clips, tiny_recipe, train_tiny_vae
from tokenizer_contract import smooth_clip

ARCHS = ("wan2.1", "wan2.2", "cogvideox", "mochi", "svd")
FRAMES = {"wan2.1": 9, "wan2.2": 9, "cogvideox": 9, "mochi": 7, "svd": 9}


# ------------------------------------------------------------------------------------------------ code digests
def _tree(root, files: dict):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_editing_the_training_code_changes_the_artifact_key(tmp_path):
    """The key follows the source named in the digest's source list: an edit to a listed file (also one in a
    subfolder) changes it, undoing the edit restores it, a file outside the list does not matter."""
    model = _tree(tmp_path / "a", {"model.py": "def f():\n    return 1\n", "train/loop.py": "STEPS = 3\n"})
    recipe = {"recipe": "pyratok-tiny", "seed": 0}
    key = artifact_key(recipe, [str(model)])
    assert artifact_key(recipe, [str(model)]) == key
    (tmp_path / "outside.py").write_text("x = 1\n")
    assert artifact_key(recipe, [str(model)]) == key
    (model / "model.py").write_text("def f():\n    return 2\n")
    assert artifact_key(recipe, [str(model)]) != key
    (model / "model.py").write_text("def f():\n    return 1\n")
    assert artifact_key(recipe, [str(model)]) == key
    (model / "train" / "loop.py").write_text("STEPS = 4\n")
    assert artifact_key(recipe, [str(model)]) != key
    assert artifact_key({**recipe, "seed": 1}, [str(model)]) != artifact_key(recipe, [str(model)])


def test_module_digests_do_not_depend_on_the_checkout_location(tmp_path):
    """Module entries are labelled by module name, so the same code in two checkouts gives one key."""
    import importlib
    import sys

    digests = []
    for where in ("one", "two"):
        _tree(tmp_path / where, {"prov_probe_pkg/__init__.py": "", "prov_probe_pkg/model.py": "A = 1\n"})
        sys.path.insert(0, str(tmp_path / where))
        importlib.invalidate_caches()
        try:
            files = digest.source_files(["prov_probe_pkg"])
            assert len(files) == 2 and all(str(tmp_path / where) in str(f) for f in files)
            digests.append(digest.source_digest(["prov_probe_pkg"]))
        finally:
            sys.path.remove(str(tmp_path / where))
    assert digests[0] == digests[1]


def test_the_pyratok_variants_key_on_the_model_package(tmp_path, monkeypatch):
    """TRAINING_SOURCES covers pyratok/model.py: simulate an edit by pointing the source list at a copy of the
    package and changing the copy's model.py; the artifact trained_artifact would build moves to a new folder."""
    import shutil

    import pyratok

    assert "pyratok" in pyratok_variants.TRAINING_SOURCES
    files = digest.source_files(["pyratok"])
    assert any(p.name == "model.py" and p.parent.name == "pyratok" for p in files)
    pkg = tmp_path / "pyratok"
    shutil.copytree(pyratok.__path__[0], pkg, ignore=shutil.ignore_patterns("__pycache__"))
    sources = [str(pkg), "benchmarks.provisioning.recipes"]
    recipe = {"recipe": "pyratok-tiny", "model_overrides": {}, "seed": 0}
    built = []

    def build_(folder):
        built.append(folder)
        (folder / "weights").write_text("w")

    first = trained_artifact("pyratok-tiny", recipe, build_, sources, log=None, root=tmp_path / "cache")
    again = trained_artifact("pyratok-tiny", recipe, build_, sources, log=None, root=tmp_path / "cache")
    assert first == again and len(built) == 1       # cached: built once
    with open(pkg / "model.py", "a") as f:
        f.write("\n# an edit to the model\n")
    edited = trained_artifact("pyratok-tiny", recipe, build_, sources, log=None, root=tmp_path / "cache")
    assert edited != first and len(built) == 2
    saved = json.loads((edited / "recipe.json").read_text())
    assert saved["code"]["sources"] == sources and saved["code"]["digest"] == digest.source_digest(sources)


def test_source_digest_names_a_missing_module():
    with pytest.raises(ValueError, match="no_such_module_xyz"):
        digest.source_digest(["no_such_module_xyz"])


def test_recipe_versions_are_gone():
    """Nothing hand-bumped is left to forget: the recipes carry the code digest instead."""
    import adapters.diffusers_vae as dv
    import adapters.pyratok_tokenizer as pt

    assert not hasattr(pt, "RECIPE_VERSION") and not hasattr(dv, "RECIPE_VERSION")
    recipe, _ = pyratok_variants.stage0_recipe(__import__("pathlib").Path("/data/webvid"))
    assert "version" not in recipe
    assert "code" in artifacts.keyed_recipe(recipe, pyratok_variants.TRAINING_SOURCES)


# ------------------------------------------------------------------------------------------------ provide
@pytest.mark.parametrize("name, options, needed", [
    ("pyratok-tiny", {}, True),
    ("pyratok-tiny-wo-lapq", {"ablation": "wo-lapq"}, True),
    ("pyratok-tiny", {"init": "random"}, False),
    ("pyratok-tiny", {"checkpoint": "/ckpt"}, False),
    ("pyratok", {}, False),                       # a user's checkpoint, never trained here
    ("quant-vq", {"quantizer": "vq"}, True),
    ("wan2.2-vae", {"arch": "wan2.2"}, True),
    ("wan2.2-vae", {"arch": "wan2.2", "path": "/models/wan"}, False),
    ("h264", {"codec": "libx264"}, False),
    ("no-such-tokenizer", {}, False),
])
def test_which_builds_need_a_trained_here_checkpoint(name, options, needed):
    assert provisioning.needs_training(name, options) is needed
    if not needed:
        assert provisioning.provide(name, options) == options


def test_provide_hands_the_adapter_the_trained_folder(monkeypatch, tmp_path):
    calls = []

    def fake_variant(kind, overrides, log=print):
        calls.append((kind, overrides))
        return tmp_path / kind

    monkeypatch.setattr(pyratok_variants, "train_tiny_variant", fake_variant)
    options = {"ablation": "wo-lapq"}
    got = provisioning.provide("pyratok-tiny-wo-lapq", options)
    assert got == {"ablation": "wo-lapq", "checkpoint": str(tmp_path / "pyratok-tiny-wo-lapq"),
                   "origin": "trained-here"}
    assert options == {"ablation": "wo-lapq"}                       # not mutated
    got = provisioning.provide("quant-lfq", {"quantizer": "lfq"})
    # single-scale LFQ is Table 6's w/o-LaPQ model: the same artifact, one training
    assert calls[-1] == ("pyratok-tiny-wo-lapq", {"lapq": {"mode": "single"}})
    assert got["checkpoint"] == str(tmp_path / "pyratok-tiny-wo-lapq")
    with pytest.raises(ValueError, match="unknown ablation"):
        provisioning.provide("pyratok-tiny", {"ablation": "wo-everything"})


@pytest.mark.parametrize("name", ["pyratok-tiny", "quant-vq", "wan2.2-vae"])
def test_adapters_never_train(name):
    """Without a checkpoint an adapter refuses and names the seam, instead of training on its own."""
    from adapters import build_tokenizer

    with pytest.raises(ValueError, match="benchmarks.provisioning"):
        build_tokenizer(name)


# ------------------------------------------------------------------------------------------------ tiny VAEs
@pytest.mark.parametrize("arch", ARCHS)
def test_logvar_init_makes_posterior_nearly_deterministic(arch):
    from adapters.diffusers_vae import tiny_config, vae_class

    torch.manual_seed(0)
    vae = vae_class(arch)(**tiny_config(arch))
    video = smooth_clip(FRAMES[arch], size=32)
    x = video if arch != "svd" else video[:, :, 0]
    with torch.no_grad():
        before = vae.encode(x).latent_dist.logvar.mean()
    init_logvar(vae, arch, x, -8.0)
    with torch.no_grad():
        after = vae.encode(x).latent_dist.logvar.mean()
    assert abs(float(before)) < 2.0
    assert abs(float(after) + 8.0) < 0.5


def test_training_loop_smoke(tmp_path):
    """Two optimizer steps on random 32x32 clips: the loop runs, the weights move, the folder loads back as a
    trained-here tokenizer."""
    clips = torch.randint(0, 256, (3, 11, 32, 32, 3), dtype=torch.uint8)
    recipe = tiny_recipe("wan2.2", steps=2, size=32, log_every=1)
    torch.manual_seed(0)
    init = build(arch="wan2.2", init="random", seed=recipe.seed)
    vae = train_tiny_vae(recipe, clips, tmp_path, log=None)
    moved = [not torch.equal(p, q) for p, q in zip(init.module.parameters(), vae.parameters())]
    assert any(moved)
    log = json.loads((tmp_path / "train_log.json").read_text())
    assert [h["step"] for h in log["history"]] == [0, 1] and np.isfinite(log["history"][-1]["loss"])
    tok = build(arch="wan2.2", path=str(tmp_path), origin="trained-here")
    assert tok.checkpoint.origin == "trained-here" and tok.native_resolution == (TINY_FRAMES["wan2.2"], 64, 64)
    assert tok.config()["init"] == "trained" and not tok.memory_saving
    torch.testing.assert_close(next(tok.module.parameters()), next(vae.parameters()))
    real = build(arch="wan2.2", path=str(tmp_path))      # the same folder as a user's weights
    assert real.checkpoint.origin == "local-weights" and real.memory_saving
    with pytest.raises(ValueError, match="do not fit the recipe"):
        train_tiny_vae(tiny_recipe("wan2.2", steps=1), clips, None, log=None)


def test_training_clips_skip_corrupt_videos(tmp_path):
    from pyratok.data.video import write_video

    root = tmp_path / "webvid"
    (root / "videos" / "p").mkdir(parents=True)
    frames = (np.random.default_rng(0).random((12, 48, 64, 3)) * 255).astype(np.uint8)
    write_video(root / "videos" / "p" / "1.mp4", frames, fps=8)
    (root / "videos" / "p" / "2.mp4").write_bytes(b"garbage")
    (root / "results_10M_train.csv").write_text("videoid,page_dir,name\n1,p,a clip\n2,p,a broken clip\n")
    seen = []
    clips = load_training_clips(root, "train", size=32, log=seen.append)
    assert clips.shape == (1, 12, 32, 32, 3) and clips.dtype == torch.uint8
    assert len(seen) == 1 and "2.mp4" in seen[0]
    (root / "results_10M_val.csv").write_text("videoid,page_dir,name\n2,p,a broken clip\n")
    with pytest.raises(RuntimeError, match="no video"):
        load_training_clips(root, "val", size=32, log=None)


# ------------------------------------------------------------------------------------------------ shipped VAE
def test_shipped_vae_is_used_unless_retraining_is_asked(monkeypatch):
    from pathlib import Path

    from pyratok.checkpoints import RETRAIN_ENV, checkpoint_dir
    from pyratok.train.config import TINY_STAGE0_STEPS

    monkeypatch.delenv(RETRAIN_ENV, raising=False)
    assert pyratok_variants.tiny_vae_dir(log=None) == checkpoint_dir("tiny-wan-vae")
    calls = []

    def fake_artifact(kind, recipe, build, sources, log=None):
        calls.append((kind, recipe))
        return Path("/nowhere")

    monkeypatch.setattr(pyratok_variants, "trained_artifact", fake_artifact)
    monkeypatch.setattr(pyratok_variants, "default_training_data", lambda: Path("/d/synthetic-x/data-seed0/webvid"))
    monkeypatch.setenv(RETRAIN_ENV, "1")
    assert pyratok_variants.tiny_vae_dir(log=None) == Path("/nowhere/work/stage0/final")
    (kind, recipe), = calls
    assert kind == "tiny-vae" and recipe["stage0"]["steps"] == TINY_STAGE0_STEPS
    assert recipe["data"]["train_csv"].endswith("stage0-synthetic-x/stage0_train.csv")


def test_retrain_flag_reaches_the_run_config_and_the_workers(monkeypatch):
    from benchmarks.configs import load_config, run_config
    from benchmarks.engine.backends import _worker_env
    from benchmarks.run import _overrides, _parser
    from pyratok.checkpoints import RETRAIN_ENV

    over = _overrides(_parser().parse_args(["--retrain-checkpoints"]))
    assert over["retrain_checkpoints"] is True
    assert run_config(load_config(None, over)).retrain_checkpoints is True
    assert run_config(load_config(None, {})).retrain_checkpoints is False
    monkeypatch.setenv(RETRAIN_ENV, "1")
    assert _worker_env()[RETRAIN_ENV] == "1"
