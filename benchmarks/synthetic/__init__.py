"""Synthetic video world: seeded scenes of moving, textured shapes with full ground truth (captions, per-frame
instance masks, timed actions, class labels, multiple-choice QA), written in each benchmark's official format.

``python -m benchmarks.synthetic --out DIR [--benchmarks all|NAMES] [--scale tiny|small|N] [--seed S]`` writes one
dataset per benchmark under ``DIR/<name>/`` (layouts: LAYOUTS.md / each writer's docstring), each with a
``SYNTHETIC.md`` naming the seed and generator version. Same seed -> byte-identical annotation files.

Modules: :mod:`.vocabulary` (words), :mod:`.world` (scene model, sampling), :mod:`.render` (pixels, masks),
:mod:`.captions`, :mod:`.qa` (MVBench questions), :mod:`.writers` (one per format), :mod:`.generate`.
"""
from benchmarks.synthetic.files import GENERATOR_VERSION
from benchmarks.synthetic.generate import generate

__all__ = ["GENERATOR_VERSION", "generate"]
