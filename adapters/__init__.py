"""Every tokenizer behind one interface (:mod:`adapters.base`), found by name in a lazy registry
(:mod:`adapters.registry`)."""
from .base import Checkpoint, Encoding, InputConstraints, NotSupported, Tokenizer
from .registry import REGISTRY, UnknownTokenizer, build_tokenizer, list_tokenizers, parse_tokenizer_spec

__all__ = ["Checkpoint", "Encoding", "InputConstraints", "NotSupported", "Tokenizer", "REGISTRY", "UnknownTokenizer",
           "build_tokenizer", "list_tokenizers", "parse_tokenizer_spec"]
