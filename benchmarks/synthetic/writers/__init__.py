"""One writer per benchmark format. :data:`WRITERS` maps a dataset name (the folder under ``OUT/``) to
``write(root, seed, scale) -> summary dict``; :data:`ALIASES` expands convenience names."""
from __future__ import annotations

from functools import partial
from typing import Callable

from benchmarks.synthetic.writers import (
    activitynet,
    coco,
    kinetics,
    mcl_jcv,
    mvbench,
    openvid,
    thumos14,
    ucf101,
    vis,
    webvid,
)

WRITERS: dict[str, Callable] = {
    "webvid": webvid.write,
    "openvid": openvid.write,
    "coco": coco.write,
    "ytvis2021": vis.write_ytvis2021,
    "ovis": vis.write_ovis,
    "thumos14": thumos14.write,
    "activitynet": activitynet.write,
    "mvbench": mvbench.write,
    "kinetics400": partial(kinetics.write, "kinetics400"),
    "kinetics600": partial(kinetics.write, "kinetics600"),
    "kinetics700": partial(kinetics.write, "kinetics700"),
    "ucf101": ucf101.write,
    "mcl_jcv": mcl_jcv.write,
}

ALIASES: dict[str, tuple[str, ...]] = {
    "all": tuple(WRITERS),
    "kinetics": ("kinetics400", "kinetics600", "kinetics700"),
    "youtube-vis": ("ytvis2021",),
    "ytvis": ("ytvis2021",),
    "activitynet-1.3": ("activitynet",),
    "mcl-jcv": ("mcl_jcv",),
    "ucf-101": ("ucf101",),
}


def resolve(names: str | list[str]) -> list[str]:
    """'all' / comma-separated names / aliases -> dataset names in the canonical order; unknown names fail."""
    if isinstance(names, str):
        names = [n for n in names.replace(" ", ",").split(",") if n]
    wanted = set()
    for n in names:
        key = n.strip().lower()
        if key in WRITERS:
            wanted.add(key)
        elif key in ALIASES:
            wanted.update(ALIASES[key])
        else:
            raise ValueError(f"unknown benchmark {n!r}; valid: {sorted(WRITERS) + sorted(ALIASES)}")
    return [n for n in WRITERS if n in wanted]
