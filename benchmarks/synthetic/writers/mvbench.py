"""MVBench layout: ``json/<task>.json`` for the 20 official tasks and media under ``video/<data_dir>/``.

Each JSON is a list of ``{"video", "question", "candidates", "answer"}`` (+ ``"start"``, ``"end"`` in seconds for
the tasks the official data_list marks as bounded). Media folders and kinds follow the official data_list
(:data:`benchmarks.synthetic.qa.MVBENCH_TASKS`): mp4 videos, ``.avi`` for the NTU-based fine-grained pose task, and
frame folders ``video/tvqa/frames_fps3_hq/<video>/00001.jpg`` ... (1-based, 3 fps) for episodic reasoning. Video
names carry the task name so tasks sharing a source folder never collide.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic.files import write_clip, write_jpeg, write_json, write_synthetic_note
from benchmarks.synthetic.qa import MVBENCH_TASKS, MVTask, Question, make_question
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import Scale

NAME = "mvbench"


def per_task(scale: Scale) -> int:
    return max(2, scale.clips // 2 + 1)


def clip_frames(scale: Scale) -> int:
    """Questions about sequences need room for two actions: twice the trimmed length (still 1 + 4k)."""
    return 2 * scale.frames - 1


@dataclass
class MVSample:
    task: MVTask
    video: str
    question: Question

    @property
    def media_path(self) -> str:
        return f"video/{self.task.data_dir}/{self.video}"


def samples(seed: int, scale: Scale) -> list[MVSample]:
    out = []
    for task in MVBENCH_TASKS:
        for i in range(per_task(scale)):
            q = make_question(task.name, seed, i, scale.size, clip_frames(scale), scale.fps)
            out.append(MVSample(task, f"{task.name}_{i:04d}{task.ext}", q))
    return out


def write(root: str | Path, seed: int, scale: Scale) -> dict:
    root = Path(root)
    items = samples(seed, scale)
    for s in items:
        frames = render(s.question.clip).frames
        if s.task.media == "frame":
            for i, img in enumerate(frames):
                write_jpeg(root / s.media_path / f"{i + 1:05d}.jpg", img)
        else:
            write_clip(root / s.media_path, frames, s.question.clip.fps)
    for task in MVBENCH_TASKS:
        write_json(root / "json" / f"{task.name}.json", [s.question.entry(s.video) for s in items if s.task == task])
    write_synthetic_note(root, "MVBench", seed, scale,
                         "Questions are generated from the synthetic ground truth, one generator per official task "
                         "(see benchmarks/synthetic/qa.py for the mapping).")
    return {"clips": len(items), "frames": sum(s.question.clip.n_frames for s in items), "tasks": len(MVBENCH_TASKS),
            "questions": len(items)}
