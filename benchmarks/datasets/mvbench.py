"""MVBench (Li et al., CVPR 2024): 20 multiple-choice video QA tasks, read from the official task JSONs.

Official release (``OpenGVLab/MVBench``): ``json/<task>.json`` — a list of
``{"video": <file or folder>, "question": str, "candidates": [str, ...], "answer": str[, "start": s, "end": e]}`` —
and media under ``video/<data_dir>/<video>``. The task table :data:`MVBENCH_TASKS` (task name, json file, media
folder, data type, whether the ``start``/``end`` bound applies) is transcribed from the official evaluation notebook
``video_chat2/mvbench.ipynb`` of ``OpenGVLab/Ask-Anything`` (its ``data_list``; the notebook's placeholder prefix
``your_data_path/`` — misspelt ``pyour_data_path/`` for Fine-grained Action — is dropped, so ``data_dir`` is relative
to ``<root>/video/``). One task, Episodic Reasoning (TVQA), stores each clip as a folder of frames
``tvqa/frames_fps3_hq/<video>/00001.jpg ...`` sampled at 3 fps.

Frame selection follows the official ``get_index``: the (bounded) clip is cut into ``num_segments`` equal parts and
the middle frame of each is taken; bounds are ``round(start * fps)`` .. ``round(end * fps)`` clipped to the video;
videos use the container's frame rate and 0-based frames, GIFs a fixed 25 fps, frame folders 3 fps and 1-based
file numbers (:func:`official_frame_indices`). The question text with lettered options and the expected
``"(X) answer"`` string are the official ``qa_template`` (:func:`qa_template`).

Validation: a task JSON that is not a list of objects, a missing or wrongly typed field, fewer than two candidates,
or an answer that is not one of the candidates raises :class:`~benchmarks.datasets.errors.DatasetFormatError`
(file, ``[i].field``, reason). A bounded item whose ``start`` lies after its ``end`` cannot be sampled; it is recorded
as a :class:`SampleFailure` and skipped, as is an item whose media file/folder is missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from benchmarks.datasets.activitynet import read_json
from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure

__all__ = [
    "MVBenchTask",
    "MVBENCH_TASKS",
    "get_task",
    "MVBenchItem",
    "read_task_json",
    "official_frame_indices",
    "qa_template",
    "MVBenchDataset",
]


@dataclass(frozen=True)
class MVBenchTask:
    """One row of the official task table: ``data_type`` is ``"video"``, ``"gif"`` or ``"frame"`` (frame folder);
    ``bound`` says whether the items' ``start``/``end`` restrict the clip."""

    name: str
    json_file: str
    data_dir: str
    data_type: str
    bound: bool

    @property
    def key(self) -> str:
        """File-name style key, e.g. ``"action_sequence"``."""
        return self.json_file[: -len(".json")]


# Transcribed from OpenGVLab/Ask-Anything video_chat2/mvbench.ipynb (data_list), in the official order.
MVBENCH_TASKS: tuple[MVBenchTask, ...] = (
    MVBenchTask("Action Sequence", "action_sequence.json", "star/Charades_v1_480", "video", True),
    MVBenchTask("Action Prediction", "action_prediction.json", "star/Charades_v1_480", "video", True),
    MVBenchTask("Action Antonym", "action_antonym.json", "ssv2_video", "video", False),
    MVBenchTask("Fine-grained Action", "fine_grained_action.json", "Moments_in_Time_Raw/videos", "video", False),
    MVBenchTask("Unexpected Action", "unexpected_action.json", "FunQA_test/test", "video", False),
    MVBenchTask("Object Existence", "object_existence.json", "clevrer/video_validation", "video", False),
    MVBenchTask("Object Interaction", "object_interaction.json", "star/Charades_v1_480", "video", True),
    MVBenchTask("Object Shuffle", "object_shuffle.json", "perception/videos", "video", False),
    MVBenchTask("Moving Direction", "moving_direction.json", "clevrer/video_validation", "video", False),
    MVBenchTask("Action Localization", "action_localization.json", "sta/sta_video", "video", True),
    MVBenchTask("Scene Transition", "scene_transition.json", "scene_qa/video", "video", False),
    MVBenchTask("Action Count", "action_count.json", "perception/videos", "video", False),
    MVBenchTask("Moving Count", "moving_count.json", "clevrer/video_validation", "video", False),
    MVBenchTask("Moving Attribute", "moving_attribute.json", "clevrer/video_validation", "video", False),
    MVBenchTask("State Change", "state_change.json", "perception/videos", "video", False),
    MVBenchTask("Fine-grained Pose", "fine_grained_pose.json", "nturgbd", "video", False),
    MVBenchTask("Character Order", "character_order.json", "perception/videos", "video", False),
    MVBenchTask("Egocentric Navigation", "egocentric_navigation.json", "vlnqa", "video", False),
    MVBenchTask("Episodic Reasoning", "episodic_reasoning.json", "tvqa/frames_fps3_hq", "frame", True),
    MVBenchTask("Counterfactual Inference", "counterfactual_inference.json", "clevrer/video_validation", "video", False),
)

