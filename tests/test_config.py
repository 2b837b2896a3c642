"""Configuration as data: strict keys with clear errors, JSON round trip."""
import json

import pytest

from pyratok.config_utils import ConfigError, from_dict, load_json
from pyratok.losses import LossConfig


def test_unknown_key_names_key_and_valid_keys():
    with pytest.raises(ConfigError) as err:
        from_dict(LossConfig, {"recon": 1.0, "reconn": 2.0})
    msg = str(err.value)
    assert "reconn" in msg and "recon" in msg and "drift" in msg


def test_unknown_disabled_term():
    with pytest.raises(ConfigError, match="unknown term"):
        LossConfig(disabled=["nope"])


def test_load_json_names_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        load_json(LossConfig, p)
    p.write_text(json.dumps({"drift": 0.0, "disabled": ["ar"]}))
    cfg = load_json(LossConfig, p)
    assert cfg.drift == 0.0 and not cfg.on("drift") and not cfg.on("ar") and cfg.on("recon")


def test_reference_and_text_target_are_model_configuration(tmp_path):
    from pyratok.model import PyraTokConfig
    from pyratok.train.config import TrainConfig

    cfg = PyraTokConfig.from_dict({"reference": {"kind": "hf", "path": "/models/dinov3"}})
    assert (cfg.reference.kind, cfg.reference.path) == ("hf", "/models/dinov3")
    assert PyraTokConfig.tiny().reference.kind == "vae"  # default: the un-adapted VAE encoder
    with pytest.raises(ConfigError, match="reference.kind"):
        PyraTokConfig.from_dict({"reference": {"kind": "clip"}})
    with pytest.raises(ConfigError, match="target_sed"):
        PyraTokConfig.from_dict({"text": {"target_sed": 1}})
    tiny = TrainConfig.tiny()
    assert tiny.stage2.steps >= 300 and tiny.deterministic  # L_AR gets a real budget
    assert tiny.stage3.retention_weight == pytest.approx(0.6) and tiny.stage1.retention_weight == 0
    # stage3.dino_path moved to the model's reference configuration: the old key is rejected by name
    p = tmp_path / "old.json"
    p.write_text(json.dumps({"base": "tiny", "stage3": {"dino_path": "/models/dino"}}))
    from pyratok.train.config import load_train_config

    with pytest.raises(ConfigError, match="dino_path"):
        load_train_config(p)
