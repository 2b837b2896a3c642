"""Training pairs: CSV formats, clip sampling, buckets, failures, determinism and resume of the data stream.

Videos are written here with ``write_video``: every frame is a flat grey of value ``8 * i + 8`` (frame ``i``), so a
decoded clip reveals which source frames it holds (the independent reference for clip sampling).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchmarks.datasets.errors import DatasetFormatError
from pyratok.data.pairs import (
    BucketBatchSampler,
    DataPosition,
    FailureLog,
    PairDataset,
    aspect_key,
    bucket_shape,
    clip_indices,
    collate_pairs,
    load_pairs,
    make_loader,
    probe_pairs,
)
from pyratok.data.video import write_video

N_FRAMES = 20


def _grey_video(path, h, w, n=N_FRAMES, offset=0):
    frames = np.stack([np.full((h, w, 3), 8 * i + 8 + offset, np.uint8) for i in range(n)])
    write_video(path, frames, fps=10, crf=0)


@pytest.fixture(scope="module")
def webvid(tmp_path_factory):
    """WebVid layout: 6 square videos, 4 wide (16:9) ones, one corrupt file, one missing file, one empty caption."""
    root = tmp_path_factory.mktemp("webvid")
    rows = ["videoid,contentUrl,duration,page_dir,name"]
    for i in range(10):
        page = f"{i % 2:03d}"
        h, w = (32, 32) if i < 6 else (36, 64)
        _grey_video(root / "videos" / page / f"{1000 + i}.mp4", h, w, offset=i)
        rows.append(f"{1000 + i},http://x/{i}.mp4,PT00H00M02S,{page},\"clip {i}, a caption\"")
    (root / "videos" / "000" / "2000.mp4").write_bytes(b"not a video at all")
    rows.append("2000,http://x/c.mp4,PT00H00M02S,000,corrupt clip")
    rows.append("2001,http://x/m.mp4,PT00H00M02S,001,missing clip")
    rows.append("2002,http://x/e.mp4,PT00H00M02S,001,")
    (root / "results_10M_train.csv").write_text("\n".join(rows) + "\n")
    return root


def _load(root, log=None):
    log = log if log is not None else FailureLog()
    pairs = load_pairs(root / "results_10M_train.csv", root / "videos", failures=log)
    return probe_pairs(pairs, failures=log), log


def test_webvid_csv_paths_and_failures(webvid, tmp_path):
    log = FailureLog(tmp_path / "failures.jsonl")
    pairs = load_pairs(webvid / "results_10M_train.csv", webvid / "videos", failures=log)
    assert len(pairs) == 12  # 10 good + corrupt + missing; the empty caption row is skipped
    assert pairs[0].path == str(webvid / "videos" / "000" / "1000.mp4")
    assert pairs[0].caption == "clip 0, a caption"
    assert len(log) == 1 and "empty caption" in log.failures[0].reason
    probed = probe_pairs(pairs, failures=log)
    assert len(probed) == 10
    files = {f.file for f in log.failures}
    assert str(webvid / "videos" / "000" / "2000.mp4") in files and str(webvid / "videos" / "001" / "2001.mp4") in files
    assert (tmp_path / "failures.jsonl").read_text().count("\n") == 3
    assert probed[0].num_frames == N_FRAMES and (probed[0].width, probed[0].height) == (32, 32)


def test_openvid_and_generic_csv(tmp_path):
    _grey_video(tmp_path / "video" / "a.mp4", 32, 32)
    (tmp_path / "OpenVid-1M.csv").write_text(
        "video,caption,aesthetic score,motion score,temporal consistency score,camera motion,frame,fps,seconds\n"
        "a.mp4,a grey square,5,1,1,static,20,10,2\n")
    pairs = load_pairs(tmp_path / "OpenVid-1M.csv", tmp_path / "video")
    assert [(p.path, p.caption) for p in pairs] == [(str(tmp_path / "video" / "a.mp4"), "a grey square")]
    (tmp_path / "g.csv").write_text("path,caption\na.mp4,grey\n")
    assert load_pairs(tmp_path / "g.csv", tmp_path / "video")[0].caption == "grey"


def test_csv_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="training CSV not found"):
        load_pairs(tmp_path / "nope.csv", tmp_path)
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(DatasetFormatError, match="bad.csv.*matches no known pair format"):
        load_pairs(tmp_path / "bad.csv", tmp_path)
    with pytest.raises(FileNotFoundError, match="video root"):
        load_pairs(tmp_path / "bad.csv", tmp_path / "missing_root")


def test_aspect_buckets():
    assert aspect_key(640, 360) == ("16:9", False)
    assert aspect_key(480, 640) == ("4:3", True)
    assert aspect_key(100, 100) == ("1:1", False)
    assert aspect_key(1000, 480) == ("2:1", False)
    assert aspect_key(600, 400) == ("3:2", False)
    # pixel budget ~ r^2, ratio ~ aspect, multiples of the stride
    for aspect, ratio in [("1:1", 1), ("4:3", 4 / 3), ("3:2", 1.5), ("16:9", 16 / 9), ("2:1", 2)]:
        h, w = bucket_shape(512, aspect, False, 16)
        assert h % 16 == 0 and w % 16 == 0
        assert abs(math.log(w / h / ratio)) < 0.05
        assert abs(h * w / 512 ** 2 - 1) < 0.05
    assert bucket_shape(512, "16:9", True, 16) == bucket_shape(512, "16:9", False, 16)[::-1]


def test_clip_indices_stride_and_length():
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = clip_indices(20, 9, 2, rng)
        assert len(idx) == 9 and all(b - a == 2 for a, b in zip(idx, idx[1:])) and 0 <= idx[0] and idx[-1] < 20
    assert clip_indices(20, 9, 4, None) == list(range(1, 18, 2))  # stride 4 does not fit: 2 does; centred
    assert clip_indices(20, 5, 1, None) == list(range(7, 12))      # centred
    with pytest.raises(Exception, match="has 5 frames; the clip needs 9"):
        clip_indices(5, 9, 1, None, path="short.mp4")


def _stream(pairs, n_batches, workers=0, start=None, rank=0, world=1, batch=2, seed=7):
    sampler = BucketBatchSampler(pairs, batch_size=batch, resolutions=[32, 48], frames=[5, 9], multiple=16, seed=seed,
                                 rank=rank, world_size=world, start=start)
    loader = make_loader(PairDataset(pairs, frame_stride=2), sampler, num_workers=workers)
    out = []
    for i, b in enumerate(loader):
        out.append(b)
        if i + 1 == n_batches:
            break
    return out


def test_batches_share_a_bucket_and_match_source_frames(webvid):
    pairs, _ = _load(webvid)
    by_id = {p.id: p for p in pairs}
    for b in _stream(pairs, 8):
        v = b["video"]
        assert v.dtype == torch.float32 and v.shape[:2] == (2, 3) and v.shape[2] in (5, 9)
        assert v.min() >= -1 and v.max() <= 1
        h, w = v.shape[-2:]
        wide = {by_id[i].width > by_id[i].height for i in b["ids"]}
        assert len(wide) == 1  # one aspect group per batch
        assert (h, w) in ([(32, 32), (48, 48)] if not wide.pop() else [(32, 48), (32, 64)])
        for k, vid in enumerate(b["ids"]):
            # flat grey frames: value 8 * i + 8 + offset; the clip must be consecutive source frames 2 apart
            offset = int(vid) - 1000
            vals = ((v[k].mean(dim=(0, 2, 3)) + 1) * 127.5).numpy()
            src = (vals - 8 - offset) / 8
            assert np.allclose(src, np.round(src), atol=0.3)
            assert np.allclose(np.diff(np.round(src)), 2)


def test_corrupt_files_are_replaced_and_reported(webvid):
    log = FailureLog()
    pairs = load_pairs(webvid / "results_10M_train.csv", webvid / "videos", failures=log)
    # skip probing for the two bad files: they must then fail inside the worker and be replaced
    pairs = probe_pairs([p for p in pairs if "20" not in p.id[:2]]) + [
        type(p)(p.id, p.path, p.caption, N_FRAMES, 32, 32) for p in pairs if p.id in ("2000", "2001")]
    seen = []
    for b in _stream(pairs, 12, batch=4):
        assert b["video"].shape[0] == 4
        seen += b["failures"]
        assert not {"2000", "2001"} & set(b["ids"])
    files = {f.file for f in seen}
    assert any(f.endswith("2000.mp4") for f in files) and any(f.endswith("2001.mp4") for f in files)
    assert all(f.reason for f in seen)


def test_deterministic_across_workers_and_resume(webvid):
    pairs, _ = _load(webvid)
    ref = _stream(pairs, 7)
    again = _stream(pairs, 7, workers=2)
    for a, b in zip(ref, again):
        assert a["ids"] == b["ids"] and torch.equal(a["video"], b["video"])
    # resume at the data position after batch 3 (batches per epoch: 3 square + 2 wide = 5, so this crosses epochs)
    epoch, batch = ref[3]["position"]
    resumed = _stream(pairs, 3, start=DataPosition(epoch, batch + 1))
    for a, b in zip(ref[4:], resumed):
        assert a["position"] == b["position"] and a["ids"] == b["ids"] and torch.equal(a["video"], b["video"])
    assert ref[5]["position"][0] == 1  # second epoch reached
    other = _stream(pairs, 7, seed=8)
    assert any(a["ids"] != b["ids"] for a, b in zip(ref, other))


def test_ranks_split_the_global_batch(webvid):
    pairs, _ = _load(webvid)
    whole = _stream(pairs, 4, batch=4)
    r0 = _stream(pairs, 4, batch=2, rank=0, world=2)
    r1 = _stream(pairs, 4, batch=2, rank=1, world=2)
    for w, a, b in zip(whole, r0, r1):
        assert w["ids"] == a["ids"] + b["ids"]
        assert torch.equal(w["video"], torch.cat([a["video"], b["video"]]))


def test_collate_keeps_failures_of_empty_slots():
    from benchmarks.datasets.errors import SampleFailure
    f = SampleFailure("x", "/x.mp4", None, "broken")
    out = collate_pairs([{"video": None, "text": None, "id": None, "failures": [f], "position": (0, 0)},
                         {"video": torch.zeros(3, 1, 2, 2), "text": "t", "id": "y", "failures": [], "position": (0, 0)}])
    assert out["video"].shape == (1, 3, 1, 2, 2) and out["failures"] == [f] and out["ids"] == ["y"]
