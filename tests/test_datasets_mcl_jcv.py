"""MCL-JCV raw YUV 4:2:0 reader: byte layout, frame count from file size, and the YUV -> RGB conversion checked
against FFmpeg's swscale (through PyAV), scikit-image's BT.601 ycbcr2rgb and hand-worked colour values."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
from benchmarks.datasets.mcl_jcv import (
    MCLJCVDataset,
    open_yuv,
    parse_yuv_name,
    read_yuv_planes,
    read_yuv_rgb,
    yuv420_frame_bytes,
    yuv420_to_rgb,
)


def _planes(rng, t, h, w):
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (rng.integers(0, 256, (t, h, w), dtype=np.uint8), rng.integers(0, 256, (t, ch, cw), dtype=np.uint8),
            rng.integers(0, 256, (t, ch, cw), dtype=np.uint8))


def _write_yuv(path, y, u, v):
    # Planar 4:2:0: per frame the Y plane, then U, then V, no header.
    with open(path, "wb") as f:
        for k in range(y.shape[0]):
            f.write(y[k].tobytes())
            f.write(u[k].tobytes())
            f.write(v[k].tobytes())
    return path


def test_parse_name_and_frame_bytes():
    assert parse_yuv_name("videoSRC01_1920x1080_30.yuv") == (1, 1920, 1080, 30.0)
    assert parse_yuv_name("/x/videoSRC13_1920x1080_24.yuv") == (13, 1920, 1080, 24.0)
    assert parse_yuv_name("videoSRC07_256x128_29.97.yuv") == (7, 256, 128, 29.97)
    assert yuv420_frame_bytes(1920, 1080) == 3110400  # 1920*1080*1.5
    assert yuv420_frame_bytes(5, 3) == 15 + 2 * 3 * 2  # odd sizes: chroma ceil(5/2) x ceil(3/2)
    with pytest.raises(DatasetFormatError, match="videoSRC<NN>_<W>x<H>_<fps>.yuv"):
        parse_yuv_name("SRC01_1920x1080.yuv")


@pytest.mark.parametrize("h, w", [(8, 16), (3, 5)])
def test_planes_roundtrip_and_frame_count(tmp_path, h, w):
    rng = np.random.default_rng(0)
    y, u, v = _planes(rng, 4, h, w)
    p = _write_yuv(tmp_path / f"videoSRC02_{w}x{h}_25.yuv", y, u, v)
    video = open_yuv(p)
    assert (video.src_id, video.width, video.height, video.fps) == (2, w, h, 25.0)
    assert video.num_frames == 4 == p.stat().st_size // (h * w + 2 * ((h + 1) // 2) * ((w + 1) // 2))
    ys, us, vs = read_yuv_planes(video, [3, 1])
    np.testing.assert_array_equal(ys, y[[3, 1]])
    np.testing.assert_array_equal(us, u[[3, 1]])
    np.testing.assert_array_equal(vs, v[[3, 1]])
    with pytest.raises(SampleDecodeError, match="out of range"):
        read_yuv_planes(video, [4])


def test_wrong_size_file(tmp_path):
    p = tmp_path / "videoSRC03_16x8_30.yuv"
    p.write_bytes(bytes(192 * 2 + 50))  # two 16x8 frames (192 bytes each) plus 50 bytes
    with pytest.raises(DatasetFormatError) as e:
        open_yuv(p)
    msg = str(e.value)
    assert e.value.file == str(p) and "434 bytes" in msg and "192 bytes" in msg and "16x8" in msg
    (tmp_path / "videoSRC04_16x8_30.yuv").write_bytes(b"")
    with pytest.raises(DatasetFormatError, match="empty"):
        open_yuv(tmp_path / "videoSRC04_16x8_30.yuv")


def test_dataset_records_bad_files_and_carries_on(tmp_path):
    rng = np.random.default_rng(1)
    _write_yuv(tmp_path / "videoSRC10_16x8_30.yuv", *_planes(rng, 2, 8, 16))
    _write_yuv(tmp_path / "videoSRC02_16x8_25.yuv", *_planes(rng, 3, 8, 16))
    (tmp_path / "videoSRC05_16x8_30.yuv").write_bytes(bytes(100))  # not a whole frame
    (tmp_path / "clip.yuv").write_bytes(bytes(192))  # name does not say the size
    ds = MCLJCVDataset(tmp_path)
    assert [(v.src_id, v.num_frames) for v in ds.videos] == [(2, 3), (10, 2)]
    failed = {f.file.rsplit("/", 1)[-1]: f for f in ds.failures}
    assert set(failed) == {"videoSRC05_16x8_30.yuv", "clip.yuv"}
    assert "100 bytes" in failed["videoSRC05_16x8_30.yuv"].reason and failed["clip.yuv"].field == "file name"
    frames = ds.load_frames(ds.videos[0], [0, 2])
    assert frames.shape == (2, 8, 16, 3) and frames.dtype == np.uint8
    assert ds.load_frames(ds.videos[0], [1], size=(4, 8), resize_mode="exact").shape == (1, 4, 8, 3)
    assert [v.src_id for v, _ in ds.iter_frames([0])] == [2, 10]


@pytest.mark.parametrize("matrix, cs", [("bt709", "ITU709"), ("bt601", "ITU601")])
@pytest.mark.parametrize("color_range, rng_name", [("limited", "MPEG"), ("full", "JPEG")])
def test_rgb_matches_ffmpeg_swscale(matrix, cs, color_range, rng_name):
    import av
    from av.video.reformatter import Interpolation

    rng = np.random.default_rng(2)
    h, w = 16, 24
    y, u, v = (p[0] for p in _planes(rng, 1, h, w))
    if color_range == "limited":
        # Legal limited-range codes only: swscale's integer path wraps around on far out-of-range input
        # (e.g. Y=254, Cb=245 gives B=0 instead of saturating), which is its artefact, not a reference.
        y, u, v = np.clip(y, 16, 235), np.clip(u, 16, 240), np.clip(v, 16, 240)
    frame = av.VideoFrame.from_ndarray(np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w),
                                       format="yuv420p")
    # POINT = chroma sample repetition (our upsampling); ACCURATE_RND/BITEXACT/FULL_CHR_H_INT = exact arithmetic.
    flags = Interpolation.POINT | Interpolation.ACCURATE_RND | Interpolation.BITEXACT | Interpolation.FULL_CHR_H_INT
    ref = frame.reformat(format="rgb24", src_colorspace=cs, dst_colorspace=cs, src_color_range=rng_name,
                         dst_color_range="JPEG", interpolation=flags).to_ndarray()
    ours = yuv420_to_rgb(y, u, v, matrix, color_range)
    assert ours.shape == (h, w, 3)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
    # And the wrong matrix is measurably different (the test can tell the matrices apart).
    other = yuv420_to_rgb(y, u, v, "bt601" if matrix == "bt709" else "bt709", color_range)
    assert np.abs(other.astype(int) - ref.astype(int)).max() > 5


def test_rgb_bt601_limited_matches_skimage():
    from skimage.color import ycbcr2rgb

    rng = np.random.default_rng(3)
    y, u, v = (p[0] for p in _planes(rng, 1, 10, 14))
    up = lambda c: np.repeat(np.repeat(c, 2, 0), 2, 1)  # noqa: E731
    ref = ycbcr2rgb(np.stack([y, up(u), up(v)], -1).astype(np.float64))  # ITU-R BT.601, Y in [16, 235]
    ref = np.round(np.clip(ref, 0, 1) * 255).astype(int)
    assert np.abs(yuv420_to_rgb(y, u, v, "bt601", "limited").astype(int) - ref).max() <= 1


def test_rgb_hand_worked_bt709_limited():
    def one(Y, Cb, Cr):
        return yuv420_to_rgb(np.full((2, 2), Y, np.uint8), np.full((1, 1), Cb, np.uint8), np.full((1, 1), Cr, np.uint8))[0, 0]

    assert one(16, 128, 128).tolist() == [0, 0, 0]
    assert one(235, 128, 128).tolist() == [255, 255, 255]
    # BT.709 red: Y = 16 + 219 * 0.2126 = 62.6, Cb = 128 - 112 * 0.2126 / 0.9278 = 102.3, Cr = 240.
    r = one(63, 102, 240).astype(int)
    assert abs(r[0] - 255) <= 1 and r[1] <= 1 and r[2] <= 1
    # Out-of-gamut codes saturate: B = (254-16)/219 + 1.8556 * (245-128)/224 > 1 -> 255.
    assert one(254, 245, 135)[2] == 255
    # Mid grey stays grey: R = G = B = 255 * (126 - 16) / 219 = 128.08.
    assert one(126, 128, 128).tolist() == [128, 128, 128]


def test_read_yuv_rgb_default_is_bt709_limited(tmp_path):
    rng = np.random.default_rng(4)
    y, u, v = _planes(rng, 2, 8, 8)
    video = open_yuv(_write_yuv(tmp_path / "videoSRC01_8x8_30.yuv", y, u, v))
    np.testing.assert_array_equal(read_yuv_rgb(video), yuv420_to_rgb(y, u, v, "bt709", "limited"))
