"""Round trip: the synthetic writers' files read back by the benchmark readers (benchmarks/datasets/).

Tiny-scale data is generated once per session; every benchmark is read with the reader a real user would use, and
counts, labels, intervals, masks, questions and pixels are checked against the synthetic world's ground truth.
LAYOUTS.md is the contract both sides follow.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.synthetic import generate
from benchmarks.synthetic.render import render
from benchmarks.synthetic.scale import TINY
from benchmarks.synthetic.vocabulary import ACTION_BY_NAME

SEED = 3
# pycocotools' decode trips a NumPy 2 deprecation warning on every call; it is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic_tiny")
    generate(root, "all", TINY, seed=SEED, log=None)
    return root


def test_activitynet_reader(tiny):
    from benchmarks.datasets.activitynet import ActivityNetDataset
    from benchmarks.synthetic.writers import activitynet as w

    gt = w.samples(SEED, TINY)
    for subset in ("training", "validation", "testing"):
        ds = ActivityNetDataset(tiny / "activitynet", subset=subset)
        assert ds.failures == []
        want = {s.video: s for s in gt if s.subset == subset}
        assert sorted(v.video_id for v in ds.videos) == sorted(want)
        assert sorted(ds.classes) == sorted(w.CLASSES)
        for v in ds.videos:
            s = want[v.video_id]
            assert v.duration == pytest.approx(s.clip.duration)
            got = sorted((g.label, g.start, g.end) for g in v.segments)
            expect = [] if subset == "testing" else sorted(
                (ACTION_BY_NAME[i.action].sentence, i.start, i.end) for i in s.instances)
            assert got == expect  # times are multiples of 1/fps = 0.125 s: exact in JSON
        frames = ds.load_frames(ds.videos[0])
        assert frames.shape == (TINY.long_frames, TINY.size, TINY.size, 3)


@pytest.mark.parametrize("source", ["json", "txt"])
def test_thumos14_reader(tiny, source):
    from benchmarks.datasets.thumos14 import Thumos14Dataset
    from benchmarks.synthetic.writers import thumos14 as w

    gt = w.samples(SEED, TINY)
    for subset in ("validation", "test"):
        ds = Thumos14Dataset(tiny / "thumos14", subset=subset, source=source)
        assert ds.failures == []
        want = {s.video: s for s in gt if s.subset == subset}
        # From txt files, a video is listed only if it has a class segment (as the official files imply).
        listed = {k for k, s in want.items() if source == "json" or any(not i.ambiguous for i in s.instances)}
        assert sorted(v.video_id for v in ds.videos) == sorted(listed)
        assert set(ds.classes) <= set(w.CLASSES)
        for v in ds.videos:
            s = want[v.video_id]
            got = sorted((g.label, g.start, g.end) for g in v.segments)
            assert got == sorted((ACTION_BY_NAME[i.action].camel, i.start, i.end) for i in s.instances
                                 if not i.ambiguous)
            assert sorted(v.ambiguous) == sorted((i.start, i.end) for i in s.instances if i.ambiguous)


@pytest.mark.parametrize("benchmark", ["thumos14", "activitynet"])
def test_zero_shot_split_reader(tiny, benchmark):
    from benchmarks.datasets.zero_shot_splits import num_seen, read_splits
    from benchmarks.synthetic.writers import activitynet, thumos14, zero_shot_splits

    classes = (thumos14 if benchmark == "thumos14" else activitynet).CLASSES
    want = zero_shot_splits.splits(SEED, benchmark, classes)
    for setting in ("50_50", "75_25"):
        got = read_splits(tiny / benchmark / "zero_shot_splits", setting, classes)
        assert len(got) == 10
        for split, (seen, unseen) in zip(got, want[setting]):
            assert list(split.seen) == seen and list(split.unseen) == unseen
            assert len(split.seen) == num_seen(len(classes), setting)


@pytest.mark.parametrize("name", ["kinetics400", "kinetics600", "kinetics700"])
def test_kinetics_reader(tiny, name):
    from benchmarks.datasets.kinetics import KineticsDataset
    from benchmarks.synthetic.writers import kinetics as w

    gt = w.samples(name, SEED, TINY)
    for split in ("val", "train"):
        ds = KineticsDataset(tiny / name, split=split)
        assert ds.failures == []
        want = sorted((s.label, s.youtube_id, s.time_start, s.time_end) for s in gt if s.split == split)
        assert sorted((c.label, c.youtube_id, c.time_start, c.time_end) for c in ds.clips) == want
        assert sorted(ds.classes) == sorted(w.classes(name, SEED, TINY))
        assert (ds.clips[0].is_cc is not None) == (name == "kinetics400")
    frames = ds.load_frames(ds.clips[0])
    assert frames.shape == (TINY.frames, TINY.size, TINY.size, 3)


def test_ucf101_reader(tiny):
    from benchmarks.datasets.ucf101 import UCF101Dataset
    from benchmarks.synthetic.writers import ucf101 as w

    gt = w.samples(SEED, TINY)
    classes = w.classes(SEED, TINY)
    for fold in (1, 2, 3):
        held = set(w.test_groups(fold))
        for split in ("train", "test"):
            ds = UCF101Dataset(tiny / "ucf101", split=split, fold=fold)
            assert ds.failures == [] and list(ds.classes) == classes
            want = sorted((s.cls, s.group, s.clip_no) for s in gt if (s.group in held) == (split == "test"))
            assert sorted((c.class_name, c.group, c.clip) for c in ds.clips) == want
            # Labels are 0- or 1-based depending on the reader's convention; the class name must match either way.
            for c in ds.clips[:10]:
                assert classes[c.label - (1 if min(x.label for x in ds.clips) == 1 else 0)] == c.class_name
    frames = ds.load_frames(ds.clips[0])
    assert frames.shape == (TINY.frames, TINY.size, TINY.size, 3)


def test_mcl_jcv_reader(tiny):
    from benchmarks.datasets.mcl_jcv import MCLJCVDataset
    from benchmarks.synthetic.writers import mcl_jcv as w

    gt = w.samples(SEED, TINY)
    ds = MCLJCVDataset(tiny / "mcl_jcv")
    assert ds.failures == [] and len(ds) == len(gt)
    for v, s in zip(ds.videos, gt):
        assert (v.width, v.height, v.num_frames, v.fps) == (s.clip.width, s.clip.height, s.clip.n_frames, w.FPS)
        rgb = ds.load_frames(v, [0, v.num_frames - 1]).astype(float)
        ref = render(s.clip).frames[[0, -1]].astype(float)
        # 4:2:0 drops chroma detail but keeps luma: BT.709 luma of the read-back RGB matches the rendered one.
        luma = np.array([0.2126, 0.7152, 0.0722])
        assert np.abs(rgb @ luma - ref @ luma).mean() < 1.5
        assert np.abs(rgb.mean(axis=(1, 2)) - ref.mean(axis=(1, 2))).max() < 3  # and the colour on average


def test_mvbench_reader(tiny):
    from benchmarks.datasets.mvbench import MVBenchDataset
    from benchmarks.synthetic.writers import mvbench as w

    gt = {(s.task.name, s.video): s.question for s in w.samples(SEED, TINY)}
    ds = MVBenchDataset(tiny / "mvbench")
    assert ds.failures == [] and len(ds) == len(gt)
    for it in ds.items:
        task = it.task if it.task in {k for k, _ in gt} else next(t for t, _ in gt if it.video.startswith(t))
        q = gt[(task, it.video)]
        assert it.question == q.question and list(it.candidates) == q.candidates and it.answer == q.answer
        assert it.candidates[it.answer_index] == q.answer
        if q.start is not None:
            assert (it.start, it.end) == pytest.approx((q.start, q.end), abs=1e-3)
    for data_type in ("frame", "video"):
        item = next(i for i in ds.items if i.data_type == data_type)
        frames = ds.load_frames(item, num_segments=8)
        assert frames.shape == (8, TINY.size, TINY.size, 3)


def test_coco_reader(tiny):
    from benchmarks.datasets.coco import CocoDataset
    from benchmarks.synthetic.writers import coco as w

    gt = {s.image_id: s for s in w.samples(SEED, TINY)}
    ds = CocoDataset(tiny / "coco")
    assert ds.failures == []
    assert sorted(ds.image_ids) == sorted(gt)
    for img in ds:
        s = gt[img.id]
        rc = render(s.clip)
        assert (img.height, img.width) == (s.clip.height, s.clip.width)
        assert len(img.captions) == 5 and all(s.clip.objects[0].appearance.shape in c for c in img.captions)
        frame = img.load_image()
        assert np.abs(frame.astype(int) - rc.frames[0]).mean() < 6  # JPEG q95 on hard-edged textures
        visible = [k for k in range(len(s.clip.objects)) if rc.mask(k)[0].sum() >= w.MIN_AREA]
        assert [i.category_name for i in img.instances] == [s.clip.objects[k].appearance.shape for k in visible]
        masks = img.instance_masks()
        for m, k in zip(masks, visible):
            ref = rc.mask(k)[0]
            assert (ref & ~m).sum() == 0 and (m & ~ref).sum() <= 0.2 * ref.sum()  # only polygon-filled holes


@pytest.mark.parametrize("name", ["ytvis2021", "ovis"])
def test_vis_reader(tiny, name):
    from benchmarks.datasets.ytvis import YouTubeVISDataset
    from benchmarks.synthetic.writers import vis

    layout = vis.LAYOUTS[name]
    gt = vis.samples(layout, SEED, TINY)
    for split in vis.SPLITS:
        ds = YouTubeVISDataset(tiny / name / layout.json_path(split), tiny / name / layout.frame_dir(split))
        assert ds.failures == [] and ds.has_annotations
        want = {s.video_id: s for s in gt if s.split == split}
        assert sorted(v.id for v in ds) == sorted(want)
        for v in ds:
            s = want[v.id]
            rc = render(s.clip)
            ks = [k for k in range(len(s.clip.objects)) if rc.mask(k).any()]
            assert [i.category_name for i in v.instances] == [s.clip.objects[k].appearance.shape for k in ks]
            masks = v.instance_masks()
            assert masks.shape == (len(ks), s.clip.n_frames, s.clip.height, s.clip.width)
            for m, k in zip(masks, ks):
                assert np.array_equal(m, rc.mask(k))
            frames = v.load_frames([0, s.clip.n_frames - 1]).astype(int)
            # JPEG (4:2:0 chroma) on saturated hard edges costs a few levels; another video's frames are far off.
            assert np.abs(frames - rc.frames[[0, -1]]).mean() < 8
            other = render(next(x for x in gt if x.video_id != v.id).clip).frames[[0, -1]]
            assert np.abs(frames - other).mean() > 2 * np.abs(frames - rc.frames[[0, -1]]).mean()


@pytest.mark.parametrize("name", ["webvid", "openvid"])
def test_training_pairs_reader(tiny, name):
    from pyratok.data.pairs import load_pairs, probe_pairs
    from benchmarks.synthetic.writers import openvid, webvid

    if name == "webvid":
        gt = [s for s in webvid.samples(SEED, TINY) if s.split == "train"]
        pairs = load_pairs(tiny / "webvid" / "results_10M_train.csv", tiny / "webvid" / "videos")
        assert [(p.id, p.caption) for p in pairs] == [(str(s.videoid), s.caption) for s in gt]
    else:
        gt = openvid.samples(SEED, TINY)
        pairs = load_pairs(tiny / "openvid" / "OpenVid-1M.csv", tiny / "openvid" / "video")
        assert [(p.id, p.caption) for p in pairs] == [(s.video, s.caption) for s in gt]
    probed = probe_pairs(pairs)
    assert [(p.num_frames, p.height, p.width) for p in probed] == [(TINY.frames, TINY.size, TINY.size)] * len(gt)


def test_webvid_and_openvid_benchmark_readers(tiny):
    from benchmarks.datasets.webvid import OpenVidDataset, WebVidDataset
    from benchmarks.synthetic.writers import openvid, webvid

    for split in ("val", "train"):
        ds = WebVidDataset.from_root(tiny / "webvid", split)
        gt = [s for s in webvid.samples(SEED, TINY) if s.split == split]
        assert ds.failures == []
        assert [(x.sample_id, x.caption) for x in ds] == [(str(s.videoid), s.caption) for s in gt]
        assert all(x.duration == round(s.clip.duration) for x, s in zip(ds, gt))  # ISO 8601 whole seconds
    frames = ds[0].load_frames()
    ref = render(gt[0].clip).frames
    assert frames.shape == ref.shape and np.abs(frames.astype(int) - ref).mean() < 6
    ov = OpenVidDataset.from_root(tiny / "openvid")
    gt = openvid.samples(SEED, TINY)
    assert ov.failures == [] and [(x.sample_id, x.caption) for x in ov] == [(s.video, s.caption) for s in gt]
    assert all(x.extra["frame"] == s.clip.n_frames and x.extra["aesthetic score"] is None for x, s in zip(ov, gt))
