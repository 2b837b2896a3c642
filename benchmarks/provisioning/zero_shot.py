"""Zero-shot means zero-shot: the training captions of every trained-here model name no scored class or answer.

The synthetic world has one small vocabulary (:mod:`benchmarks.synthetic.vocabulary`), and its zero-shot
benchmarks score parts of it: the action classes (THUMOS14 / ActivityNet localization; Kinetics, whose labels are
"<shape> <action>"), the shape names (YouTube-VIS / OVIS categories, COCO) and MVBench's answers (action forms,
shapes, object colours, directions, rotation senses, counts, yes/no). A model trained on captions that say "a red
triangle spins" has been taught the very class names it is later asked to recognise "zero-shot". So the captions
of the trained-here training set (:func:`benchmarks.provisioning.training_data.default_training_data`) are
*redacted* with :func:`redact_caption`:

* every action phrase (the verbs of :data:`~benchmarks.synthetic.vocabulary.ACTIONS`) -> "moves"
  ("a red triangle moves left, then spins" -> "a shape moves, then moves"; an idle object still "stays still");
* every shape name -> "shape"; every colour, of objects and backgrounds, -> nothing (the adjective is dropped:
  MVBench asks for object colours, and its scene-transition answers name backgrounds by texture and colour);
* a camera pan loses its direction ("as the camera pans left" -> "as the camera pans").

What is left is what no zero-shot benchmark scores on its own: the object and background textures, how many
objects there are and which of them move, a scene cut and whether the camera moves. The text
alignment learns from that (retrieval among held-out clips is measured on their redacted captions too).
``tests/test_zero_shot_captions.py`` checks, for every zero-shot benchmark's synthetic dataset read from its
files, that no training caption contains any of its class names or answers.
"""
from __future__ import annotations

import re

from benchmarks.synthetic.vocabulary import ACTIONS, BACKGROUND_COLOURS, COLOURS, SHAPES

__all__ = ["redact_caption", "scored_phrases", "REDACTION_NOTE"]

REDACTION_NOTE = ("captions redacted for zero-shot: action phrases -> 'moves', shapes -> 'shape', colours dropped, "
                  "pan directions dropped (benchmarks.provisioning.zero_shot)")

_DIRECTIONS = ("left", "right", "up", "down")


def _words(phrase: str) -> str:
    """A regex matching ``phrase`` as whole words, case-insensitive."""
    return r"(?<![\w-])" + r"\s+".join(map(re.escape, phrase.split())) + r"(?![\w-])"


def _rules() -> list[tuple[re.Pattern, str]]:
    rules: list[tuple[str, str]] = []
    # longest action verbs first: "moves in a circle" before "moves left" (each is a whole phrase)
    for verb in sorted({a.verb for a in ACTIONS}, key=len, reverse=True):
        rules.append((_words(verb), "moves"))
    for d in _DIRECTIONS:
        rules.append((_words(f"pans {d}"), "pans"))
    # colours, multi-word ones first ("dark blue" before "blue"): MVBench asks for colours, and its
    # scene-transition answers name a background by texture *and* colour
    for c in sorted({*COLOURS, *BACKGROUND_COLOURS}, key=lambda c: (-len(c.split()), c)):
        rules.append((_words(c) + r"\s*", ""))
    for s in SHAPES:
        rules.append((_words(s), "shape"))
    return [(re.compile(p, re.IGNORECASE), r) for p, r in rules]


_RULES = _rules()


def redact_caption(caption: str) -> str:
    """``caption`` (a synthetic-world caption, :func:`benchmarks.synthetic.captions.video_caption`) with every
    scored phrase replaced as in the module docstring; 'a'/'an' re-agreed with the word that now follows."""
    out = caption
    for pattern, repl in _RULES:
        out = pattern.sub(repl, out)
    out = re.sub(r"\b(a|an)\s+(\w)", lambda m: _article(m.group(1), m.group(2)) + " " + m.group(2), out,
                 flags=re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", out).strip()


def _article(old: str, first: str) -> str:
    new = "an" if first.lower() in "aeiou" else "a"
    return new.capitalize() if old[:1].isupper() else new


def scored_phrases() -> set[str]:
    """Every phrase of the vocabulary that some zero-shot benchmark scores, lower case (for tests and audits):
    action names and word forms, shape names, colours, directions."""
    out: set[str] = set()
    for a in ACTIONS:
        out |= {a.name, a.verb, a.past, a.sentence.lower(), a.camel.lower()}
    out |= set(SHAPES) | set(COLOURS) | set(BACKGROUND_COLOURS) | set(_DIRECTIONS)
    return out
