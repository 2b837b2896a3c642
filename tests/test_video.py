"""pyratok.data.video: decoding against independent references, sampling rules, conversions and bad input.

References: a plain sequential PyAV decode of every frame (no seeking, no timestamp arithmetic), the metadata the
real clips are documented with (realdata/README.md), arrays written to lossless files, and hand-worked index lists.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.datasets.errors import SampleDecodeError
from pyratok.data.video import (
    VideoInfo,
    frames_to_tensor,
    list_frame_files,
    probe_video,
    read_clip,
    read_frame_folder,
    read_frames,
    read_image,
    resize_frames,
    sample_indices,
    tensor_to_frames,
    write_video,
)

av = pytest.importorskip("av")


def sequential_frames(path, upto: int) -> list[np.ndarray]:
    """Frames 0..upto decoded in order from a fresh container: the reference for frame numbering and pixels."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) > upto:
                break
    return out


def moving_square(T=12, H=48, W=64) -> np.ndarray:
    x = np.zeros((T, H, W, 3), np.uint8)
    x[..., 0] = np.linspace(0, 255, W, dtype=np.uint8)[None, None, :]
    for t in range(T):
        x[t, 8:24, 3 * t : 3 * t + 16, 1] = 255
    return x


# ---------------------------------------------------------------------------------------------------- probing
@pytest.mark.parametrize(
    "name,frames,width,height,fps",
    [  # as documented in realdata/README.md
        ("kinetics_arm_wrestling.mp4", 280, 340, 256, 28),
        ("mmaction2_test.mp4", 300, 340, 256, 30),
        ("ucf_apply_eye_makeup.avi", 164, 320, 240, 25),
        ("realshort.mp4", 36, 320, 240, None),
    ],
)
def test_probe_matches_documented_metadata(realdata, name, frames, width, height, fps):
    info = probe_video(realdata / "videos" / name)
    assert isinstance(info, VideoInfo)
    assert (info.num_frames, info.width, info.height) == (frames, width, height)
    if fps is not None:
        assert info.fps == pytest.approx(fps)
    assert info.duration == pytest.approx(info.num_frames / info.fps, rel=0.05)


def test_probe_count_frames_equals_sequential_decode(realdata):
    for name in ("realshort.mp4", "ucf_apply_eye_makeup.avi"):
        path = realdata / "videos" / name
        n = len(sequential_frames(path, 10**6))
        assert probe_video(path, count_frames=True).num_frames == n


# ---------------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(
    "name,indices",
    [
        # keyframes at 0, 187, 230, 268: far indices force seeks, near ones decode through
        ("kinetics_arm_wrestling.mp4", [279, 0, 200, 201, 140, 140, 3, 240]),
        # mpeg4 AVI with packed B-frames: packet timestamps are shuffled, numbering must still be sequential
        ("ucf_apply_eye_makeup.avi", [163, 0, 81, 82, 40, 120]),
        # keyframes every 30-60 frames
        ("bikes.mp4", [249, 5, 100, 31, 160, 161, 200]),
        ("realshort.mp4", [35, 0, 17]),
    ],
)
def test_read_frames_equals_sequential_decode(realdata, name, indices):
    path = realdata / "videos" / name
    ref = sequential_frames(path, max(indices))
    got = read_frames(path, indices)
    assert got.dtype == np.uint8 and got.shape == (len(indices),) + ref[0].shape
    for j, i in enumerate(indices):
        np.testing.assert_array_equal(got[j], ref[i], err_msg=f"{name} frame {i}")


def test_seek_into_later_gop_of_x264_444_file(realdata):
    # cockatoo.mp4 (x264, High 4:4:4) decodes to garbage when a fresh decoder starts at a later IDR frame without
    # the SEI of the first packet; read_frames primes the decoder. Keyframe 145 is the last GOP.
    path = realdata / "videos" / "cockatoo.mp4"
    ref = sequential_frames(path, 146)
    got = read_frames(path, [146])
    np.testing.assert_array_equal(got[0], ref[146])


def test_read_all_frames_and_times(realdata):
    path = realdata / "videos" / "realshort.mp4"
    ref = np.stack(sequential_frames(path, 10**6))
    np.testing.assert_array_equal(read_frames(path), ref)
    info = probe_video(path)
    # times pick the nearest frame: 10.4 frame periods -> frame 10; 0.49 -> 0; the very end -> the last frame
    times = [10.4 / info.fps, 0.49 / info.fps, info.num_frames / info.fps]
    got = read_frames(path, times=times)
    for j, i in enumerate([10, 0, info.num_frames - 1]):
        np.testing.assert_array_equal(got[j], ref[i])
    with pytest.raises(SampleDecodeError, match="past the end"):
        read_frames(path, times=[info.duration + 1.0])


