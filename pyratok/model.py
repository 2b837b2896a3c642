"""PyraTok: the language-aligned pyramidal video tokenizer (paper §3, App. D).

    video (B, 3, T, H, W) in [-1, 1], T = 1 + 4k, texts: list[str]
      -> masking (training only) -> Wan VAE encoder + LoRA -> pyramid F(1..S) and latent posterior
      -> LaPQ: q(l) = Q_l(q(l-1), F(l), e_t), one shared LFQ codebook -> tokens per level, each level on its own
         space-time grid (level 1 finest; grids in :mod:`pyratok.lapq`)
      -> codes brought to the latent grid -> VAE latent -> VAE decoder -> reconstruction

``encode`` gives the tokens and the continuous features of every level, ``decode`` turns tokens back into video,
``forward`` returns the named losses (each switchable, see :mod:`pyratok.losses`) and metrics.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from .alignment import ARAlignmentConfig, AutoregressiveAlignment
from .backbones import WanBackbone, WanBackboneConfig
from .config_utils import ConfigError, from_dict, load_json, to_dict
from .image_quality import psnr
from .lapq import LaPQ, LaPQConfig, LaPQOutput, token_grid
from .lapq import bits_per_pixel as _bits_per_pixel
from .lfq import LFQConfig
from .losses import LossConfig, codebook_terms, reconstruction_terms
from .masking import MaskingConfig, VideoMasker
from .perceptual import build_lpips
from .reference import ReferenceConfig, build_reference
from .text import build_text_encoder
from .text.base import TextEmbedding
from .text.target import FixedTextTarget

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class TextConfig:
    name: str = "minilm"       # offline default; paper: "qwen2.5-vl" (Qwen2.5-VL-3B, App. D) from a local path
    path: str | None = None
    max_length: int = 77
    # the fixed map of the text embedding into the code space (pyratok.text.target): seed of R and logit scale
    target_seed: int = 0
    target_scale: float = 0.5


@dataclass
class PyraTokConfig:
    backbone: WanBackboneConfig = field(default_factory=WanBackboneConfig)
    text: TextConfig = field(default_factory=TextConfig)
    lapq: LaPQConfig = field(default_factory=LaPQConfig)
    alignment: ARAlignmentConfig = field(default_factory=ARAlignmentConfig)
    losses: LossConfig = field(default_factory=LossConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    # frozen reference of L_drift and stage 3's frame retention (pyratok.reference); default: the un-adapted VAE
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)

    @classmethod
    def tiny(cls, grid: str = "pyramid") -> "PyraTokConfig":
        """CPU configuration: tiny Wan-2.2-architecture VAE (trained here), MiniLM text, tiny Qwen2 LM, K = 16.

        ``grid``: LaPQ token grids, "pyramid" (default: own grid per level) or "latent" (the latent-grid ablation).
        """
        return cls(
            backbone=WanBackboneConfig.tiny(),
            text=TextConfig(name="minilm", max_length=32),
            lapq=LaPQConfig(num_levels=4, dim=64, num_heads=4, grid=grid, lfq=LFQConfig(num_bits=16)),
            alignment=ARAlignmentConfig(num_bits=16, text_dim=384, hidden_size=64, num_layers=2, num_heads=4,
                                        intermediate_size=128, head="bits"),
            masking=MaskingConfig(spatial_patch=8),
        )

    @classmethod
    def paper(cls, vae_path: str | None = None, vlm_path: str | None = None, grid: str = "pyramid") -> "PyraTokConfig":
        """Paper configuration (App. D): Wan 2.2 VAE, Qwen2.5-VL-3B text + AR LM, 4 blocks, K = 16, LoRA 16/32.

        With no paths the model is built with random weights, for shape and speed checks only. ``grid`` as in
        :meth:`tiny` (the pyramid gives Table 8's 1,024 tokens for a 17 x 128 x 128 clip).
        """
        return cls(
            backbone=WanBackboneConfig.paper(pretrained_path=vae_path),
            text=TextConfig(name="qwen2.5-vl" if vlm_path else "minilm", path=vlm_path, max_length=77),
            lapq=LaPQConfig(num_levels=4, dim=512, num_heads=8, grid=grid, lfq=LFQConfig(num_bits=16)),
            alignment=ARAlignmentConfig(num_bits=16, text_dim=2048 if vlm_path else 384, lm_path=vlm_path,
                                        head="index"),
        )

    def to_dict(self) -> dict:
        return to_dict(self)

    @property
    def bits_per_code(self) -> float:
        """Bits of one token id: K for LFQ, log2(codebook size) for the Table 9 codebook quantizers."""
        q = self.lapq.quantizer
        if q.type == "lfq":
            return float(self.lapq.lfq.num_bits)
        import math
        return math.log2(math.prod(q.fsq_levels) if q.type == "fsq" else q.codebook_size)

    @property
    def codes_per_position(self) -> int:
        """Token ids per grid cell: the heads of GVQ, the depth of RVQ, else 1."""
        q = self.lapq.quantizer
        return {"gvq": q.groups, "rvq": q.num_quantizers}.get(q.type, 1)

    def token_grids(self, frames: int, height: int, width: int) -> list[tuple[int, int, int]]:
        """Token grid (T', H', W') of every LaPQ level for a (frames, height, width) clip, without building the model."""
        from .backbones.wan import latent_stride_for
        latent = latent_stride_for(self.backbone.vae_config)
        return [token_grid((frames, height, width), st) for st in self.lapq.token_strides(latent)]

    def bits_per_pixel(self, frames: int, height: int, width: int) -> float:
        """Bits of all tokens of a (frames, height, width) clip per pixel (T H W; colour channels not counted)."""
        return _bits_per_pixel(self.token_grids(frames, height, width), self.bits_per_code * self.codes_per_position,
                               (frames, height, width))

    @classmethod
    def from_dict(cls, data: dict) -> "PyraTokConfig":
        return from_dict(cls, data)


CONFIGS = {"tiny": PyraTokConfig.tiny, "paper": PyraTokConfig.paper,
           "tiny-latent-grid": lambda: PyraTokConfig.tiny(grid="latent")}


def get_config(name_or_path: str) -> PyraTokConfig:
    """A named configuration (``tiny``, ``paper``) or a JSON file."""
    if name_or_path in CONFIGS:
        return CONFIGS[name_or_path]()
    p = Path(name_or_path)
    if p.suffix == ".json" or p.exists():
        return load_json(PyraTokConfig, p)
    raise ConfigError(f"unknown config {name_or_path!r}; valid names: {sorted(CONFIGS)} or a path to a JSON file")


@dataclass
class PyraTokEncoding:
    """Tokens and features of a batch.

    indices[l]: (B, T'_l, H'_l, W'_l) int64 token ids in [0, 2^K) (bit order: :func:`pyratok.lfq.codes_to_indices`);
      (B, T'_l, H'_l, W'_l, G) for the GVQ/RVQ ablations. Levels have their own grids (see :mod:`pyratok.lapq`).
    features[l]: (B, K, T'_l, H'_l, W'_l) continuous pre-quantization features (bit logits' inputs z) of level l;
    latent_grid: (T', H', W') of the VAE latent; input_shape: (T, H, W);
    bits_per_code: bits of one token id (K for LFQ); None when unknown (then :attr:`bits_per_pixel` raises).
    """

    indices: list[Tensor]
    features: list[Tensor]
    latent_grid: tuple[int, int, int]
    input_shape: tuple[int, int, int]
    bits_per_code: float | None = None

    @property
    def grids(self) -> list[tuple[int, int, int]]:
        """Token grid (T'_l, H'_l, W'_l) of every level."""
        return [tuple(int(v) for v in ix.shape[1:4]) for ix in self.indices]

    @property
    def num_tokens(self) -> int:
        """Grid cells over all levels (per clip)."""
        return sum(int(ix.shape[1] * ix.shape[2] * ix.shape[3]) for ix in self.indices)

    @property
    def bits_per_pixel(self) -> float:
        """Bits of every token id of one clip over its T H W input pixels."""
        if self.bits_per_code is None:
            raise ValueError("PyraTokEncoding.bits_per_code is not set: bits per pixel unknown")
        ids = sum(int(ix[0].numel()) for ix in self.indices)
        T, H, W = self.input_shape
        return ids * float(self.bits_per_code) / (T * H * W)


@dataclass
class PyraTokOutput:
    loss: Tensor
    losses: dict[str, Tensor]    # weighted components that make up ``loss`` plus unweighted sub-terms
    metrics: dict[str, float]
    recon: Tensor                # (B, 3, T, H, W)
    lapq: LaPQOutput


class PyraTok(nn.Module):
    def __init__(self, config: PyraTokConfig | None = None, text_encoder: nn.Module | None = None):
        super().__init__()
        self.config = config = config or PyraTokConfig.tiny()
        self.backbone = WanBackbone(config.backbone)
        self.text_encoder = text_encoder or build_text_encoder(config.text.name, path=config.text.path,
                                                               max_length=config.text.max_length)
        if self.text_encoder.dim != config.alignment.text_dim:
            raise ConfigError(f"alignment.text_dim={config.alignment.text_dim} but the text encoder "
                              f"'{config.text.name}' gives {self.text_encoder.dim}-d embeddings")
        self.lapq = LaPQ(config.lapq, self.backbone.stage_channels, self.backbone.stage_strides(),
                         self.backbone.latent_channels, self.backbone.latent_stride, self.text_encoder.dim)
        K = config.lapq.code_width
        if config.lapq.quantizer.type != "lfq" and config.losses.on("ar"):
            raise ConfigError("the AR alignment predicts LFQ token ids: with lapq.quantizer.type="
                              f"{config.lapq.quantizer.type!r} add 'ar' to losses.disabled (Table 9 ablation)")
        # text -> code space (K bit logits): the target of the text alignment terms 4-5 and the zero-shot text side.
        # A fixed seeded projection, never trained, so it cannot collapse (pyratok.text.target)
        self.text_to_bits = FixedTextTarget(K, self.text_encoder.dim, seed=config.text.target_seed,
                                            scale=config.text.target_scale)
        if config.losses.on("ar") and config.lapq.quantizer.type == "lfq" and config.alignment.num_bits != K:
            raise ConfigError(f"alignment.num_bits={config.alignment.num_bits} but the LFQ codebook has "
                              f"lapq.lfq.num_bits={K} bits: set both (the AR alignment predicts the LFQ codes)")
        self.alignment = AutoregressiveAlignment(config.alignment) if config.losses.on("ar") else None
        self.reference = build_reference(config.reference, self.backbone.latent_channels)
        self.masker = VideoMasker(config.masking)
        self._lpips = None
        self._lpips_built = False

    # ------------------------------------------------------------------ helpers
    @property
    def num_bits(self) -> int:
        """Bits per token: K for LFQ; log2(vocabulary) per index for the Table 9 codebook quantizers."""
        if self.config.lapq.quantizer.type == "lfq":
            return self.config.lapq.lfq.num_bits
        import math
        return math.log2(self.lapq.quantizer.vocab_size)

    def embed_text(self, texts: list[str]) -> TextEmbedding:
        return self.text_encoder(list(texts))

    def text_bit_logits(self, text: TextEmbedding) -> Tensor:
        """(B, K) bit logits of the text in the code space (stop-gradient on e_t, as Eq. 2's sg(e_t)); a fixed map,
        so the text side of Eq. 2 terms 4-5 has no parameters at all."""
        return self.text_to_bits(text.pooled.detach())

    def ar_prefix(self, texts: list[str], text: TextEmbedding) -> TextEmbedding:
        """The text prefix of L_AR: with a pretrained VLM (``alignment.lm_path``) the caption's own token
        embeddings from the LM's input-embedding table; otherwise the text encoder's tokens ``text``."""
        if self.alignment is not None and self.alignment.prefix_from_lm:
            return self.alignment.caption_prefix(texts)
        return text

    @torch.no_grad()
    def ar_nll(self, video: Tensor, texts: list[str] | None = None):
        """Held-out L_AR of clean (unmasked) clips: the :class:`~pyratok.alignment.ARAlignmentOutput` (mean NLL per
        visual token in nats, per level, per token). Raises when the model has no AR alignment."""
        if self.alignment is None:
            raise ValueError("this model has no AR alignment ('ar' is in losses.disabled)")
        self._check_video(video)
        texts = self._texts(texts, video.shape[0])
        text = self.embed_text(texts)
        _, out = self._quantize(video, text)
        return self.alignment(self.ar_prefix(texts, text), out.codes, out.indices)

    def lpips_net(self):
        if not self._lpips_built:
            self._lpips = build_lpips("alex") if self.config.losses.on("lpips") else None
            self._lpips_built = True
        return self._lpips

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def _check_video(self, video: Tensor):
        if video.dim() != 5 or video.shape[1] != 3:
            raise ValueError(f"video must be (B, 3, T, H, W), got {tuple(video.shape)}")
        t, s = self.backbone.latent_stride
        T, H, W = video.shape[2:]
        if (T - 1) % t or H % s or W % s:
            raise ValueError(f"video of {T}x{H}x{W} frames: need T = 1 + {t}k and H, W multiples of {s}")

    def _texts(self, texts, batch: int) -> list[str]:
        if texts is None:
            return [""] * batch  # no caption: the empty prompt (text attention then sees only special tokens)
        texts = list(texts)
        if len(texts) != batch:
            raise ValueError(f"got {len(texts)} texts for a batch of {batch} videos")
        return texts

    def _quantize(self, video: Tensor, text: TextEmbedding):
        pyr = self.backbone.encode_pyramid(video)
        out = self.lapq(pyr.features, pyr.posterior.mean, text, tuple(video.shape[2:]))
        return pyr, out

    # ------------------------------------------------------------------ public API
    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None) -> PyraTokEncoding:
        """video (B, 3, T, H, W) in [-1, 1] -> tokens and continuous features per level."""
        self._check_video(video)
        text = self.embed_text(self._texts(texts, video.shape[0]))
        pyr, out = self._quantize(video, text)
        b = video.shape[0]
        indices = [ix.view(b, *g, *ix.shape[2:]) for ix, g in zip(out.indices, out.grids)]
        feats = [z.transpose(1, 2).reshape(b, z.shape[-1], *g) for z, g in zip(out.z, out.grids)]
        return PyraTokEncoding(indices, feats, tuple(pyr.posterior.mean.shape[2:]), tuple(video.shape[2:]),
                               bits_per_code=self.config.bits_per_code)

    @torch.no_grad()
    def decode(self, tokens: PyraTokEncoding | list[Tensor], latent_grid: tuple[int, int, int] | None = None) -> Tensor:
        """Tokens per level (B, T'_l, H'_l, W'_l) -> video (B, 3, T, H, W), clamped to [-1, 1]."""
        if isinstance(tokens, PyraTokEncoding):
            latent_grid = tokens.latent_grid
            tokens = tokens.indices
        if latent_grid is None:
            raise ValueError("decode(list of indices) needs latent_grid=(T', H', W')")
        latent = self.lapq.indices_to_latent(list(tokens), tuple(latent_grid))
        return self.backbone.decode(latent).clamp(-1, 1)

    def forward(self, video: Tensor, texts: list[str] | None = None) -> PyraTokOutput:
        """Training/eval step: masked input, quantization, reconstruction of the clean video, all loss terms."""
        self._check_video(video)
        cfg = self.config.losses
        texts = self._texts(texts, video.shape[0])
        text = self.embed_text(texts)
        x_in = self.masker(video)
        pyr, out = self._quantize(x_in, text)
        recon = self.backbone.decode(out.latent)

        parts: dict[str, Tensor] = {}
        total = video.new_zeros(())
        if cfg.on("recon"):
            rec = reconstruction_terms(recon, video, cfg, self.lpips_net() if cfg.on("lpips") else None)
            parts.update({f"recon/{k}": v for k, v in rec.items()})
            l_recon = sum(getattr(cfg, k) * v for k, v in rec.items())
            parts["recon"] = l_recon
            total = total + cfg.recon * l_recon
        if cfg.on("codebook"):
            text_logits = self.text_bit_logits(text)
            cb = codebook_terms(out.quant, out.grids, text_logits, cfg)
            parts.update({f"codebook/{k}": v for k, v in cb.items()})
            l_cb = sum(getattr(cfg, k) * v for k, v in cb.items())
            parts["codebook"] = l_cb
            total = total + cfg.codebook * l_cb
        if cfg.on("ar") and self.alignment is not None:
            ar = self.alignment(self.ar_prefix(texts, text), out.codes, out.indices)
            parts["ar"] = ar.loss
            total = total + cfg.ar * ar.loss
        if cfg.on("drift") and self.config.backbone.lora:
            parts["drift"] = self.reference.drift(x_in, pyr.posterior, self.backbone)
            total = total + cfg.drift * parts["drift"]

        with torch.no_grad():
            metrics = {"psnr": float(psnr((recon.clamp(-1, 1) + 1) / 2, (video + 1) / 2))}
            for lvl, q in enumerate(out.quant):
                metrics[f"utilization/level{lvl + 1}"] = float(q.utilization)
                if q.logits is not None:  # LFQ only (learned codebooks have no per-bit distribution)
                    metrics[f"entropy/per_sample/level{lvl + 1}"] = float(q.per_sample_entropy)
                    metrics[f"entropy/codebook/level{lvl + 1}"] = float(q.codebook_entropy)
        return PyraTokOutput(total, parts, metrics, recon, out)

    # ------------------------------------------------------------------ persistence
    def _saved_state(self) -> dict[str, Tensor]:
        """State to save: everything but the text encoder and frozen weights loaded from an external path."""
        skip = ["text_encoder.", "reference.net."]  # frozen weights read from their own paths
        if self.config.backbone.pretrained_path:
            frozen = {n for n, p in self.backbone.named_parameters() if not p.requires_grad}
            skip_exact = {f"backbone.{n}" for n in frozen}
        else:
            skip_exact = set()
        if self.config.alignment.lm_path and self.alignment is not None:
            skip_exact |= {f"alignment.{n}" for n, p in self.alignment.named_parameters() if not p.requires_grad}
        return {k: v.detach().contiguous() for k, v in self.state_dict().items()
                if not any(k.startswith(s) for s in skip) and k not in skip_exact}

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (atomically: temp file + rename)."""
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tmp_w = d / (WEIGHTS_NAME + ".tmp")
        save_file(self._saved_state(), str(tmp_w), metadata={"format": "pt", "pyratok_config": json.dumps(self.config.to_dict())})
        tmp_w.replace(d / WEIGHTS_NAME)
        tmp_c = d / (CONFIG_NAME + ".tmp")
        tmp_c.write_text(json.dumps(self.config.to_dict(), indent=2, sort_keys=True))
        tmp_c.replace(d / CONFIG_NAME)
        return d

    @classmethod
    def from_pretrained(cls, directory: str | Path, **config_overrides) -> "PyraTok":
        from safetensors.torch import load_file

        d = Path(directory)
        if not (d / CONFIG_NAME).is_file() or not (d / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{d}: not a PyraTok checkpoint (need {CONFIG_NAME} and {WEIGHTS_NAME})")
        try:
            raw = json.loads((d / CONFIG_NAME).read_text())
        except json.JSONDecodeError as err:
            raise ConfigError(f"{d / CONFIG_NAME}: invalid JSON: {err}") from err
        if isinstance(raw.get("lapq"), dict) and "grid" not in raw["lapq"]:
            # written before LaPQ had per-level grids: those models quantized every level on the latent grid
            raw["lapq"]["grid"] = "custom" if raw["lapq"].get("token_stride") else "latent"
        try:
            config = from_dict(PyraTokConfig, raw)
        except ConfigError as err:
            raise ConfigError(f"{d / CONFIG_NAME}: {err}") from err
        for k, v in config_overrides.items():
            setattr(config, k, v)
        model = cls(config)
        state = load_file(str(d / WEIGHTS_NAME))
        expected = model._saved_state()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(model.state_dict()))
        if missing or unexpected:
            raise ValueError(f"{d / WEIGHTS_NAME}: checkpoint does not match the config "
                             f"(missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                             f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''})")
        model.load_state_dict(state, strict=False)
        model.eval()
        return model