# Official reader constants (mvbench.ipynb: read_gif(fps=25), read_frame(fps=3) with files numbered from 1).
GIF_FPS = 25.0
FRAME_FOLDER_FPS = 3.0


def get_task(name: str) -> MVBenchTask:
    """Look a task up by official name (``"Action Sequence"``), key (``"action_sequence"``) or json file name."""
    for t in MVBENCH_TASKS:
        if name in (t.name, t.key, t.json_file):
            return t
    raise KeyError(f"unknown MVBench task {name!r}; valid: {[t.key for t in MVBENCH_TASKS]}")


@dataclass(frozen=True)
class MVBenchItem:
    """One question. ``answer_index`` is the 0-based position of ``answer`` in ``candidates``; ``start``/``end`` are
    seconds (frame-folder task: seconds at 3 fps) and only set when the task's bound applies; ``media`` is the video
    file or frame folder (None when not looked up)."""

    task: str
    index: int
    video: str
    question: str
    candidates: tuple[str, ...]
    answer: str
    answer_index: int
    data_type: str
    start: float | None = None
    end: float | None = None
    media: Path | None = None

    @property
    def item_id(self) -> str:
        return f"{self.task}-{self.index}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _text(file, where: str, x: Any) -> str:
    # Counting tasks store numbers as text ("3"); an integer is accepted and compared as its text.
    if isinstance(x, str):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    raise DatasetFormatError(file, where, f"expected a string, got {type(x).__name__} {x!r}")


def read_task_json(path: str | Path, task: MVBenchTask | str) -> tuple[list[MVBenchItem], list[SampleFailure]]:
    """Parse and validate one task JSON -> (items, failures). Items keep the file order (``index`` = position).

    Bounded items (task with ``bound=True``) must carry numeric ``start`` and ``end`` >= 0; one whose start is after
    its end goes to failures. Unbounded tasks ignore ``start``/``end`` as the official reader does.
    """
    path = Path(path)
    task = get_task(task) if isinstance(task, str) else task
    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetFormatError(path, None, f"top level must be a list of questions, got {type(data).__name__}")
    items, failures = [], []
    for i, q in enumerate(data):
        w = f"[{i}]"
        if not isinstance(q, dict):
            raise DatasetFormatError(path, w, f"expected an object, got {type(q).__name__}")
        for key in ("video", "question", "candidates", "answer"):
            if key not in q:
                raise DatasetFormatError(path, f"{w}.{key}", "missing required field")
        video = q["video"]
        if not isinstance(video, str) or not video:
            raise DatasetFormatError(path, f"{w}.video", f"expected a non-empty string, got {video!r}")
        question = _text(path, f"{w}.question", q["question"])
        cands = q["candidates"]
        if not isinstance(cands, list):
            raise DatasetFormatError(path, f"{w}.candidates", f"expected a list, got {type(cands).__name__}")
        cands = tuple(_text(path, f"{w}.candidates[{j}]", c) for j, c in enumerate(cands))
        if len(cands) < 2:
            raise DatasetFormatError(path, f"{w}.candidates", f"need at least 2 candidates, got {len(cands)}")
        answer = _text(path, f"{w}.answer", q["answer"])
        if answer not in cands:
            raise DatasetFormatError(path, f"{w}.answer", f"answer {answer!r} is not one of the candidates {list(cands)}")
        start = end = None
        if task.bound:
            for key in ("start", "end"):
                if key not in q:
                    raise DatasetFormatError(path, f"{w}.{key}", f"missing required field (task {task.name} is bounded)")
                if not _is_number(q[key]) or q[key] < 0:
                    raise DatasetFormatError(path, f"{w}.{key}", f"expected a non-negative number of seconds, got {q[key]!r}")
            start, end = float(q["start"]), float(q["end"])
            if start > end:
                failures.append(SampleFailure(f"{task.name}-{i}", str(path), f"{w}.start",
                                              f"start {start} is after end {end}"))
                continue
        items.append(MVBenchItem(
            task=task.name, index=i, video=video, question=question, candidates=cands, answer=answer,
            answer_index=cands.index(answer), data_type=task.data_type, start=start, end=end,
        ))
    return items, failures


def official_frame_indices(
    bound: tuple[float, float] | None, fps: float, max_frame: int, num_segments: int, first_idx: int = 0
) -> list[int]:
    """The official ``get_index``: ``num_segments`` frame indices, the middle of equal segments of the clip.

    ``start_idx = max(first_idx, round(start * fps))``, ``end_idx = min(round(end * fps), max_frame)``,
    ``seg = (end_idx - start_idx) / num_segments``, index ``k`` = ``int(start_idx + seg / 2 + round(seg * k))``
    (Python/numpy round-half-to-even, as in the original). Without a bound the whole video is used.
    """
    start, end = bound if bound is not None else (-100000, 100000)
    start_idx = max(first_idx, round(start * fps))
    end_idx = min(round(end * fps), max_frame)
    seg_size = float(end_idx - start_idx) / num_segments
    return [int(start_idx + (seg_size / 2) + np.round(seg_size * k)) for k in range(num_segments)]


