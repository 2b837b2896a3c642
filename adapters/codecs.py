"""Classical video codecs (H.264, HEVC, AV1, VP9) through PyAV / FFmpeg behind the :class:`Tokenizer` interface.

Table 7 of the paper compares PyraTok with HEVC (and VCC) on MCL-JCV "at 0.034 bitrate". A codec is a tokenizer
whose *rate* is a knob: :class:`CodecTokenizer` encodes every clip at a **target bits per pixel** (bpp = bitstream
bits / (T x H x W)), found per clip by a search over the encoder's constant-quality parameter.

Pipeline per clip (``(3, T, H, W)`` in ``[-1, 1]``):

1. RGB -> 8-bit Y'CbCr 4:2:0 (``yuv420p``), **BT.709 limited range**, chroma = mean of each 2x2 block
   (:func:`adapters.colour.rgb_to_yuv420`). That is the inverse of the conversion the MCL-JCV reader uses
   (:func:`adapters.colour.yuv420_to_rgb`, chroma repeated over 2x2), so an MCL-JCV clip read as RGB goes back to
   (almost exactly) its original YUV planes before the codec sees it; decoding uses that same function, so the
   metrics measure the codec, not the colour conversion.
2. Encode with fixed, deterministic settings (one thread, fixed preset, one keyframe: GOP = the clip) into an
   **elementary-stream container held in memory**: raw Annex-B for H.264/HEVC, IVF for VP9/AV1. That container is
   the payload: PyAV can demux it again.
3. Rate = the **sum of the encoded packet sizes x 8** (:attr:`Bitstream.bits`). Container framing (the IVF file
   and frame headers) is excluded; everything a decoder needs is included, because parameter sets (SPS/PPS/VPS,
   the AV1 sequence header) are written in-band in the first packet (no global header). Informational metadata
   that no decoder needs is removed first: x264's version/options SEI (~700 bytes, which alone would exceed the
   whole budget of a 64x64 clip) is stripped with FFmpeg's ``filter_units=remove_types=6`` bitstream filter (x264
   emits no other SEI with these settings), and x265's with its own ``info=0``.
4. Decode with FFmpeg's decoder (``h264``, ``hevc``, ``vp9``; ``libdav1d`` for AV1) and convert back to RGB.

Rate control (why a search): the paper gives one operating point, so each codec must spend (at most) the same
bits as the reference tokenizer on each clip. Target-bitrate (ABR/VBR) modes do not honour a budget on clips this
small and short (17 frames of 64x64 are a few hundred bytes; the rate controllers need many frames to converge):
measured with this PyAV build on the synthetic MCL-JCV clips at 0.0735 and 0.3 bpp, ABR spent 0.56x-2.4x the
target (x264, x265) and 1.8x-5.5x (SVT-AV1, libvpx). So we search the constant-quality parameter (``crf``) per
clip instead, which is deterministic:

* the **budget rule**: the chosen encode is the best-quality one whose bits are ``<= target`` (a codec never gets
  more bits than the tokenizer); among all trials, the feasible one with the most bits;
* **bisection** over ``crf`` (fractional for x264/x265, which accept float CRF; integer steps for SVT-AV1 and
  libvpx), stopping once ``target x (1 - tolerance) <= bits <= target`` (``tolerance`` = 5 % by default), when the
  interval is one step wide, or after ``max_trials`` encodes;
* if even the lowest-quality setting exceeds the target, that encode is returned with ``target_met = False`` in
  the extras (the benchmark records such a clip as a failure, never as a "matched" point); integer-step codecs may
  end farther below the target than the tolerance (``within_tolerance = False``) — the actual bpp is reported.

The reported bpp is always the **actual** bits of the chosen bitstream, never the target.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .base import Checkpoint, Encoding, InputConstraints, Tokenizer
from .colour import rgb_to_yuv420, yuv420_to_rgb

__all__ = ["CodecSpec", "CODECS", "Bitstream", "RateSearch", "CodecTokenizer", "build", "available_encoders",
           "require_encoder", "rgb_to_yuv420", "yuv420_to_rgb", "video_to_rgb", "rgb_to_video",
           "encode_yuv", "decode_bitstream", "encode_at_bits", "MissingEncoder", "CodecError"]


class MissingEncoder(RuntimeError):
    """The FFmpeg build inside this PyAV wheel lacks the requested encoder."""


class CodecError(RuntimeError):
    """Encoding or decoding one clip failed (the message names the codec, the clip geometry and the setting)."""


@dataclass(frozen=True)
class CodecSpec:
    """How one FFmpeg encoder is driven.

    ``quality_range``: (best, worst) values of the constant-quality option ``quality_option``; ``fractional``: the
    encoder accepts non-integer values. ``options``: fixed encoder options (deterministic, one thread).
    ``strip_filter``: FFmpeg bitstream filter removing informational metadata before the bits are counted.
    """

    encoder: str
    decoder: str
    container: str
    label: str
    quality_option: str
    quality_range: tuple[float, float]
    fractional: bool
    options: dict = field(default_factory=dict)
    strip_filter: str | None = None
    bit_rate_zero: bool = False   # libvpx: b=0 selects its constant-quality mode
    min_side: int = 2             # smallest frame height/width the adapter accepts for this encoder


# Fixed settings: each encoder's default preset family at a middle speed, single-threaded. x265 (4.2 in this
# wheel) misbehaves on tiny frames: with its default 64x64 CTU a 64x64 frame gives run-to-run different streams, and
# 40x40 / 48x48 frames corrupted its heap (process abort) in our tests; with 32x32 CTUs every size >= 64 we tried
# was deterministic (64x64, 64x96, 96x64, 128x128, ...), so x265 gets ctu=32 and frames of at least 64x64.
CODECS: dict[str, CodecSpec] = {
    "libx264": CodecSpec("libx264", "h264", "h264", "H.264/AVC (x264)", "crf", (0.0, 51.0), True,
                         {"preset": "medium"}, strip_filter="filter_units=remove_types=6"),
    "libx265": CodecSpec("libx265", "hevc", "hevc", "H.265/HEVC (x265)", "crf", (0.0, 51.0), True,
                         {"preset": "medium",
                          "x265-params": "log-level=error:info=0:pools=none:frame-threads=1:ctu=32"},
                         min_side=64),
    "libsvtav1": CodecSpec("libsvtav1", "libdav1d", "ivf", "AV1 (SVT-AV1)", "crf", (1.0, 63.0), False,
                           {"preset": "8", "svtav1-params": "lp=1"}),
    "libvpx-vp9": CodecSpec("libvpx-vp9", "vp9", "ivf", "VP9 (libvpx)", "crf", (0.0, 63.0), False,
                            {"deadline": "good", "cpu-used": "4", "row-mt": "0", "tile-columns": "0"},
                            bit_rate_zero=True),
}



# ---------------------------------------------------------------------------------------------- availability
def available_encoders() -> set[str]:
    """Names of the codecs in this PyAV wheel's FFmpeg (``av.codecs_available``: encoders and decoders)."""
    import av

    return set(av.codecs_available)


