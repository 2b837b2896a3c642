"""WebVid-10M and OpenVid-style CSV readers: official columns, lazy decoding, per-row failures, malformed files."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError
from benchmarks.datasets.webvid import OpenVidDataset, WebVidDataset, parse_iso8601_duration
from pyratok.data.video import write_video


def clip(seed: int, T: int = 9, H: int = 32, W: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture()
def webvid_root(tmp_path):
    root = tmp_path / "webvid"
    frames = {}
    # mp4 as in the official release; libx264rgb at crf 0 is lossless RGB, so decoded frames can be compared exactly
    for vid, page in (("1066674784", "051401_051450"), ("31353427", "1008_1026"), ("99", "1008_1026")):
        frames[vid] = clip(int(vid) % 1000)
        write_video(root / "videos" / page / f"{vid}.mp4", frames[vid], 24, codec="libx264rgb", pix_fmt="rgb24", crf=0)
    header = ["videoid", "contentUrl", "duration", "page_dir", "name"]
    rows = [
        ["1066674784", "https://ak.picdn.net/shutterstock/videos/1066674784/preview/stock-footage-a.mp4", "PT00H00M10S",
         "051401_051450", "Aerial view of the city, at night"],  # comma inside a quoted caption
        ["31353427", "https://x/31353427.mp4", "PT00H01M02S", "1008_1026", "A dog runs"],
        ["555", "https://x/555.mp4", "PT00H00M05S", "1008_1026", "Missing on disk"],
        ["99", "https://x/99.mp4", "ten seconds", "1008_1026", "Bad duration"],
        ["100", "https://x/100.mp4", "PT00H00M05S", "1008_1026", ""],
    ]
    write_csv(root / "results_10M_val.csv", header, rows)
    return root, frames


def test_iso8601_durations_hand_worked():
    assert parse_iso8601_duration("PT00H00M10S") == 10
    assert parse_iso8601_duration("PT01H02M03S") == 3723
    assert parse_iso8601_duration("PT1M30.5S") == 90.5
    assert parse_iso8601_duration("P1DT1S") == 86401
    assert parse_iso8601_duration("12.5") == 12.5
    for bad in ("PT", "P", "ten", "PT5X", "-3", "nan"):
        with pytest.raises(ValueError):
            parse_iso8601_duration(bad)


def test_webvid_reader(webvid_root):
    root, frames = webvid_root
    ds = WebVidDataset.from_root(root, "val")
    assert [s.sample_id for s in ds] == ["1066674784", "31353427"]
    first = ds[0]
    assert first.caption == "Aerial view of the city, at night"
    assert first.duration == 10 and ds[1].duration == 62
    assert first.video_path == root / "videos" / "051401_051450" / "1066674784.mp4"
    assert first.extra["contentUrl"].endswith("stock-footage-a.mp4")
    # three rows left out, each with its row number, column and reason
    reasons = {f.field: f.reason for f in ds.failures}
    assert reasons["row 4"] == "video file does not exist"
    assert "not an ISO 8601 duration" in reasons["row 5: column duration"]
    assert reasons["row 6: column name"].startswith("empty value")
    # lazy decoding: lossless frames come back exactly
    np.testing.assert_array_equal(first.load_frames([0, 8]), frames["1066674784"][[0, 8]])
    np.testing.assert_array_equal(first.load_clip(3, stride=2, mode="center"), frames["1066674784"][[2, 4, 6]])
    assert first.load_clip(4, size=16, crop="center").shape == (4, 16, 16, 3)
    assert first.probe().num_frames == 9


def test_webvid_flat_layout_and_limit(webvid_root, tmp_path):
    root, _ = webvid_root
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "31353427.mp4").write_bytes((root / "videos" / "1008_1026" / "31353427.mp4").read_bytes())
    ds = WebVidDataset(root / "results_10M_val.csv", flat)
    assert [s.sample_id for s in ds] == ["31353427"]
    assert len(WebVidDataset(root / "results_10M_val.csv", root / "videos", limit=2)) == 2
    assert len(WebVidDataset(root / "results_10M_val.csv", root / "videos", check_files=False)) == 3


def test_webvid_corrupt_video_is_a_sample_decode_error(webvid_root):
    root, _ = webvid_root
    path = root / "videos" / "1008_1026" / "31353427.mp4"
    path.write_bytes(path.read_bytes()[:300])
    ds = WebVidDataset.from_root(root)
    with pytest.raises(SampleDecodeError) as err:
        ds[1].load_clip(4)
    assert err.value.file == str(path)
    f = err.value.to_failure(ds[1].sample_id)
    assert f.sample_id == "31353427" and f.file == str(path)


def test_webvid_malformed_csv(tmp_path):
    (tmp_path / "videos").mkdir()
    write_csv(tmp_path / "nocol.csv", ["videoid", "contentUrl", "duration", "name"], [["1", "u", "PT1S", "c"]])
    with pytest.raises(DatasetFormatError, match="page_dir") as err:
        WebVidDataset(tmp_path / "nocol.csv", tmp_path / "videos")
    assert err.value.file == str(tmp_path / "nocol.csv") and err.value.field == "page_dir"
    (tmp_path / "ragged.csv").write_text("videoid,contentUrl,duration,page_dir,name\n1,u,PT1S,p,c\n2,u,PT1S,p,c,extra,more\n")
    with pytest.raises(DatasetFormatError, match="cannot parse as CSV"):
        WebVidDataset(tmp_path / "ragged.csv", tmp_path / "videos")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DatasetFormatError, match="cannot parse"):
        WebVidDataset(tmp_path / "empty.csv", tmp_path / "videos")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    with pytest.raises(DatasetFormatError):
        WebVidDataset(tmp_path / "bin.csv", tmp_path / "videos")
    with pytest.raises(DatasetFormatError, match="does not exist"):
        WebVidDataset.from_root(tmp_path / "nowhere")
    write_csv(tmp_path / "ok.csv", ["videoid", "contentUrl", "duration", "page_dir", "name"], [["1", "u", "PT1S", "p", "c"]])
    with pytest.raises(DatasetFormatError, match="video folder"):
        WebVidDataset(tmp_path / "ok.csv", tmp_path / "no_videos")


def test_openvid_reader(tmp_path):
    root = tmp_path / "openvid"
    frames = clip(7)
    write_video(root / "video" / "celebv_abc_0.mp4", frames, 30, codec="libx264rgb", pix_fmt="rgb24", crf=0)
    header = ["video", "caption", "aesthetic score", "motion score", "temporal consistency score", "camera motion",
              "frame", "fps", "seconds"]
    write_csv(root / "OpenVid-1M.csv", header, [
        ["celebv_abc_0.mp4", "A woman, smiling, talks.", "5.1", "", "0.99", "static", "9", "30.0", "0.3"],
        ["gone.mp4", "Not there", "", "", "", "", "", "", ""],
        ["", "no path", "", "", "", "", "", "", ""],
    ])
    ds = OpenVidDataset.from_root(root)
    assert len(ds) == 1
    s = ds[0]
    assert s.sample_id == "celebv_abc_0.mp4" and s.caption == "A woman, smiling, talks."
    assert s.extra["aesthetic score"] == 5.1 and s.extra["motion score"] is None and s.extra["camera motion"] == "static"
    assert s.duration == pytest.approx(0.3)
    np.testing.assert_array_equal(s.load_frames([4]), frames[[4]])
    assert {f.field for f in ds.failures} == {"row 3", "row 4: column video"}
    # the generic (path, caption) form with an absolute path
    write_csv(tmp_path / "pairs.csv", ["path", "caption"], [[str(root / "video" / "celebv_abc_0.mp4"), "x"]])
    assert OpenVidDataset(tmp_path / "pairs.csv", root).captions == ["x"]
    write_csv(tmp_path / "nocap.csv", ["video", "aesthetic score"], [["a.mp4", "1"]])
    with pytest.raises(DatasetFormatError, match="caption"):
        OpenVidDataset(tmp_path / "nocap.csv", root)
