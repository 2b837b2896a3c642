"""Every container/codec pair the installed FFmpeg can encode is read back by ``probe_video`` + ``read_frames``.

The same synthetic clip (a colour gradient, a checkerboard patch, a square that moves about a pixel per frame, and
the frame index drawn in binary as black/white blocks) is
written with PyAV directly (not with ``write_video``) into each pair, then read with the project's readers and
compared with the source: the exact frame count, a PSNR bound per codec (scikit-image's
``peak_signal_noise_ratio`` is the reference), each decoded frame showing its own index (no off-by-one or
reordering), and a seek-path read (indices far enough apart that the reader seeks) equal to the full decode.
Pairs whose encoder the installed FFmpeg lacks are skipped, naming the encoder. The PSNR bounds sit about 3 dB
below what the codecs' default rate control reached on this clip when the matrix was written (synthetic data).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pyratok.data.errors import SampleDecodeError
from pyratok.data.video import probe_video, read_frames

av = pytest.importorskip("av")
skimage_metrics = pytest.importorskip("skimage.metrics")

T, FPS = 40, 25  # 40 frames: index 36 is more than the reader's 32-frame seek gap after index 2, so it seeks


CODE_BITS = 6  # enough for T = 40 frames
BLOCK_H, BLOCK_W = (lambda h: h // 6), (lambda w: w // CODE_BITS)


def frame_codes(frames: np.ndarray) -> list[int]:
    """The frame index each frame shows in its top blocks (each block's mean thresholded at mid-grey)."""
    t, h, w, _ = frames.shape
    bh, bw = BLOCK_H(h), BLOCK_W(w)
    means = [frames[:, 1 : bh - 1, b * bw + 1 : (b + 1) * bw - 1].mean(axis=(1, 2, 3)) for b in range(CODE_BITS)]
    return [sum(int(means[b][k] > 125) << b for b in range(CODE_BITS)) for k in range(t)]


def make_clip(h: int, w: int, t: int = T) -> np.ndarray:
    """``(t, h, w, 3)`` uint8: gradient, checkerboard patch, a square moving ~1 px/frame, the index in binary."""
    yy, xx = np.mgrid[0:h, 0:w]
    clip = np.empty((t, h, w, 3), np.uint8)
    s = max(8, h // 6)
    for i in range(t):
        f = np.empty((h, w, 3), np.float64)
        f[..., 0] = 40 + 160 * xx / w
        f[..., 1] = 60 + 120 * yy / h
        f[..., 2] = 90 + 3 * i  # slow global brightness change
        check = ((yy // 4 + xx // 4) % 2 == 0) & (yy >= h - 3 * s) & (xx < 2 * s)
        f[check] = 230
        x0, y0 = 2 + i * (w - s - 4) // t, 2 + i * (h // 2) // t
        f[y0 : y0 + s, x0 : x0 + s] = (250, 240, 20)
        for b in range(CODE_BITS):  # the frame index in binary, one black/white block per bit, along the top
            f[:BLOCK_H(h), b * BLOCK_W(w) : (b + 1) * BLOCK_W(w)] = 235 if (i >> b) & 1 else 16
        clip[i] = np.clip(f, 0, 255).round().astype(np.uint8)
    return clip


# (id, file name, encoder, pix_fmt, (h, w), PSNR bound in dB, decoded codec as ffprobe names it). Measured PSNR
# (PyAV 18.1 / libavcodec 62.28, default rate control): h264 29.4, vp9 29.3, vp8 29.2, mpeg4 24.1, mjpeg 25.7,
# flv1 24.1, mpeg2video 24.2, h263 27.0, prores 33.9. Theora's bound is unmeasured (no encoder where written).
MATRIX = [
    ("mp4-h264", "clip.mp4", "libx264", "yuv420p", (48, 64), 26, "h264"),
    ("mkv-vp9", "clip.mkv", "libvpx-vp9", "yuv420p", (48, 64), 26, "vp9"),
    ("webm-vp8", "clip.webm", "libvpx", "yuv420p", (48, 64), 26, "vp8"),
    ("avi-mpeg4", "clip.avi", "mpeg4", "yuv420p", (48, 64), 21, "mpeg4"),
    ("avi-mjpeg", "clip_mjpeg.avi", "mjpeg", "yuvj420p", (48, 64), 22, "mjpeg"),
    ("flv-flv1", "clip.flv", "flv", "yuv420p", (48, 64), 21, "flv1"),
    ("mpg-mpeg2video", "clip.mpg", "mpeg2video", "yuv420p", (48, 64), 21, "mpeg2video"),
    ("ts-h264", "clip.ts", "libx264", "yuv420p", (48, 64), 26, "h264"),
    ("3gp-h263", "clip.3gp", "h263", "yuv420p", (144, 176), 24, "h263"),
    ("mov-prores", "clip.mov", "prores_ks", "yuv422p10le", (48, 64), 30, "prores"),
    ("ogv-theora", "clip.ogv", "libtheora", "yuv420p", (48, 64), 24, "theora"),
    ("ogv-vp8", "clip_vp8.ogv", "libvpx", "yuv420p", (48, 64), 26, "vp8"),
]


def encoder_or_skip(name: str):
    try:
        return av.Codec(name, "w")
    except Exception:
        pytest.skip(f"the installed FFmpeg (libavcodec {av.library_versions['libavcodec']}) has no {name} encoder")


def write_clip(path, clip, encoder, pix_fmt, start_frame=0, audio=None):
    """Write ``clip`` with PyAV; frame i gets pts ``start_frame + i`` in 1/FPS; optional audio track ``audio``."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream(encoder, rate=FPS)
        vs.height, vs.width = clip.shape[1:3]
        vs.pix_fmt = pix_fmt
        a_s = c.add_stream(audio, rate=44100) if audio else None
        for i, img in enumerate(clip):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = start_frame + i, Fraction(1, FPS)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a_s is not None:  # 1 s of a 440 Hz tone, so the audio track spans the video
            n = 1024
            for k in range(44100 // n):
                tone = 0.2 * np.sin(2 * np.pi * 440 * (np.arange(n) + k * n) / 44100)
                af = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp", layout="mono")
                af.sample_rate, af.pts = 44100, k * n
                for p in a_s.encode(af):
                    c.mux(p)
            for p in a_s.encode():
                c.mux(p)
    return path


def check_read_back(path, clip, psnr_bound, codec_name):
    info = probe_video(path)
    assert info.num_frames == len(clip), f"{path.name}: probe says {info.num_frames} frames, wrote {len(clip)}"
    assert (info.height, info.width) == clip.shape[1:3]
    assert info.fps == pytest.approx(FPS, rel=1e-3)
    assert probe_video(path, count_frames=True).num_frames == len(clip)

    with av.open(str(path)) as c:  # the pair really is what the row says
        assert c.streams.video[0].codec_context.codec.canonical_name == codec_name

    got = read_frames(path)
    assert got.shape == clip.shape and got.dtype == np.uint8
    psnr = skimage_metrics.peak_signal_noise_ratio(clip, got, data_range=255)
    assert psnr >= psnr_bound, f"{path.name}: PSNR {psnr:.2f} dB < bound {psnr_bound} dB"
    # Each decoded frame shows its own index: catches dropped, duplicated or reordered frames.
    assert frame_codes(got) == list(range(len(clip)))

    # Unsorted, repeated, far-apart indices: the reader seeks; the frames equal the full sequential decode.
    idx = [36, 2, 36, 3]
    np.testing.assert_array_equal(read_frames(path, idx), got[idx])


@pytest.mark.parametrize("row", MATRIX, ids=[r[0] for r in MATRIX])
def test_container_codec_pair_reads_back(tmp_path, row):
    _, name, encoder, pix_fmt, (h, w), bound, codec_name = row
    encoder_or_skip(encoder)
    clip = make_clip(h, w)
    path = write_clip(tmp_path / name, clip, encoder, pix_fmt)
    check_read_back(path, clip, bound, codec_name)


@pytest.mark.parametrize(
    "variant", [dict(start_frame=5), dict(audio="aac"), dict(start_frame=5, audio="aac")],
    ids=["starts-at-0.2s", "with-aac-audio", "late-start-and-audio"],
)
def test_flv_whose_video_does_not_start_at_zero(tmp_path, variant):
    """Real FLV files (an audio track, or a stream that starts late) have no frame count in the header and a first
    keyframe after t=0; probing used to seek to t=0 first, which FFmpeg's index-less FLV seek refuses (EPERM)."""
    encoder_or_skip("flv")
    if "audio" in variant:
        encoder_or_skip(variant["audio"])
    clip = make_clip(48, 64)
    path = write_clip(tmp_path / "late.flv", clip, "flv", "yuv420p", **variant)
    with av.open(str(path)) as c:  # the condition that broke probing holds for this file
        assert c.streams.video[0].start_time > 0
    check_read_back(path, clip, 21, "flv1")


def test_undecodable_stream_error_names_file_and_codec(tmp_path):
    """A stream the FFmpeg decoder rejects (here MJPEG packets whose JPEG data is overwritten with noise, in a valid
    AVI) raises SampleDecodeError naming the file, the codec and the container."""
    encoder_or_skip("mjpeg")
    clip = make_clip(48, 64, t=6)
    good = write_clip(tmp_path / "good.avi", clip, "mjpeg", "yuvj420p")
    data = bytearray(good.read_bytes())
    noise = np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes()
    soi = 0
    while (soi := data.find(b"\xff\xd8\xff", soi)) >= 0:  # keep each frame's SOI marker, scramble what follows
        data[soi + 3 : soi + 200] = noise[soi + 3 : soi + 200]
        soi += 200
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    with pytest.raises(SampleDecodeError) as err:
        read_frames(bad)
    msg = str(err.value)
    assert err.value.file == str(bad) and str(bad) in msg
    assert "codec mjpeg" in msg and "container avi" in msg  # "avi" alone would match the file name