def require_encoder(encoder: str) -> CodecSpec:
    """The :class:`CodecSpec` of ``encoder``; :class:`MissingEncoder` if PyAV's FFmpeg lacks it or its decoder,
    ``ValueError`` if this module does not know it."""
    if encoder not in CODECS:
        raise ValueError(f"unknown codec {encoder!r}; this adapter drives {sorted(CODECS)}")
    spec = CODECS[encoder]
    have = available_encoders()
    import av

    for role, name in (("encoder", spec.encoder), ("decoder", spec.decoder)):
        ok = name in have
        if ok:
            try:
                av.Codec(name, "w" if role == "encoder" else "r")
            except Exception:  # noqa: BLE001 - present as a name but not usable in that direction
                ok = False
        if not ok:
            raise MissingEncoder(
                f"{spec.label}: the FFmpeg in this PyAV {av.__version__} wheel has no {role} {name!r} "
                f"(codecs it has for this family: "
                f"{sorted(c for c in have if c.split('-')[0].replace('lib', '') in name)}); install a PyAV/FFmpeg "
                f"build with {name}")
    return spec


# ---------------------------------------------------------------------------------------------- colour
def video_to_rgb(video: Tensor) -> np.ndarray:
    """``(3, T, H, W)`` in [-1, 1] -> ``(T, H, W, 3)`` uint8 (``round((x + 1) * 127.5)``, clipped)."""
    x = ((video.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 3, 0).cpu().numpy()


def rgb_to_video(rgb: np.ndarray) -> Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(3, T, H, W)`` float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(3, 0, 1, 2).float() / 127.5 - 1.0


# ---------------------------------------------------------------------------------------------- one encode
@dataclass
class Bitstream:
    """One encode of one clip: ``data`` is the container file (Annex-B or IVF) in memory; ``packet_bytes`` the
    sum of the encoded packet sizes (the rate; container framing excluded)."""

    data: bytes
    packet_bytes: int
    num_packets: int
    quality: float

    @property
    def bits(self) -> int:
        return 8 * self.packet_bytes


def _quiet_svt() -> None:
    # SVT-AV1 prints its configuration banner at level "info" unless told otherwise (logging only)
    os.environ.setdefault("SVT_LOG", "1")


def encode_yuv(planes: tuple[np.ndarray, np.ndarray, np.ndarray], spec: CodecSpec, quality: float,
               fps: int = 30) -> Bitstream:
    """Encode 4:2:0 planes ``(Y (T, H, W), U, V (T, H/2, W/2))`` uint8 at constant quality ``quality``."""
    import av
    from av.bitstream import BitStreamFilterContext

    Y, U, V = planes
    T, H, W = Y.shape
    if min(H, W) < spec.min_side:
        raise ValueError(f"{spec.label}: frames must be at least {spec.min_side}x{spec.min_side} here "
                         f"(see adapters.codecs.CODECS), got {H}x{W}")
    if spec.encoder == "libsvtav1":
        _quiet_svt()
    value = f"{quality:.3f}" if spec.fractional else str(int(round(quality)))
    buf = io.BytesIO()
    nbytes = npk = 0
    out = av.open(buf, "w", format=spec.container)
    try:
        stream = out.add_stream(spec.encoder, rate=fps)
        cc = stream.codec_context
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        cc.thread_count = 1
        cc.gop_size = T                      # one keyframe: the clip is one GOP
        if spec.bit_rate_zero:
            cc.bit_rate = 0
        cc.options = {**spec.options, spec.quality_option: value}
        bsf = BitStreamFilterContext(spec.strip_filter, stream) if spec.strip_filter else None

        def emit(packets) -> None:
            nonlocal nbytes, npk
            for p in packets:
                for q in (bsf.filter(p) if bsf is not None else [p]):
                    q.stream = stream
                    nbytes += q.size
                    npk += 1
                    out.mux(q)

        try:
            for t in range(T):
                frame = av.VideoFrame.from_ndarray(
                    np.concatenate([Y[t].ravel(), U[t].ravel(), V[t].ravel()]).reshape(H * 3 // 2, W),
                    format="yuv420p")
                frame.pts = t
                emit(stream.encode(frame))
            emit(stream.encode(None))
        except av.error.FFmpegError as err:
            raise CodecError(f"{spec.label}: encoding a {T}x{H}x{W} clip at {spec.quality_option}={value} "
                               f"failed: {err}") from err
        if bsf is not None:
            for q in bsf.filter(None):
                q.stream = stream
                nbytes += q.size
                npk += 1
                out.mux(q)
    finally:
        out.close()
    return Bitstream(buf.getvalue(), nbytes, npk, float(value))


def decode_bitstream(data: bytes, spec: CodecSpec, frames: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Container bytes -> ``(Y, U, V)`` uint8 planes. ``frames``: the expected count (an error otherwise)."""
    import av

    ctx = av.CodecContext.create(spec.decoder, "r")
    ctx.thread_count = 1
    ys, us, vs = [], [], []

    def take(decoded) -> None:
        for f in decoded:
            if f.format.name != "yuv420p":
                f = f.reformat(format="yuv420p")
            a = f.to_ndarray(format="yuv420p")
            h, w = f.height, f.width
            ys.append(a[:h].copy())
            uv = a[h:].reshape(2, h // 2, w // 2)
            us.append(uv[0].copy())
            vs.append(uv[1].copy())

    try:
        with av.open(io.BytesIO(data), "r", format=spec.container) as src:
            for pkt in src.demux(src.streams.video[0]):
                if pkt.size:
                    take(ctx.decode(pkt))
        take(ctx.decode(None))
    except av.error.FFmpegError as err:
        raise CodecError(f"{spec.label}: decoding a {len(data)}-byte {spec.container} stream failed: {err}") from err
    if not ys or (frames is not None and len(ys) != frames):
        raise CodecError(f"{spec.label}: decoded {len(ys)} frames, expected {frames}")
    return np.stack(ys), np.stack(us), np.stack(vs)


# ---------------------------------------------------------------------------------------------- rate search
@dataclass
class RateSearch:
    """Result of :func:`encode_at_bits`: the chosen encode and the search trace ``[(quality, bits), ...]``."""

    chosen: Bitstream
    target_bits: float
    trials: list[tuple[float, int]]
    target_met: bool
    within_tolerance: bool


def encode_at_bits(planes, spec: CodecSpec, target_bits: float, tolerance: float = 0.05, max_trials: int = 16,
                   fps: int = 30) -> RateSearch:
    """Best-quality encode with ``bits <= target_bits`` by bisection over the constant-quality parameter (see the
    module docstring for the rule and the stopping criteria)."""
    if not target_bits > 0:
        raise ValueError(f"target bits must be positive, got {target_bits}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    best_q, worst_q = spec.quality_range
    step = 0.05 if spec.fractional else 1.0
    cache: dict[float, Bitstream] = {}

    def trial(q: float) -> Bitstream:
        q = round(q, 3) if spec.fractional else float(round(q))
        if q not in cache:
            cache[q] = encode_yuv(planes, spec, q, fps)
        return cache[q]

    def good(bs: Bitstream) -> bool:
        return target_bits * (1.0 - tolerance) <= bs.bits <= target_bits

    def finish() -> RateSearch:
        feasible = [b for b in cache.values() if b.bits <= target_bits]
        if feasible:
            chosen = max(feasible, key=lambda b: (b.bits, -b.quality))
        else:  # even the worst quality exceeds the target: the cheapest encode, flagged
            chosen = min(cache.values(), key=lambda b: (b.bits, -b.quality))
        trials = sorted((b.quality, b.bits) for b in cache.values())
        return RateSearch(chosen, float(target_bits), trials, bool(feasible), good(chosen))

    worst = trial(worst_q)
    if worst.bits > target_bits:
        return finish()
    if good(worst):
        return finish()
    best = trial(best_q)
    if best.bits <= target_bits:
        return finish()
    lo, hi = best_q, worst_q                 # bits(lo) > target >= bits(hi)
    while hi - lo > step + 1e-9 and len(cache) < max_trials:
        mid = (lo + hi) / 2.0 if spec.fractional else float((int(lo) + int(hi)) // 2)
        bs = trial(mid)
        if bs.bits <= target_bits:
            if good(bs):
                break
            hi = mid
        else:
            lo = mid
    return finish()


# ---------------------------------------------------------------------------------------------- tokenizer
class CodecTokenizer(Tokenizer):
    """A classical codec as a tokenizer (kind ``codec``). ``target_bpp``: the bits per pixel each clip is coded at
    (``encode(..., bpp=)`` overrides it per call; one of the two must be given).

    :class:`Encoding` of a batch: ``payload`` = list of container ``bytes`` (one per clip); ``bits`` = ``(B,)``
    actual packet bits; ``extras``: ``codec``, ``encoder``, ``decoder``, ``container``, ``options``,
    ``quality_option``, ``quality`` (chosen value per clip), ``target_bpp``, ``bpp`` (actual, per clip),
    ``target_met``, ``within_tolerance``, ``trials`` (number of encodes per clip), ``tolerance``.
    """

    family = "codec"
    kind = "codec"
    vocab_size = None
    text_aligned = False
    num_levels = 1
    input_constraints = InputConstraints(t_multiple=1, t_offset=0, hw_multiple=2, min_frames=1)

    def __init__(self, name: str, spec: CodecSpec, target_bpp: float | None = None, tolerance: float = 0.05,
                 max_trials: int = 16, fps: int = 30):
        if target_bpp is not None and not float(target_bpp) > 0:
            raise ValueError(f"{name}: bpp must be positive, got {target_bpp}")
        if not 0 <= float(tolerance) < 1 or int(max_trials) < 2:
            raise ValueError(f"{name}: need 0 <= tolerance < 1 and max_trials >= 2, got {tolerance}, {max_trials}")
        self.name = name
        self.spec = spec
        self.target_bpp = None if target_bpp is None else float(target_bpp)
        self.tolerance = float(tolerance)
        self.max_trials = int(max_trials)
        self.fps = int(fps)

    @property
    def checkpoint(self) -> Checkpoint:
        import av

        return Checkpoint("none", detail=f"{self.spec.encoder} via PyAV {av.__version__} "
                                         f"(libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))})")

    def params(self) -> None:
        return None

    def config(self) -> dict:
        import av

        return {"codec": self.spec.encoder, "bpp": self.target_bpp, "tolerance": self.tolerance,
                "max_trials": self.max_trials, "fps": self.fps, "options": dict(self.spec.options),
                "pyav": av.__version__, "libavcodec": list(av.library_versions["libavcodec"])}

    @torch.no_grad()
    def encode(self, video: Tensor, texts: list[str] | None = None, *, bpp: float | None = None) -> Encoding:
        """``(B, 3, T, H, W)`` in [-1, 1] -> :class:`Encoding` with every clip coded at ``bpp`` (or the
        tokenizer's target). ``texts`` are ignored (a codec is not text conditioned)."""
        self.input_constraints.check(video, self.name)
        target = self.target_bpp if bpp is None else float(bpp)
        if target is None:
            raise ValueError(f"{self.name}: no target bits per pixel; build it with bpp=... or pass "
                             "encode(video, bpp=...)")
        B, _, T, H, W = video.shape
        target_bits = target * T * H * W
        payload, bits, extras = [], [], {k: [] for k in ("quality", "bpp", "target_met", "within_tolerance",
                                                            "trials")}
        for i in range(B):
            planes = rgb_to_yuv420(video_to_rgb(video[i]))
            res = encode_at_bits(planes, self.spec, target_bits, self.tolerance, self.max_trials, self.fps)
            payload.append(res.chosen.data)
            bits.append(res.chosen.bits)
            extras["quality"].append(res.chosen.quality)
            extras["bpp"].append(res.chosen.bits / (T * H * W))
            extras["target_met"].append(res.target_met)
            extras["within_tolerance"].append(res.within_tolerance)
            extras["trials"].append(len(res.trials))
        extras.update(codec=self.spec.label, encoder=self.spec.encoder, decoder=self.spec.decoder,
                      container=self.spec.container, options=dict(self.spec.options),
                      quality_option=self.spec.quality_option, target_bpp=target, tolerance=self.tolerance,
                      rate="sum of encoded packet sizes x 8 (container framing excluded)")
        return Encoding(payload=payload, input_shape=tuple(video.shape),
                        bits=torch.tensor(bits, dtype=torch.float64), extras=extras)

    @torch.no_grad()
    def decode(self, encoding: Encoding) -> Tensor:
        T = encoding.input_shape[2]
        clips = [rgb_to_video(yuv420_to_rgb(*decode_bitstream(data, self.spec, frames=T)))
                 for data in encoding.payload]
        return torch.stack(clips)


def build(name: str, codec: str, bpp: float | None = None, tolerance: float = 0.05,
          max_trials: int = 16, fps: int = 30, **unknown) -> CodecTokenizer:
    """Registry factory: ``h264`` (libx264), ``hevc`` (libx265), ``av1`` (libsvtav1), ``vp9`` (libvpx-vp9).

    ``bpp``: target bits per pixel (benchmarks may pass their own per call); ``tolerance``: relative shortfall
    below the target at which the search stops; ``max_trials``: encodes per clip at most; ``fps``: frame rate
    written in the stream (MCL-JCV's sources are 24-30 fps; the rate search makes the bit count independent of it)."""
    if unknown:
        raise TypeError(f"{name}: unknown option(s) {sorted(unknown)}; valid: codec, bpp, tolerance, max_trials, fps")
    spec = require_encoder(codec)
    return CodecTokenizer(name, spec, bpp, tolerance, max_trials, fps)
