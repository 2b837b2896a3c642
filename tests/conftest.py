"""Shared test fixtures.

``realdata``: the real sample files of ``../shared/realdata`` (or ``$PYRATOK_REALDATA``). They are not part of the
repository; tests that need them skip with the reason when they are absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def realdata_root() -> Path:
    return Path(os.environ.get("PYRATOK_REALDATA", REPO_ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    root = realdata_root()
    if not root.is_dir():
        pytest.skip(f"real sample data not found at {root} (set PYRATOK_REALDATA)")
    return root


@pytest.fixture(autouse=True)
def _seed_and_threads():
    # Tests run on 2-core CI machines; deterministic seeds keep statistical tests reproducible.
    torch.manual_seed(0)
    yield