def qa_template(item: MVBenchItem) -> tuple[str, str]:
    """The official prompt text and target: ``"Question: q\\nOptions:\\n(A) c1\\n(B) c2"`` and ``"(B) c2"``."""
    question = f"Question: {item.question}\nOptions:\n"
    for idx, c in enumerate(item.candidates):
        question += f"({chr(ord('A') + idx)}) {c}\n"
    letter = chr(ord("A") + item.answer_index)
    return question.rstrip(), f"({letter}) {item.answer}"


class MVBenchDataset:
    """The MVBench questions of the chosen tasks (all 20 by default), media checked, frames decoded lazily.

    ``root`` holds ``json/`` and ``video/``. A task JSON that is absent raises DatasetFormatError naming it (pass
    ``tasks=`` to read a subset). With ``check_media=True`` an item whose video file (or frame folder) is missing is
    recorded in :attr:`failures` and left out of :attr:`items`. Media are looked up at
    ``video/<data_dir>/<video>``.
    """

    def __init__(self, root: str | Path, tasks: Sequence[str] | None = None, check_media: bool = True):
        self.root = Path(root)
        self.tasks = [get_task(t) for t in tasks] if tasks is not None else list(MVBENCH_TASKS)
        self.items: list[MVBenchItem] = []
        self.failures: list[SampleFailure] = []
        for task in self.tasks:
            items, failures = read_task_json(self.root / "json" / task.json_file, task)
            self.failures.extend(failures)
            media_dir = self.root / "video" / task.data_dir
            for it in items:
                media = media_dir / it.video
                if check_media:
                    ok = media.is_dir() if task.data_type == "frame" else media.is_file()
                    if not ok:
                        kind = "frame folder" if task.data_type == "frame" else "video file"
                        self.failures.append(SampleFailure(it.item_id, str(media), f"[{it.index}].video", f"{kind} not found"))
                        continue
                self.items.append(replace(it, media=media))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> MVBenchItem:
        return self.items[i]

    def frame_indices(self, item: MVBenchItem, num_segments: int = 16) -> list[int]:
        """Frame indices the official reader takes: 0-based for videos/GIFs, 1-based file numbers for frame folders."""
        bound = (item.start, item.end) if item.start is not None else None
        media = self._media(item)
        if item.data_type == "frame":
            from pyratok.data.video import list_frame_files

            return official_frame_indices(bound, FRAME_FOLDER_FPS, len(list_frame_files(media)), num_segments, 1)
        from pyratok.data.video import probe_video

        if media.suffix.lower() == ".gif":
            n = probe_video(media, count_frames=True).num_frames
            return official_frame_indices(bound, GIF_FPS, n - 1, num_segments, 0)
        info = probe_video(media)
        return official_frame_indices(bound, info.fps, info.num_frames - 1, num_segments, 0)

    def load_frames(self, item: MVBenchItem, num_segments: int = 16, **kwargs) -> np.ndarray:
        """Decode the ``num_segments`` official frames of ``item`` -> ``(num_segments, H, W, 3)`` uint8 RGB.

        ``kwargs`` (``size``, ``resize_mode``, ``crop``) go to the decoder. Raises SampleDecodeError.
        A ``.gif`` file is read with the official GIF rule (25 fps) whatever its task's data type.
        """
        from pyratok.data.video import list_frame_files, read_frames, read_image

        indices = self.frame_indices(item, num_segments)
        media = self._media(item)
        if item.data_type != "frame":
            return read_frames(media, indices, **kwargs)
        files = list_frame_files(media)
        frames = []
        for idx in indices:
            # Official files are <NNNNN>.jpg numbered from 1; fall back to the idx-th file in natural order.
            p = media / f"{idx:05d}.jpg"
            if not p.is_file():
                if not 1 <= idx <= len(files):
                    raise SampleDecodeError(media, f"frame {idx} out of range: the folder has {len(files)} frames")
                p = files[idx - 1]
            frames.append(read_image(p, **kwargs))
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise SampleDecodeError(media, f"frames have different sizes {sorted(shapes)}")
        return np.stack(frames)

    def iter_frames(self, num_segments: int = 16, **kwargs) -> Iterator[tuple[MVBenchItem, np.ndarray]]:
        """Yield ``(item, frames)``; an item that fails to decode is added to :attr:`failures` and skipped."""
        for item in self.items:
            try:
                frames = self.load_frames(item, num_segments, **kwargs)
            except SampleDecodeError as err:
                self.failures.append(err.to_failure(item.item_id))
                continue
            yield item, frames

    def _media(self, item: MVBenchItem) -> Path:
        if item.media is not None:
            return item.media
        return self.root / "video" / get_task(item.task).data_dir / item.video
