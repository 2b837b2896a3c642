"""The words of the synthetic world: colours, shapes, textures, backgrounds and motion-defined action classes.

Every name is plain English a pretrained text encoder already understands ("a striped red triangle", "spinning"),
so that zero-shot scores on the synthetic benchmarks measure language alignment, not a made-up vocabulary.

Action classes are defined by motion alone (see :mod:`benchmarks.synthetic.world` for the trajectories); each has
the word forms captions, questions and the benchmark label styles need:

* ``name``      the class name, lower case ("moving left") — Kinetics-style labels
* ``camel``     CamelCase ("MovingLeft") — THUMOS14 / UCF-101-style labels (these datasets use CamelCase file names)
* ``sentence``  sentence case ("Moving left") — ActivityNet-style labels
* ``verb``      third person present ("moves left") — captions
* ``past``      past tense ("moved left") — before/after questions
"""
from __future__ import annotations

from dataclasses import dataclass

# Object colours: saturated, well separated in RGB so that an object's colour is never confused with another's
# (the masks-vs-pixels test checks exact colours on uncompressed frames).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 60, 180),
    "orange": (240, 130, 30),
    "pink": (240, 120, 180),
    "cyan": (40, 200, 210),
}

# Background colours: muted tones, named so captions can say "a striped grey background".
BACKGROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "grey": (128, 128, 128),
    "brown": (130, 90, 55),
    "beige": (215, 200, 165),
    "dark blue": (30, 40, 90),
    "dark green": (35, 80, 45),
    "white": (235, 235, 235),
    "black": (25, 25, 25),
    "olive": (120, 120, 50),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star", "hexagon", "cross", "heart")

# Object textures, drawn in the object's own frame so that rotation is visible. "plain" is left out of names.
TEXTURES: tuple[str, ...] = ("plain", "striped", "dotted", "checkered")

BACKGROUND_TEXTURES: tuple[str, ...] = ("striped", "checkered", "dotted", "wavy", "speckled")

# The darker tone used for an object's texture pattern: pattern pixels are round(colour * TEXTURE_SHADE).
TEXTURE_SHADE = 0.55


@dataclass(frozen=True)
class ActionClass:
    name: str
    camel: str
    sentence: str
    verb: str
    past: str
    kind: str  # translation | path | oscillation | rotation | scale
    antonym: str | None = None


ACTIONS: tuple[ActionClass, ...] = (
    ActionClass("moving left", "MovingLeft", "Moving left", "moves left", "moved left", "translation", "moving right"),
    ActionClass("moving right", "MovingRight", "Moving right", "moves right", "moved right", "translation",
                "moving left"),
    ActionClass("moving up", "MovingUp", "Moving up", "moves up", "moved up", "translation", "moving down"),
    ActionClass("moving down", "MovingDown", "Moving down", "moves down", "moved down", "translation", "moving up"),
    ActionClass("zigzagging", "Zigzagging", "Zigzagging", "zigzags", "zigzagged", "path"),
    ActionClass("circling", "Circling", "Circling", "moves in a circle", "moved in a circle", "path"),
    ActionClass("bouncing", "Bouncing", "Bouncing", "bounces", "bounced", "oscillation"),
    ActionClass("jumping", "Jumping", "Jumping", "jumps", "jumped", "oscillation"),
    ActionClass("shaking", "Shaking", "Shaking", "shakes", "shook", "oscillation"),
    ActionClass("spinning", "Spinning", "Spinning", "spins", "spun", "rotation"),
    ActionClass("growing", "Growing", "Growing", "grows", "grew", "scale", "shrinking"),
    ActionClass("shrinking", "Shrinking", "Shrinking", "shrinks", "shrank", "scale", "growing"),
)
ACTION_BY_NAME: dict[str, ActionClass] = {a.name: a for a in ACTIONS}
ACTION_NAMES: tuple[str, ...] = tuple(a.name for a in ACTIONS)


def article(phrase: str) -> str:
    """'a' or 'an' for ``phrase`` (by its first letter; every word in this vocabulary follows that rule)."""
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def camel(words: str) -> str:
    """'spinning square' -> 'SpinningSquare' (UCF-101 / THUMOS14 class-name style)."""
    return "".join(w[:1].upper() + w[1:] for w in words.split())
