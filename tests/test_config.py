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
