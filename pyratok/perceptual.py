"""LPIPS, only with its real ImageNet backbone.

LPIPS is defined on ImageNet-pretrained AlexNet/VGG features plus learned linear heads (the heads ship inside the
``lpips`` package; the backbone weights come from torchvision's download cache). Offline, the backbone is available
only if its file is already in torch's hub cache (``$TORCH_HOME/hub/checkpoints``) or given by
``$PYRATOK_LPIPS_BACKBONE``. When it is missing, LPIPS is *unavailable*: callers get ``None`` and the reason, emit one
warning, and report the metric as unavailable. A randomly initialised network is never called LPIPS.
"""
from __future__ import annotations

import os
import shutil
import warnings
from functools import lru_cache
from pathlib import Path

import torch

# torchvision's file names for the ImageNet weights that lpips' backbones load
_BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def _find_backbone(net: str) -> Path | None:
    env = os.environ.get("PYRATOK_LPIPS_BACKBONE")
    if env and Path(env).is_file():
        return Path(env)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / _BACKBONE_FILES[net]
    return cached if cached.is_file() else None


@lru_cache(maxsize=4)
def lpips_status(net: str = "alex") -> tuple[bool, str]:
    """(available, reason). Cheap; does not build the network."""
    try:
        import lpips  # noqa: F401
    except ImportError as err:  # pragma: no cover - dependency is declared
        return False, f"package 'lpips' not importable: {err}"
    if _find_backbone(net) is None:
        return False, (f"LPIPS needs torchvision's ImageNet {net} weights ({_BACKBONE_FILES[net]}) in "
                       f"{Path(torch.hub.get_dir()) / 'checkpoints'} or $PYRATOK_LPIPS_BACKBONE; not found "
                       "(no network access to download them)")
    return True, "ok"


_warned: set[str] = set()


def build_lpips(net: str = "alex"):
    """Return an ``lpips.LPIPS`` module (eval, frozen) or ``None`` with one warning if unavailable."""
    ok, reason = lpips_status(net)
    if not ok:
        if net not in _warned:
            warnings.warn(f"LPIPS disabled: {reason}", RuntimeWarning, stacklevel=2)
            _warned.add(net)
        return None
    import lpips

    path = _find_backbone(net)
    target = Path(torch.hub.get_dir()) / "checkpoints" / _BACKBONE_FILES[net]
    if path != target:  # torchvision looks only in its cache: place the user's file there
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    model = lpips.LPIPS(net=net, verbose=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
