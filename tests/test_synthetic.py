"""Tests of the synthetic video world and its benchmark writers (benchmarks/synthetic).

Ground truth is checked against independent computations: masks against pixel colours and scikit-image's disk
rasteriser, action intervals and QA answers against what the rendered masks show (centroids, areas, first motion),
file formats against pycocotools, PyAV and FFmpeg's own BT.709 conversion.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.synthetic import generate
from benchmarks.synthetic.qa import MVBENCH_TASKS, make_question
from benchmarks.synthetic.render import object_colours, render, render_masks
from benchmarks.synthetic.scale import Scale, parse_scale
from benchmarks.synthetic.vocabulary import ACTION_BY_NAME, ACTIONS, SHAPES
from benchmarks.synthetic.world import (
    Appearance,
    Background,
    Clip,
    ClipSpec,
    SceneObject,
    clip_rng,
    sample_clip,
    trajectory,
)
from benchmarks.synthetic.writers import WRITERS, resolve

# A scale smaller than "tiny" so that the whole suite writes every benchmark three times in a few seconds.
MICRO = Scale("micro", size=48, frames=13, long_frames=33, fps=8.0, clips=2, classes=3)
# pycocotools' decode trips a NumPy 2 deprecation warning on every call; it is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
ANNOTATION_SUFFIXES = {".json", ".csv", ".txt", ".md", ".jpg", ".yuv"}


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic_seed0")
    generate(root, "all", MICRO, seed=0, log=None)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in ANNOTATION_SUFFIXES}


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def _background(colour="grey", texture="striped") -> Background:
    return Background(colour, texture, period=10.0, angle=0.3, noise_seed=1)


# ------------------------------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files_and_other_seed_differs(synth, tmp_path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate(again, "all", MICRO, seed=0, log=None)
    generate(other, "all", MICRO, seed=1, log=None)
    a, b, c = _files(synth), _files(again), _files(other)
    assert set(a) == set(b)
    assert len(a) > 200
    differing = [k for k in a if a[k] != b[k]]
    assert differing == []
    for name in WRITERS:  # every dataset root carries its synthetic label
        assert f"{name}/SYNTHETIC.md" in a
        assert "seed: 0" in a[f"{name}/SYNTHETIC.md"].decode()
    changed = [k for k in a if k in c and a[k] != c[k] and not k.endswith(".md")]
    assert len(changed) > 0.5 * len([k for k in a if not k.endswith(".md")])
    assert "webvid/results_10M_train.csv" in changed and "coco/annotations/instances_val2017.json" in changed


def test_clip_does_not_depend_on_other_benchmarks():
    spec = ClipSpec(48, 48, 13, 8.0)
    a = sample_clip(clip_rng(5, "webvid/train", 3), spec)
    b = sample_clip(clip_rng(5, "webvid/train", 3), spec)
    c = sample_clip(clip_rng(5, "webvid/train", 4), spec)
    assert all(np.array_equal(x.states, y.states) for x, y in zip(a.objects, b.objects))
    assert [o.name for o in a.objects] != [o.name for o in c.objects] or not all(
        np.array_equal(x.states, y.states) for x, y in zip(a.objects, c.objects))


def test_cli_names_and_scales():
    assert resolve("all") == list(WRITERS)
    assert resolve("kinetics,coco") == ["coco", "kinetics400", "kinetics600", "kinetics700"]
    with pytest.raises(ValueError, match="unknown benchmark"):
        resolve("imagenet")
    assert parse_scale("tiny").name == "tiny" and parse_scale(7).clips == 7
    with pytest.raises(ValueError):
        parse_scale("huge")


def test_cli_writes_and_rejects_bad_arguments(tmp_path, capsys):
    from benchmarks.synthetic.__main__ import main

    assert main(["--out", str(tmp_path), "--benchmarks", "mcl_jcv", "--scale", "tiny", "--seed", "4"]) == 0
    assert sorted(p.name for p in (tmp_path / "mcl_jcv").iterdir()) == [
        "SYNTHETIC.md", "videoSRC01_96x64_30.yuv", "videoSRC02_96x64_30.yuv", "videoSRC03_96x64_30.yuv"]
    assert main(["--out", str(tmp_path), "--benchmarks", "imagenet"]) == 2
    assert "unknown benchmark 'imagenet'" in capsys.readouterr().err
    assert main(["--out", str(tmp_path), "--scale", "-3"]) == 2


def test_refuses_to_overwrite_a_non_synthetic_folder(tmp_path):
    (tmp_path / "webvid").mkdir()
    (tmp_path / "webvid" / "results_10M_val.csv").write_text("real data\n")
    with pytest.raises(FileExistsError, match="SYNTHETIC.md"):
        generate(tmp_path, "webvid", MICRO, log=None)
    assert (tmp_path / "webvid" / "results_10M_val.csv").read_text() == "real data\n"


# ------------------------------------------------------------------------------------------------------------------
# rendering: masks vs pixels vs independent geometry
# ------------------------------------------------------------------------------------------------------------------
def test_visible_mask_pixels_have_exactly_the_object_colours():
    spec = ClipSpec(48, 64, 9, 8.0, n_objects=(3, 5), radius=(0.15, 0.3), spread=0.4, unique_shapes=False)
    for i in range(6):
        clip = sample_clip(clip_rng(0, "test-masks", i), spec)
        rc = render(clip)
        for k, o in enumerate(clip.objects):
            m = rc.mask(k)
            base, shade = object_colours(o.appearance.colour)
            px = rc.frames[m]
            ok = np.all(px == base, axis=1) | np.all(px == shade, axis=1)
            assert ok.all(), f"clip {i} object {o.name}: {int((~ok).sum())} mask pixels of another colour"
            # Nearer objects win where full extents overlap.
            for j, p in enumerate(clip.objects):
                if j != k and p.depth < o.depth:
                    assert not (m & rc.amodal[:, j]).any()
        # Every object-coloured pixel outside all masks would mean a missing mask: backgrounds never use them.
        covered = rc.ids > 0
        for k, o in enumerate(clip.objects):
            base, _ = object_colours(o.appearance.colour)
            assert not np.all(rc.frames[~covered] == base, axis=1).any()


def test_circle_mask_matches_skimage_disk():
    from skimage.draw import disk

    obj = SceneObject(Appearance("red", "circle"), 1.0, trajectory(np.array([30.3, 20.7, 9.5, 0.0]), [], 1))
    clip = Clip(48, 64, 8.0, (_background(),), (obj,), 1)
    m = render(clip).mask(0)[0]
    ref = np.zeros((48, 64), bool)
    # Our pixel centres sit at (i + 0.5); skimage's at i.
    ref[disk((20.7 - 0.5, 30.3 - 0.5), 9.5, shape=ref.shape)] = True
    assert (m ^ ref).sum() <= 2 and m.sum() == pytest.approx(np.pi * 9.5 ** 2, rel=0.03)


def test_positive_angle_turns_clockwise_on_screen():
    def halves(angle):
        """Pixel counts of the triangle in the (top, bottom, left, right) halves of the frame."""
        obj = SceneObject(Appearance("red", "triangle"), 1.0, trajectory(np.array([32.0, 32.0, 20.0, angle]), [], 1))
        m = render(Clip(64, 64, 8.0, (_background(),), (obj,), 1)).mask(0)[0]
        return m[:32].sum(), m[32:].sum(), m[:, :32].sum(), m[:, 32:].sum()

    top, bottom, left, right = halves(0.0)
    # About a centred equilateral triangle the apex side holds 4/9 of the area, the base side 5/9.
    assert top < 0.9 * bottom and abs(left - right) <= 0.05 * left  # apex up
    top, bottom, left, right = halves(np.pi / 2)
    assert right < 0.9 * left and abs(top - bottom) <= 0.05 * top  # a quarter turn clockwise: apex right


# ------------------------------------------------------------------------------------------------------------------
# actions vs trajectories vs rendered masks
# ------------------------------------------------------------------------------------------------------------------
def _single_action_clip(label: str, seed: int) -> Clip:
    from benchmarks.synthetic.world import build_object

    spec = ClipSpec(64, 64, 21, 8.0, radius=(0.12, 0.14))
    rng = clip_rng(seed, "test-actions", 0, label)
    for _ in range(100):
        app = Appearance("red", "square", "striped")
        o = build_object(rng, spec, app, 1.0, [([label], 3, 19)], strict=True)
        if o is not None:
            return Clip(64, 64, 8.0, (_background(),), (o,), 21)
    raise AssertionError(label)


@pytest.mark.parametrize("label", [a.name for a in ACTIONS])
def test_action_interval_and_motion_seen_in_masks(label):
    for seed in range(3):
        clip = _single_action_clip(label, seed)
        (act,) = clip.objects[0].actions
        ids, amodal = render_masks(clip)
        m = amodal[:, 0]
        changed = np.array([False] + [bool((m[t] != m[t - 1]).any()) for t in range(1, clip.n_frames)])
        inside = np.zeros(clip.n_frames, bool)
        inside[act.start:act.end] = True
        assert not (changed & ~inside).any(), f"{label}: mask changes outside [{act.start}, {act.end})"
        assert changed[inside].mean() >= 0.5, f"{label}: too little motion inside its interval"
        c = np.array([_centroid(x) for x in m])
        area = m.sum(axis=(1, 2)).astype(float)
        seg = slice(act.start - 1, act.end)
        d = c[act.end - 1] - c[act.start - 1]
        if label == "moving left":
            assert d[0] < -5 and abs(d[1]) < 1.5
        elif label == "moving right":
            assert d[0] > 5 and abs(d[1]) < 1.5
        elif label == "moving up":
            assert d[1] < -5 and abs(d[0]) < 1.5
        elif label == "moving down":
            assert d[1] > 5 and abs(d[0]) < 1.5
        elif label == "zigzagging":
            assert abs(d[0]) > 5 and (np.diff(c[seg, 1]) > 0.5).any() and (np.diff(c[seg, 1]) < -0.5).any()
        elif label in ("circling", "bouncing", "jumping", "shaking"):
            assert np.abs(d).max() < 1.0  # returns to where it started
            y = c[seg, 1]
            lows = int(((y[1:-1] < y[:-2]) & (y[1:-1] <= y[2:])).sum())  # local maxima of height
            if label == "bouncing":
                assert lows >= 2 and y.min() < y[0] - 2
            elif label == "jumping":
                assert lows == 1 and y.min() < y[0] - 5
            elif label == "shaking":
                assert np.ptp(c[seg, 0]) > 2 and np.ptp(y) < 1
            else:
                assert np.ptp(c[seg, 0]) > 5 and np.ptp(y) > 5
        elif label == "growing":
            assert area[act.end - 1] > 1.5 * area[act.start - 1]
        elif label == "shrinking":
            assert area[act.end - 1] < 0.6 * area[act.start - 1]
        elif label == "spinning":
            assert np.ptp(c[seg], axis=0).max() < 1.0 and changed[inside].all()


def test_sampled_clips_move_only_inside_their_action_intervals():
    spec = ClipSpec(48, 48, 33, 8.0, n_objects=(1, 4), actions_per_object=(0, 3))
    for i in range(20):
        clip = sample_clip(clip_rng(1, "test-intervals", i), spec)
        for o in clip.objects:
            inside = np.zeros(clip.n_frames, bool)
            for a in o.actions:
                assert not inside[a.start:a.end].any(), "actions of one object overlap"
                inside[a.start:a.end] = True
            mv = o.moving()
            assert not (mv & ~inside).any()
            for a in o.actions:
                assert mv[max(a.start, 1):a.end].mean() >= 0.5


# ------------------------------------------------------------------------------------------------------------------
# questions
# ------------------------------------------------------------------------------------------------------------------
def _moved(amodal_k: np.ndarray) -> np.ndarray:
    return np.array([False] + [bool((amodal_k[t] != amodal_k[t - 1]).any()) for t in range(1, len(amodal_k))])


@pytest.mark.parametrize("task", [t.name for t in MVBENCH_TASKS])
def test_questions_answers_agree_with_what_the_masks_show(task):
    for i in range(3):
        q = make_question(task, 0, i, 48, 25, 8.0)
        assert q.answer in q.candidates and len(set(q.candidates)) == len(q.candidates) >= 2
        clip = q.clip
        ids, amodal = render_masks(clip)
        k = q.facts.get("object")
        o = clip.objects[k] if k is not None else None
        if task == "moving_direction":
            d = _centroid(amodal[-1, k]) - _centroid(amodal[0, k])
            expect = ("right" if d[0] > 0 else "left") if abs(d[0]) > abs(d[1]) else ("down" if d[1] > 0 else "up")
            assert q.answer == expect
        elif task == "object_shuffle":
            x = _centroid(amodal[-1, k])[0] / clip.width
            assert q.answer == ("on the left", "in the middle", "on the right")[int(x * 3)]
        elif task == "state_change":
            r = amodal[-1, k].sum() / amodal[0, k].sum()
            expect = "It gets bigger." if r > 1.3 else "It gets smaller." if r < 0.75 else "It stays the same size."
            assert q.answer == expect
        elif task in ("moving_count", "object_existence"):
            moving_end = [j for j in range(len(clip.objects)) if (amodal[-1, j] != amodal[-2, j]).any()]
            if task == "moving_count":
                assert q.answer == str(len(moving_end))
            else:
                colour = q.question.split("moving ")[1].split(" objects")[0]
                found = any(clip.objects[j].appearance.colour == colour for j in moving_end)
                assert q.answer == ("yes" if found else "no")
        elif task == "counterfactual_inference":
            n = sum(_moved(amodal[:, j]).any() for j in range(len(clip.objects)) if j != k)
            assert q.answer == str(n)
        elif task == "character_order":
            first = [int(np.argmax(_moved(amodal[:, j]))) for j in range(len(clip.objects))]
            assert q.answer == f"the {clip.objects[int(np.argmin(first))].name}"
        elif task == "action_count":
            mv = _moved(amodal[:, k]).astype(int)
            runs = int(((mv[1:] == 1) & (mv[:-1] == 0)).sum() + mv[0])
            assert q.answer == str(runs)
        elif task == "action_localization":
            mv = np.nonzero(_moved(amodal[:, k]))[0]
            s, e, T = mv[0], mv[-1] + 1, clip.n_frames
            if (e - s) / T >= 0.75:
                assert q.answer == "Throughout the entire video."
            else:
                part = ["In the beginning of the video.", "In the middle of the video.", "At the end of the video."]
                assert q.answer == part[int((s + e) / 2 / T * 3)]
        elif task == "object_interaction":
            j = q.facts["occluder"]
            assert q.answer == f"the {clip.objects[j].name}"
            hidden = amodal[:, k] & (ids == j + 1)  # pixels of the focus object showing the answer instead
            assert hidden.sum() > 0
            others = [x for x in range(len(clip.objects)) if x not in (j, k)]
            assert not any((amodal[:, k] & (ids == x + 1)).any() for x in others)
        elif task == "egocentric_navigation":
            from skimage.registration import phase_cross_correlation

            g0, g1 = clip.n_frames // 2, clip.n_frames // 2 + 1
            f = render(clip).frames.mean(axis=-1)
            shift, _, _ = phase_cross_correlation(f[g0], f[g1])  # shift that registers frame g1 onto g0
            # The content slides opposite to the camera: camera right -> content left -> shift (0, +v).
            dy, dx = shift
            expect = ("right" if dx > 0 else "left") if abs(dx) > abs(dy) else ("down" if dy > 0 else "up")
            assert q.answer == expect
        elif task == "scene_transition":
            f = render(clip).frames
            cut = q.facts["cut"]
            bgpix = (ids[cut - 1] == 0) & (ids[cut] == 0)
            assert (f[cut - 1][bgpix] != f[cut][bgpix]).any()
            assert q.answer.startswith(f"From the {clip.backgrounds[0].name} to")
        elif task == "fine_grained_pose":
            turn = o.states[-1, 3] - o.states[0, 3]
            assert (q.answer == "it does not rotate") == (abs(turn) < 1e-9)
        elif task in ("action_sequence", "episodic_reasoning"):
            key = "then" if task == "action_sequence" else "answer_action"
            assert q.answer == f"It {ACTION_BY_NAME[q.facts[key]].past}."
            if task == "episodic_reasoning":
                ref = clip.objects[q.facts["reference"]].actions[0]
                nxt = [a for a in o.actions if a.start >= ref.end]
                assert nxt and min(nxt, key=lambda a: a.start).label == q.facts["answer_action"]
        elif task == "action_prediction":
            a1, a2 = o.actions
            assert q.answer == a2.label and q.end <= a2.start / clip.fps
        elif task in ("action_antonym", "fine_grained_action"):
            assert q.answer == o.actions[0].label
        elif task == "unexpected_action":
            assert q.answer == f"The {o.name} suddenly {ACTION_BY_NAME[o.actions[0].label].verb}."
            assert all(not p.actions for j, p in enumerate(clip.objects) if j != k)
        elif task == "moving_attribute":
            doers = [p for p in clip.objects if any(a.label == q.facts["action"] for a in p.actions)]
            assert len(doers) == 1
            assert q.answer in (doers[0].appearance.colour, doers[0].appearance.shape)
        if task in ("action_sequence", "action_prediction", "object_interaction", "action_localization",
                    "episodic_reasoning"):
            assert q.start is not None and 0 <= q.start < q.end <= clip.duration + 1e-9
        else:
            assert q.start is None


# ------------------------------------------------------------------------------------------------------------------
# formats, checked with independent readers
# ------------------------------------------------------------------------------------------------------------------
def _decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_webvid_openvid_csv_and_videos(synth):
    from benchmarks.synthetic.writers import webvid

    rows = list(csv.DictReader(open(synth / "webvid" / "results_10M_val.csv")))
    assert list(rows[0]) == ["videoid", "contentUrl", "duration", "page_dir", "name"]
    gt = [s for s in webvid.samples(0, MICRO) if s.split == "val"]
    assert [int(r["videoid"]) for r in rows] == [s.videoid for s in gt]
    for r, s in zip(rows, gt):
        assert r["duration"] == "PT00H00M02S" and r["name"] == s.caption
        v = _decode(synth / "webvid" / "videos" / r["page_dir"] / f"{r['videoid']}.mp4")
        ref = render(s.clip).frames
        assert v.shape == ref.shape and np.abs(v.astype(int) - ref).mean() < 6
    ov = list(csv.DictReader(open(synth / "openvid" / "OpenVid-1M.csv")))
    assert set(ov[0]) >= {"video", "caption", "frame", "fps", "seconds"}
    assert all(_decode(synth / "openvid" / "video" / r["video"]).shape[0] == int(r["frame"]) for r in ov)


def test_coco_json_loads_in_pycocotools_and_masks_match(synth):
    from pycocotools.coco import COCO

    from benchmarks.synthetic.writers import coco

    api = COCO(str(synth / "coco" / "annotations" / "instances_val2017.json"))
    caps = COCO(str(synth / "coco" / "annotations" / "captions_val2017.json"))
    assert sorted(c["name"] for c in api.loadCats(api.getCatIds())) == sorted(SHAPES)
    for s in coco.samples(0, MICRO):
        rc = render(s.clip)
        img = api.loadImgs(s.image_id)[0]
        assert (img["height"], img["width"]) == (s.clip.height, s.clip.width) == (48, 72)
        assert (synth / "coco" / "val2017" / img["file_name"]).is_file()
        anns = api.loadAnns(api.getAnnIds(imgIds=s.image_id))
        visible = [k for k in range(len(s.clip.objects)) if rc.mask(k)[0].sum() >= coco.MIN_AREA]
        assert len(anns) == len(visible)
        for a, k in zip(anns, visible):
            assert api.loadCats(a["category_id"])[0]["name"] == s.clip.objects[k].appearance.shape
            m = api.annToMask(a).astype(bool)
            ref = rc.mask(k)[0]
            holes_filled = (m & ~ref).sum()  # polygons cannot express holes; only those pixels may differ
            assert (ref & ~m).sum() == 0 and holes_filled <= 0.2 * ref.sum()
            assert a["iscrowd"] == 0 and a["area"] == pytest.approx(m.sum())
        assert len(caps.getAnnIds(imgIds=s.image_id)) == 5


@pytest.mark.parametrize("name", ["ytvis2021", "ovis"])
def test_vis_rle_decodes_to_the_rendered_masks(synth, name):
    from pycocotools import mask as mask_utils

    from benchmarks.synthetic.writers import vis

    layout = vis.LAYOUTS[name]
    for split in vis.SPLITS:
        data = json.load(open(synth / name / layout.json_path(split)))
        gt = [s for s in vis.samples(layout, 0, MICRO) if s.split == split]
        assert [v["id"] for v in data["videos"]] == [s.video_id for s in gt]
        for v, s in zip(data["videos"], gt):
            assert (v["height"], v["width"], v["length"]) == (48, 72, MICRO.frames)
            for fn in v["file_names"]:
                assert (synth / name / layout.frame_dir(split) / fn).is_file()
            rc = render(s.clip)
            anns = [a for a in data["annotations"] if a["video_id"] == v["id"]]
            ks = [k for k in range(len(s.clip.objects)) if rc.mask(k).any()]
            assert len(anns) == len(ks)
            for a, k in zip(anns, ks):
                assert len(a["segmentations"]) == v["length"]
                for t, seg in enumerate(a["segmentations"]):
                    ref = rc.mask(k)[t]
                    if seg is None:
                        assert not ref.any() and a["areas"][t] is None
                        continue
                    assert isinstance(seg["counts"], str) and seg["size"] == [48, 72]
                    m = mask_utils.decode(seg).astype(bool)
                    assert np.array_equal(m, ref)
                    assert a["areas"][t] == int(mask_utils.area(seg))
                    assert a["bboxes"][t] == pytest.approx(mask_utils.toBbox(seg).tolist())


def test_ovis_is_more_occluded_than_ytvis():
    from benchmarks.synthetic.writers import vis

    def occ(layout):
        vals = []
        for s in vis.samples(layout, 3, parse_scale("tiny")):
            ids, amodal = render_masks(s.clip)
            for k in range(len(s.clip.objects)):
                full = amodal[:, k].sum()
                if full:
                    vals.append(1 - (ids == k + 1).sum() / full)
        return np.mean(vals)

    assert occ(vis.OVIS) > 2 * occ(vis.YTVIS)


def test_thumos_txt_json_and_splits_agree(synth):
    from benchmarks.synthetic.writers import thumos14

    root = synth / "thumos14"
    db = json.load(open(root / "thumos14.json"))["database"]
    from_txt = {}
    for sub, suffix in (("validation", "val"), ("test", "test")):
        files = sorted((root / "annotations" / suffix).glob("*.txt"))
        assert len(files) == len(thumos14.CLASSES) + 1
        for f in files:
            cls = f.name[: -len(f"_{suffix}.txt")]
            for line in f.read_text().splitlines():
                vid, s, e = line.split()
                from_txt.setdefault(vid, []).append((cls, float(s), float(e)))
    for s in thumos14.samples(0, MICRO):
        entry = db[s.video]
        assert entry["frames"] == s.clip.n_frames and (root / "videos" / s.subset / f"{s.video}.mp4").is_file()
        assert _decode(root / "videos" / s.subset / f"{s.video}.mp4").shape[0] == s.clip.n_frames
        want = sorted((ACTION_BY_NAME[i.action].camel if not i.ambiguous else "Ambiguous", i.start, i.end)
                      for i in s.instances)
        assert sorted(from_txt.get(s.video, [])) == want
        js = sorted((a["label"], *a["segment"]) for a in entry["annotations"])
        assert js == [w for w in want if w[0] != "Ambiguous"]
        # Intervals are the frames in which the acting object moves (seen in its rendered mask).
        _, amodal = render_masks(s.clip)
        for k, o in enumerate(s.clip.objects):
            mv = _moved(amodal[:, k])
            inside = np.zeros(len(mv), bool)
            for a in o.actions:
                inside[a.start:a.end] = True
                assert mv[max(1, a.start):a.end].mean() >= 0.5
            assert not (mv & ~inside).any()
    _check_splits(root, thumos14.CLASSES)


def _check_splits(root: Path, classes: list[str]):
    n = len(classes)
    for ratio, n_unseen in (("50_50", n - int(0.5 * n + 0.5)), ("75_25", n - int(0.75 * n + 0.5))):
        seen_sets = set()
        for i in range(10):
            d = root / "zero_shot_splits" / ratio / f"split_{i:02d}"
            seen = (d / "seen.txt").read_text().split("\n")[:-1]
            unseen = (d / "unseen.txt").read_text().split("\n")[:-1]
            assert not set(seen) & set(unseen) and sorted(seen + unseen) == sorted(classes)
            assert len(unseen) == n_unseen
            seen_sets.add(tuple(seen))
        assert len(seen_sets) > 1


def test_activitynet_json_and_videos(synth):
    from benchmarks.synthetic.writers import activitynet

    root = synth / "activitynet"
    data = json.load(open(root / activitynet.JSON_NAME))
    assert data["version"] == "VERSION 1.3"
    leaves = {n["nodeName"] for n in data["taxonomy"]} & set(activitynet.CLASSES)
    assert leaves == set(activitynet.CLASSES)
    for s in activitynet.samples(0, MICRO):
        e = data["database"][s.video]
        assert len(s.video) == 11 and e["subset"] == s.subset
        assert _decode(root / "videos" / f"v_{s.video}.mp4").shape[0] == s.clip.n_frames
        if s.subset == "testing":
            assert e["annotations"] == []
        else:
            assert sorted((a["label"], *a["segment"]) for a in e["annotations"]) == sorted(
                (ACTION_BY_NAME[i.action].sentence, i.start, i.end) for i in s.instances)
            for a in e["annotations"]:
                assert 0 <= a["segment"][0] < a["segment"][1] <= e["duration"]
    _check_splits(root, activitynet.CLASSES)


def test_mvbench_jsons_and_media(synth):
    from benchmarks.synthetic.writers import mvbench

    root = synth / "mvbench"
    assert sorted(p.name for p in (root / "json").glob("*.json")) == sorted(f"{t.name}.json" for t in MVBENCH_TASKS)
    for t in MVBENCH_TASKS:
        entries = json.load(open(root / "json" / f"{t.name}.json"))
        assert len(entries) == mvbench.per_task(MICRO)
        for e in entries:
            assert e["answer"] in e["candidates"]
            assert ("start" in e) == t.bound
            media = root / "video" / t.data_dir / e["video"]
            if t.media == "frame":
                frames = sorted(media.glob("*.jpg"))
                assert [f.name for f in frames] == [f"{i:05d}.jpg" for i in range(1, len(frames) + 1)]
                assert len(frames) == mvbench.clip_frames(MICRO)
            else:
                assert media.suffix == t.ext and _decode(media).shape[0] == mvbench.clip_frames(MICRO)


def test_kinetics_csv_and_clips(synth):
    from benchmarks.synthetic.writers import kinetics

    labels = {}
    for name in ("kinetics400", "kinetics600", "kinetics700"):
        rows = list(csv.DictReader(open(synth / name / "annotations" / "val.csv")))
        cols = ["label", "youtube_id", "time_start", "time_end", "split"] + (["is_cc"] if name == "kinetics400" else [])
        assert list(rows[0]) == cols
        labels[name] = sorted({r["label"] for r in rows})
        assert len(labels[name]) == kinetics.n_classes(name, MICRO)
        for r in rows:
            stem = f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}"
            f = synth / name / "val" / r["label"] / f"{stem}.mp4"
            assert _decode(f).shape[0] == MICRO.frames
    assert set(labels["kinetics400"]) < set(labels["kinetics600"]) < set(labels["kinetics700"])
    # The label names the object and its action, and the clip shows exactly that.
    for s in kinetics.samples("kinetics400", 0, MICRO):
        shape, action = s.label.split(" ", 1)
        focus = s.clip.objects[0]
        assert focus.appearance.shape == shape and [a.label for a in focus.actions] == [action]
        assert all(not o.actions and o.appearance.shape != shape for o in s.clip.objects[1:])


def test_ucf101_split_files_follow_the_group_rule(synth):
    root = synth / "ucf101"
    cls = [line.split() for line in (root / "ucfTrainTestlist" / "classInd.txt").read_text().splitlines()]
    assert [int(i) for i, _ in cls] == list(range(1, len(cls) + 1)) and [n for _, n in cls] == sorted(n for _, n in cls)
    index = {n: int(i) for i, n in cls}
    for k in (1, 2, 3):
        train = [line.split() for line in (root / "ucfTrainTestlist" / f"trainlist0{k}.txt").read_text().splitlines()]
        test = (root / "ucfTrainTestlist" / f"testlist0{k}.txt").read_text().splitlines()
        held = set(range(7 * (k - 1) + 1, 7 * k + 1))
        assert all(int(p.split("_g")[1][:2]) in held for p in test)
        assert all(int(p.split("_g")[1][:2]) not in held for p, _ in train)
        assert all(index[p.split("/")[0]] == int(i) for p, i in train)
        assert len(train) + len(test) == 25 * len(cls)
    vids = sorted((root / "UCF-101").rglob("*.avi"))
    assert len(vids) == 25 * len(cls) and _decode(vids[0]).shape[0] == MICRO.frames


def test_mcl_jcv_yuv_size_and_bt709_luma(synth):
    import av

    from benchmarks.synthetic.writers import mcl_jcv

    for s in mcl_jcv.samples(0, MICRO):
        f = synth / "mcl_jcv" / s.file_name
        W, H = map(int, s.file_name.split("_")[1].split("x"))
        T = mcl_jcv.frames(MICRO)
        assert f.stat().st_size == T * W * H * 3 // 2
        raw = np.frombuffer(f.read_bytes(), np.uint8).reshape(T, H * W * 3 // 2)
        rgb = render(s.clip).frames
        for t in (0, T - 1):
            ref = av.VideoFrame.from_ndarray(rgb[t], format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            y_ref = np.frombuffer(bytes(ref.planes[0]), np.uint8).reshape(H, -1)[:, :W]
            assert np.abs(raw[t, : H * W].reshape(H, W).astype(int) - y_ref).max() <= 1
            u_ref = np.frombuffer(bytes(ref.planes[1]), np.uint8).reshape(H // 2, -1)[:, : W // 2]
            u = raw[t, H * W: H * W + H * W // 4].reshape(H // 2, W // 2)
            assert abs(u.astype(float).mean() - u_ref.astype(float).mean()) < 2  # chroma filters differ locally