def test_resize_and_crop_shapes(realdata):
    path = realdata / "videos" / "kinetics_arm_wrestling.mp4"  # 340 x 256
    assert read_frames(path, [0, 1], size=128).shape == (2, 128, 170, 3)
    assert read_frames(path, [0], size=(64, 96), resize_mode="exact").shape == (1, 64, 96, 3)
    full = read_frames(path, [0], size=128)
    crop = read_frames(path, [0], size=128, crop="center")
    assert crop.shape == (1, 128, 128, 3)
    left = (170 - 128) // 2
    np.testing.assert_array_equal(crop, full[:, :, left : left + 128])
    # (h, w) with short_side: smallest scale covering 100 x 200 is 200/340, giving 151 x 200, then crop
    assert read_frames(path, [0], size=(100, 200), crop="center").shape == (1, 100, 200, 3)


def test_resize_of_constant_image_is_constant_and_downsample_is_antialiased():
    flat = np.full((2, 30, 40, 3), 77, np.uint8)
    out = resize_frames(flat, 15)
    assert out.shape == (2, 15, 20, 3) and (out == 77).all()
    # a 1-pixel checkerboard has mean 127.5; an antialiased 4x downsample averages it to ~mid grey
    checker = ((np.indices((64, 64)).sum(0) % 2) * 255).astype(np.uint8)
    img = np.repeat(checker[..., None], 3, axis=2)
    small = resize_frames(img, 16)
    assert abs(float(small.mean()) - 127.5) < 3 and small.std() < 10


# ---------------------------------------------------------------------------------------------------- sampling
def test_sample_indices_hand_worked():
    assert sample_indices(10, 5) == [1, 3, 5, 7, 9]  # segment midpoints floor((i + 0.5) * 10 / 5)
    assert sample_indices(3, 6) == [0, 0, 1, 1, 2, 2]  # more samples than frames: repeats
    assert sample_indices(10, 4, stride=2, mode="center") == [1, 3, 5, 7]  # span 7, start (10 - 7) // 2
    assert sample_indices(10, 4, stride=2, mode="start") == [0, 2, 4, 6]
    assert sample_indices(17, 17, mode="center") == list(range(17))
    r = sample_indices(100, 8, stride=3, mode="random", rng=np.random.default_rng(1))
    assert r == sample_indices(100, 8, stride=3, mode="random", rng=np.random.default_rng(1))
    assert np.all(np.diff(r) == 3) and r[0] >= 0 and r[-1] < 100
    starts = {sample_indices(20, 5, mode="random", rng=s)[0] for s in range(200)}
    assert starts == set(range(16))  # every legal start is reachable


def test_sample_indices_rejects_bad_requests():
    with pytest.raises(ValueError, match="spans"):
        sample_indices(10, 6, stride=2, mode="center")
    with pytest.raises(ValueError, match="stride must be None"):
        sample_indices(10, 3, stride=2, mode="uniform")
    with pytest.raises(ValueError, match="unknown sampling mode"):
        sample_indices(10, 3, mode="middle")
    with pytest.raises(ValueError):
        sample_indices(0, 3)


def test_read_clip_and_too_short_clip(tmp_path):
    frames = moving_square(T=12)
    path = write_video(tmp_path / "a.mkv", frames, 12, codec="ffv1", pix_fmt="bgr0")
    clip = read_clip(path, 4, stride=2, mode="start")
    np.testing.assert_array_equal(clip, frames[[0, 2, 4, 6]])
    with pytest.raises(SampleDecodeError, match="spans"):
        read_clip(path, 17, mode="center")


# ---------------------------------------------------------------------------------------------------- tensors
def test_frames_tensor_conversion_hand_values():
    frames = np.array([0, 255, 128, 51], np.uint8).reshape(1, 2, 2, 1).repeat(3, axis=3)
    t = frames_to_tensor(frames)
    assert t.shape == (3, 1, 2, 2) and t.dtype == torch.float32
    np.testing.assert_allclose(t[0, 0].numpy(), [[-1.0, 1.0], [128 / 127.5 - 1, 51 / 127.5 - 1]], atol=1e-6)
    np.testing.assert_array_equal(tensor_to_frames(t), frames)
    batch = frames_to_tensor(np.stack([frames, frames]))
    assert batch.shape == (2, 3, 1, 2, 2)
    # out-of-range values clamp; half-way values round to nearest
    v = torch.tensor([-3.0, 3.0, 0.0, 2 * 100.4 / 255 - 1]).reshape(1, 1, 1, 4).repeat(3, 1, 1, 1)
    assert tensor_to_frames(v)[0, 0, :, 0].tolist() == [0, 255, 128, 100]
    with pytest.raises(TypeError):
        frames_to_tensor(frames.astype(np.float32))


