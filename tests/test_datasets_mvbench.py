"""MVBench reader: the official task table, the official frame-index rule (hand-worked), task JSON validation,
media lookup, frame-folder and video decoding on tiny synthetic files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.datasets.errors import DatasetFormatError
from benchmarks.datasets.mvbench import (
    MVBENCH_TASKS,
    MVBenchDataset,
    get_task,
    official_frame_indices,
    qa_template,
    read_task_json,
)


def test_task_table_shape():
    assert len(MVBENCH_TASKS) == 20
    assert len({t.json_file for t in MVBENCH_TASKS}) == 20
    assert [t.name for t in MVBENCH_TASKS if t.data_type == "frame"] == ["Episodic Reasoning"]
    assert {t.name for t in MVBENCH_TASKS if t.bound} == {
        "Action Sequence", "Action Prediction", "Object Interaction", "Action Localization", "Episodic Reasoning"}
    assert get_task("action_sequence").data_dir == "star/Charades_v1_480"
    assert get_task("Episodic Reasoning").data_dir == "tvqa/frames_fps3_hq"
    assert get_task("fine_grained_pose.json").data_dir == "nturgbd"
    with pytest.raises(KeyError, match="action_sequence"):
        get_task("nope")


def test_official_frame_indices_hand_worked():
    # No bound, 100 frames (max_frame 99), 4 segments: seg = 99/4 = 24.75, k-th = int(12.375 + round(24.75 k)),
    # round(49.5) = 50 (half to even): 12, 37, 62, 86.
    assert official_frame_indices(None, 30.0, 99, 4) == [12, 37, 62, 86]
    # Bound 1..2 s at 10 fps: frames 10..20, seg 2 -> 11, 13, 15, 17, 19.
    assert official_frame_indices((1.0, 2.0), 10.0, 99, 5) == [11, 13, 15, 17, 19]
    # Frame folder (first_idx 1), bound 0..1 s at 3 fps, 10 files: 1..3, seg 2/3 -> int(1.33 + 0), int(1.33 + 1),
    # int(1.33 + round(1.33)) = 1, 2, 2.
    assert official_frame_indices((0.0, 1.0), 3.0, 10, 3, first_idx=1) == [1, 2, 2]


def _write(root: Path, task_file: str, items) -> Path:
    p = root / "json" / task_file
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(items))
    return p


def _video(path: Path, n: int, fps: float = 10.0) -> None:
    from pyratok.data.video import write_video

    # frame i has grey level 10 + 20 i, so decoded frames tell which index they are.
    write_video(path, np.stack([np.full((32, 32, 3), 10 + 20 * i, np.uint8) for i in range(n)]), fps=fps)


def _frame_folder(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):  # official names 00001.jpg ... at 3 fps
        Image.fromarray(np.full((24, 24, 3), 20 * i, np.uint8)).save(folder / f"{i:05d}.jpg", quality=95)


@pytest.fixture()
def mvbench_root(tmp_path) -> Path:
    _write(tmp_path, "action_sequence.json", [
        {"video": "AAAAA.mp4", "question": "What did the person do first?", "candidates": ["Sat down.", "Stood up."],
         "answer": "Stood up.", "start": 0.0, "end": 1.0},
        {"video": "MISSING.mp4", "question": "q", "candidates": ["a", "b"], "answer": "a", "start": 0, "end": 1},
        {"video": "AAAAA.mp4", "question": "q", "candidates": ["a", "b"], "answer": "b", "start": 2.0, "end": 1.0},
    ])
    _video(tmp_path / "video" / "star" / "Charades_v1_480" / "AAAAA.mp4", n=12)
    _write(tmp_path, "episodic_reasoning.json", [
        {"video": "s01e01_seg01_clip_00", "question": "Why?", "candidates": ["x", "y", "z"], "answer": "z",
         "start": 0.0, "end": 3.0},
    ])
    _frame_folder(tmp_path / "video" / "tvqa" / "frames_fps3_hq" / "s01e01_seg01_clip_00", n=12)
    _write(tmp_path, "action_count.json", [
        {"video": "c.mp4", "question": "How many?", "candidates": ["3", 2, "4"], "answer": 2},
    ])
    _video(tmp_path / "video" / "perception" / "videos" / "c.mp4", n=12)
    return tmp_path


def test_dataset_items_failures_and_prompt(mvbench_root):
    ds = MVBenchDataset(mvbench_root, tasks=["action_sequence", "episodic_reasoning", "action_count"])
    assert [(i.task, i.index) for i in ds.items] == [
        ("Action Sequence", 0), ("Episodic Reasoning", 0), ("Action Count", 0)]
    reasons = {f.sample_id: f.reason for f in ds.failures}
    assert set(reasons) == {"Action Sequence-1", "Action Sequence-2"}
    assert "not found" in reasons["Action Sequence-1"] and "after end" in reasons["Action Sequence-2"]
    first = ds.items[0]
    assert first.answer_index == 1 and (first.start, first.end) == (0.0, 1.0)
    q, a = qa_template(first)
    assert q == "Question: What did the person do first?\nOptions:\n(A) Sat down.\n(B) Stood up."
    assert a == "(B) Stood up."
    count = ds.items[2]
    assert count.candidates == ("3", "2", "4") and count.answer == "2" and count.answer_index == 1


def test_load_frames_video_bounded(mvbench_root):
    ds = MVBenchDataset(mvbench_root, tasks=["action_sequence"])
    item = ds.items[0]
    # bound 0..1 s at 10 fps over 12 frames: 0..10, seg 2.5 -> int(1.25 + round(2.5 k)) with round half to even
    # (round(2.5) = 2, round(7.5) = 8) = 1, 3, 6, 9
    assert ds.frame_indices(item, 4) == [1, 3, 6, 9]
    frames = ds.load_frames(item, num_segments=4)
    assert frames.shape == (4, 32, 32, 3)
    levels = np.round((frames.reshape(4, -1).mean(1) - 10) / 20).astype(int)
    assert levels.tolist() == [1, 3, 6, 9]


def test_load_frames_frame_folder(mvbench_root):
    ds = MVBenchDataset(mvbench_root, tasks=["episodic_reasoning"])
    item = ds.items[0]
    # bound 0..3 s at 3 fps, 12 files: 1..9, seg 2 -> 2, 4, 6, 8 (1-based file numbers)
    assert ds.frame_indices(item, 4) == [2, 4, 6, 8]
    frames = ds.load_frames(item, num_segments=4, size=16, resize_mode="exact")
    assert frames.shape == (4, 16, 16, 3)
    assert np.round(frames.reshape(4, -1).mean(1) / 20).astype(int).tolist() == [2, 4, 6, 8]


def test_iter_frames_records_decode_failure(mvbench_root):
    (mvbench_root / "video" / "perception" / "videos" / "c.mp4").write_bytes(b"\x00" * 100)
    ds = MVBenchDataset(mvbench_root, tasks=["action_count", "action_sequence"])
    got = [it.item_id for it, _ in ds.iter_frames(num_segments=2)]
    assert got == ["Action Sequence-0"]
    assert "Action Count-0" in {f.sample_id for f in ds.failures}


def test_missing_task_json(tmp_path):
    with pytest.raises(DatasetFormatError) as e:
        MVBenchDataset(tmp_path, tasks=["moving_count"])
    assert e.value.file == str(tmp_path / "json" / "moving_count.json") and "does not exist" in e.value.reason


@pytest.mark.parametrize(
    "task, items, field, reason",
    [
        ("action_antonym", [{"video": "v.webm", "question": "q", "candidates": ["a", "b"], "answer": "c"}],
         "[0].answer", "not one of the candidates"),
        ("action_antonym", [{"video": "v.webm", "candidates": ["a", "b"], "answer": "a"}], "[0].question", "missing"),
        ("action_antonym", [{"video": "v.webm", "question": "q", "candidates": "a,b", "answer": "a"}],
         "[0].candidates", "expected a list"),
        ("action_antonym", [{"video": "v", "question": "q", "candidates": ["a", None], "answer": "a"}],
         "[0].candidates[1]", "expected a string"),
        ("action_antonym", [{"video": "v", "question": "q", "candidates": ["a"], "answer": "a"}],
         "[0].candidates", "at least 2"),
        ("action_antonym", [{"video": 5, "question": "q", "candidates": ["a", "b"], "answer": "a"}], "[0].video", "string"),
        ("action_sequence", [{"video": "v", "question": "q", "candidates": ["a", "b"], "answer": "a", "start": 1}],
         "[0].end", "missing"),
        ("action_sequence", [{"video": "v", "question": "q", "candidates": ["a", "b"], "answer": "a", "start": "0", "end": 1}],
         "[0].start", "number"),
    ],
)
def test_task_json_bad_items(tmp_path, task, items, field, reason):
    p = _write(tmp_path, f"{task}.json", items)
    with pytest.raises(DatasetFormatError) as e:
        read_task_json(p, task)
    assert e.value.file == str(p) and e.value.field == field and reason in e.value.reason


def test_task_json_top_level_and_unbounded_ignores_start(tmp_path):
    p = _write(tmp_path, "scene_transition.json", {"video": "x"})
    with pytest.raises(DatasetFormatError, match="list of questions"):
        read_task_json(p, "scene_transition")
    p = _write(tmp_path, "scene_transition.json",
               [{"video": "x.mp4", "question": "q", "candidates": ["a", "b"], "answer": "a", "start": 9, "end": 1}])
    items, failures = read_task_json(p, "scene_transition")
    assert failures == [] and items[0].start is None and items[0].end is None