# ---------------------------------------------------------------------------------------------------- writing
def test_write_video_lossless_roundtrip_and_metadata(tmp_path):
    frames = moving_square()
    path = write_video(tmp_path / "x.mkv", frames, 30000 / 1001, codec="ffv1", pix_fmt="bgr0")
    info = probe_video(path)
    assert (info.num_frames, info.width, info.height) == (12, 64, 48)
    assert info.fps == pytest.approx(30000 / 1001, rel=1e-6)
    np.testing.assert_array_equal(read_frames(path), frames)
    np.testing.assert_array_equal(read_frames(path, [11, 2]), frames[[11, 2]])


def test_write_video_h264_quality(tmp_path):
    frames = moving_square()
    path = write_video(tmp_path / "x.mp4", frames, 24, crf=12)
    got = read_frames(path)
    assert got.shape == frames.shape
    mse = np.mean((got.astype(np.float64) - frames) ** 2)
    assert 10 * np.log10(255**2 / mse) > 30
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", frames[:, :47], 24)


# ---------------------------------------------------------------------------------------------------- bad input
def test_missing_empty_garbage_and_truncated_files(tmp_path):
    good = write_video(tmp_path / "good.mp4", moving_square(), 24)
    data = good.read_bytes()
    (tmp_path / "trunc.mp4").write_bytes(data[: len(data) // 2])  # index (moov) at the end is cut off
    (tmp_path / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp_path / "empty.mp4").write_bytes(b"")
    cases = {"trunc.mp4": "cannot open", "garbage.mp4": "cannot open", "empty.mp4": "empty", "missing.mp4": "does not exist"}
    for name, reason in cases.items():
        for fn in (probe_video, read_frames):
            with pytest.raises(SampleDecodeError, match=reason) as err:
                fn(tmp_path / name)
            assert err.value.file == str(tmp_path / name)


def test_truncated_stream_with_index_first(tmp_path):
    # faststart puts the index first, so the header still promises every frame after the data is cut
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (30, 48, 64, 3), dtype=np.uint8)  # noise: large frames, data spread evenly
    path = write_video(tmp_path / "fs.mp4", frames, 24, container_options={"movflags": "+faststart"})
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert probe_video(cut).num_frames == 30
    assert read_frames(cut, [0]).shape == (1, 48, 64, 3)  # what is there still reads
    with pytest.raises(SampleDecodeError) as err:
        read_frames(cut, [29])
    assert err.value.file == str(cut)


def test_zero_length_clip(tmp_path):
    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as c:  # a valid header and no frames
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    for fn in (probe_video, read_frames):
        with pytest.raises(SampleDecodeError):
            fn(path)


def test_out_of_range_indices(tmp_path):
    path = write_video(tmp_path / "a.mp4", moving_square(), 24)
    for bad in ([12], [-1], [0, 40]):
        with pytest.raises(SampleDecodeError, match="out of range"):
            read_frames(path, bad)


# ---------------------------------------------------------------------------------------------------- images
def test_frame_folder_natural_order_and_errors(tmp_path):
    frames = moving_square(T=11, H=16, W=20)
    folder = tmp_path / "vid"
    folder.mkdir()
    for t in range(11):  # img_1 .. img_11: lexicographic order would put img_10 before img_2
        Image.fromarray(frames[t]).save(folder / f"img_{t + 1}.png")
    (folder / "notes.txt").write_text("not a frame")
    assert [f.name for f in list_frame_files(folder)][:3] == ["img_1.png", "img_2.png", "img_3.png"]
    np.testing.assert_array_equal(read_frame_folder(folder), frames)
    np.testing.assert_array_equal(read_frame_folder(folder, [10, 1]), frames[[10, 1]])
    assert read_frame_folder(folder, [0], size=8, crop="center").shape == (1, 8, 8, 3)
    with pytest.raises(SampleDecodeError, match="out of range"):
        read_frame_folder(folder, [11])
    with pytest.raises(SampleDecodeError, match="does not exist"):
        read_frame_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SampleDecodeError, match="no image files"):
        read_frame_folder(tmp_path / "empty")
    Image.fromarray(frames[0][:8]).save(folder / "img_12.png")
    with pytest.raises(SampleDecodeError, match="different sizes"):
        read_frame_folder(folder)


def test_read_image_modes_and_corrupt(tmp_path, realdata):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey, mode="L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.shape == (3, 4, 3) and all((img[..., c] == grey).all() for c in range(3))
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(SampleDecodeError, match="cannot decode"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(SampleDecodeError, match="does not exist"):
        read_image(tmp_path / "none.jpg")
    coco = realdata / "coco-mini" / "val2017" / "000000000139.jpg"
    with Image.open(coco) as im:
        ref = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(read_image(coco), ref)
    assert read_image(coco, 100, crop="center").shape == (100, 100, 3)
