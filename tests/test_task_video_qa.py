"""MVBench QA protocol (benchmarks/tasks/video_qa.py): accuracy aggregation against a hand-worked example, oracle and
constant scorers against the task JSONs, the LM candidate log-likelihood against a brute-force per-token sum with a
tiny random Qwen2, end-to-end runs (native + probe, LM) and per-sample failures."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from benchmarks.base import DataSource, ShardResult
from benchmarks.leaderboards import load_leaderboard
from benchmarks.tasks import video_qa
from benchmarks.tasks.video_qa import MVBenchQA, LMScorer, VisualProjector, accuracy_summary

TASKS = ["action_sequence", "moving_direction", "episodic_reasoning", "fine_grained_pose"]  # mp4, frames, avi


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tok():
    from adapters.registry import build_tokenizer

    return build_tokenizer("pyratok-tiny:init=random")


@pytest.fixture(scope="module")
def mvbench(tmp_path_factory):
    from benchmarks.synthetic import generate

    out = tmp_path_factory.mktemp("syn")
    generate(out, "mvbench", scale="tiny")
    return out / "mvbench"


def _source(root) -> DataSource:
    return DataSource(str(root), "synthetic")


def _json_questions(root, task):
    return json.loads((root / "json" / f"{task}.json").read_text())


def _run(bench, tok, data, fitted):
    return [bench.run_shard(tok, data, s, fitted) for s in bench.shards(data)]


def _metrics(ms):
    return {m.name: m for m in ms}


# ------------------------------------------------------------------------------------------- aggregation
def _s(task, n, answer, native, probe=None):
    pred = {"native": native} if probe is None else {"native": native, "probe": probe}
    return {"id": f"{task}-{answer}", "task": task, "n_candidates": n, "answer_index": answer, "pred": pred}


HAND = [  # task a: 3 questions of 4 candidates, task b: 1 question of 5
    _s("action_sequence", 4, 0, 0, 1),   # native right, probe wrong
    _s("action_sequence", 4, 2, 2, 2),   # both right
    _s("action_sequence", 4, 3, 1, 3),   # native wrong, probe right
    _s("moving_direction", 5, 4, 0, 4),  # native wrong, probe right
]


def test_accuracy_summary_hand_example():
    s = accuracy_summary(HAND, "native")
    assert s["per_task"] == pytest.approx({"action_sequence": 2 / 3, "moving_direction": 0.0})
    assert s["overall"] == pytest.approx(2 / 4)                   # sample-weighted
    assert s["task_mean"] == pytest.approx((2 / 3 + 0.0) / 2)     # mean of task accuracies
    assert s["chance"] == pytest.approx((3 * 0.25 + 0.2) / 4)
    assert s["chance_per_task"] == pytest.approx({"action_sequence": 0.25, "moving_direction": 0.2})
    p = accuracy_summary(HAND, "probe")
    assert p["overall"] == pytest.approx(3 / 4) and p["task_mean"] == pytest.approx((2 / 3 + 1) / 2)
    assert accuracy_summary(HAND, "lm")["overall"] is None


def test_reduce_names_values_and_failures():
    bench = MVBenchQA(tasks=["action_sequence", "moving_direction"])
    res = ShardResult(samples=list(HAND), extras={"variants": ["native", "probe"]})
    res.fail("Moving Direction-5", "file does not exist", "x.mp4")
    m = _metrics(bench.reduce([res], _source("."), {"probe": "p.npz"}))
    assert m["accuracy"].value == pytest.approx(0.5) and m["accuracy"].n_samples == 4
    assert m["accuracy"].n_failed == 1 and m["accuracy"].extra["text_space"] == "native"
    assert m["task_mean_accuracy"].value == pytest.approx(1 / 3)
    assert m["accuracy/action_sequence"].value == pytest.approx(2 / 3)
    assert m["accuracy/moving_direction"].n_failed == 1 and m["accuracy/action_sequence"].n_failed == 0
    assert m["accuracy@probe"].value == pytest.approx(0.75) and m["accuracy@probe"].extra["text_space"] == "probe"
    assert m["accuracy/moving_direction@probe"].value == pytest.approx(1.0)
    assert m["task_mean_accuracy@probe"].value == pytest.approx(5 / 6)
    assert m["chance"].value == pytest.approx(0.2375) and m["chance/moving_direction"].value == pytest.approx(0.2)
    assert "NOT the paper's LM protocol" in m["accuracy"].note


# ------------------------------------------------------------------------------------------- oracle / constant
def test_oracle_and_constant_scorers(tok, mvbench, tmp_path, monkeypatch):
    bench = MVBenchQA(tasks=TASKS)
    data = _source(mvbench)
    fitted = bench.fit(tok, data, tmp_path)
    assert fitted["probe"] and fitted["fit_questions"] == len(TASKS)  # positions 0 of each 3-question task
    # the evaluated questions and the first-choice rate, straight from the JSONs (positions not divisible by 4)
    ev = [q for t in TASKS for i, q in enumerate(_json_questions(mvbench, t)) if i % 4]
    first_rate = sum(q["candidates"][0] == q["answer"] for q in ev) / len(ev)

    monkeypatch.setattr(MVBenchQA, "score_item",
                        lambda self, v, item, pooled, toks, ctx: [float(j == item.answer_index)
                                                                  for j in range(len(item.candidates))])
    m = _metrics(bench.reduce(_run(bench, tok, data, fitted), data, fitted))
    assert m["accuracy"].value == 1.0 and m["accuracy@probe"].value == 1.0 and m["accuracy"].n_samples == len(ev)
    assert m["task_mean_accuracy"].value == 1.0 and m["accuracy/episodic_reasoning"].value == 1.0

    monkeypatch.setattr(MVBenchQA, "score_item", lambda self, v, item, pooled, toks, ctx: [0.0] * len(item.candidates))
    m = _metrics(bench.reduce(_run(bench, tok, data, fitted), data, fitted))
    assert m["accuracy"].value == pytest.approx(first_rate)
    assert m["accuracy@probe"].value == pytest.approx(first_rate)
    assert m["chance"].value == pytest.approx(sum(1 / len(q["candidates"]) for q in ev) / len(ev))


# ------------------------------------------------------------------------------------------- end to end
def test_end_to_end_native_and_probe(tok, mvbench, tmp_path):
    bench = MVBenchQA(tasks=TASKS)
    data = _source(mvbench)
    fitted = bench.fit(tok, data, tmp_path)
    results = _run(bench, tok, data, fitted)
    samples = [s for r in results for s in r.samples]
    assert not [f for r in results for f in r.failures]
    # answers as the JSONs say
    for s in samples:
        task, idx = s["id"].rsplit("-", 1)
        q = _json_questions(mvbench, video_qa.get_task(task).key)[int(idx)]
        assert q["candidates"][s["answer_index"]] == q["answer"] and s["n_candidates"] == len(q["candidates"])
    # one native score recomputed independently: levels pooled by hand, cosine with embed_text
    item = bench.questions(data).eval_items[samples[0]["id"]]
    enc = tok.encode(bench.load_video(item, tok))
    levels = [torch.nn.functional.normalize(tok.features(enc, lv).float().mean(dim=(2, 3, 4)), dim=1)[0]
              for lv in range(1, tok.num_levels + 1)]
    v = torch.nn.functional.normalize(torch.stack(levels).mean(0), dim=0)
    t = torch.nn.functional.normalize(tok.embed_text([f"{item.question} {c}" for c in item.candidates]), dim=1)
    assert samples[0]["scores"]["native"] == pytest.approx((t @ v).tolist(), abs=1e-5)

    m = _metrics(bench.reduce(results, data, fitted))
    for name in ("accuracy", "task_mean_accuracy", "accuracy@probe", "task_mean_accuracy@probe", "chance"):
        assert m[name].value is not None and 0.0 <= m[name].value <= 1.0, name
    for t in TASKS:
        assert f"accuracy/{t}" in m and f"accuracy/{t}@probe" in m and f"chance/{t}" in m
    assert m["accuracy"].n_samples == len(samples) == 2 * len(TASKS)
    # the reported accuracy is the argmax of the recorded scores against the JSON answers
    right = sum(max(range(s["n_candidates"]), key=lambda j: (s["scores"]["probe"][j], -j)) == s["answer_index"]
                for s in samples)
    assert m["accuracy@probe"].value == pytest.approx(right / len(samples))


def test_missing_video_and_malformed_question_are_failures(tok, mvbench, tmp_path):
    root = tmp_path / "mv"
    shutil.copytree(mvbench, root)
    (root / "video" / "clevrer/video_validation" / _json_questions(root, "moving_direction")[1]["video"]).unlink()
    qs = _json_questions(root, "action_antonym")
    qs[2]["answer"] = "not a candidate"
    (root / "json" / "action_antonym.json").write_text(json.dumps(qs))
    bench = MVBenchQA(tasks=["moving_direction", "action_antonym"])
    data = _source(root)
    results = _run(bench, tok, data, None)  # no fit: native only
    fails = {f["sample"]: f for r in results for f in r.failures}
    assert set(fails) == {"Moving Direction-1", "Action Antonym-2"}
    assert "does not exist" in fails["Moving Direction-1"]["reason"]
    assert "not one of the candidates" in fails["Action Antonym-2"]["reason"]
    assert fails["Action Antonym-2"]["file"].endswith("action_antonym.json")
    assert sorted(s["id"] for r in results for s in r.samples) == ["Action Antonym-1", "Moving Direction-2"]
    m = _metrics(bench.reduce(results, data, None))
    assert m["accuracy"].n_samples == 2 and m["accuracy"].n_failed == 2
    assert m["accuracy/moving_direction"].n_failed == 1 and "accuracy@probe" not in m


# ------------------------------------------------------------------------------------------- LM scorer
def _tiny_lm(folder, bos: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers, decoders
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>", "<s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(["Question: What did the red circle do? Options: (A) It moved left. (B) It grew.",
                            "Best option: (C) It shrank. (D) It spun around."] * 3, trainer)
    if bos:
        tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>",
                                   bos_token="<s>" if bos else None)
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=False, pad_token_id=0, bos_token_id=2 if bos else None, eos_token_id=1)
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("bos", [False, True])
def test_lm_candidate_loglik_matches_brute_force(tmp_path, bos):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _tiny_lm(tmp_path / "lm", bos)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    tk = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    torch.manual_seed(1)
    proj = VisualProjector([16, 16, 8], 32, init_std=0.5, seed=3)
    with torch.no_grad():
        for lin in proj.levels:
            lin.bias.normal_()
    scorer = LMScorer(model, tk, proj)
    assert (scorer.bos is not None) == bos
    tokens = [torch.randn(5, 16), torch.randn(3, 16), torch.randn(2, 8)]
    prompt = "Question: What did the red circle do?\nBest option:"
    cands = [" (A) It moved left.", " (B) It grew.", " (C) It spun around and around."]
    got = scorer.candidate_logliks(tokens, prompt, cands)

    # brute force: one forward per candidate token on the unpadded sequence, log-softmax of the last position
    emb = model.get_input_embeddings()
    with torch.no_grad():
        prefix = torch.cat([t @ lin.weight.T + lin.bias for t, lin in zip(tokens, proj.levels)])
        lead = emb(torch.tensor([2])) if bos else torch.zeros(0, 32)
        p_ids = tk(prompt, add_special_tokens=False)["input_ids"]
        for c, value in zip(cands, got):
            c_ids = tk(c, add_special_tokens=False)["input_ids"]
            total = 0.0
            for j, tid in enumerate(c_ids):
                seq = torch.cat([lead, prefix, emb(torch.tensor(p_ids + c_ids[:j], dtype=torch.long))])
                logits = model(inputs_embeds=seq[None]).logits[0, -1]
                total += float(torch.log_softmax(logits.double(), -1)[tid])
            assert value == pytest.approx(total, rel=1e-4, abs=1e-4)
    assert len(set(round(g, 4) for g in got)) == 3


def test_lm_scorer_needs_a_path_and_valid_scorer():
    with pytest.raises(ValueError, match="lm_path"):
        MVBenchQA(scorer="lm-likelihood")
    with pytest.raises(ValueError, match="scorer must be one of"):
        MVBenchQA(scorer="gpt")
    with pytest.raises(ValueError, match="unknown MVBench task"):
        MVBenchQA(tasks=["no_such_task"])


def test_lm_likelihood_end_to_end(tok, mvbench, tmp_path):
    folder = _tiny_lm(tmp_path / "lm", False)
    tasks = ["action_sequence", "moving_direction"]
    bench = MVBenchQA(scorer="lm-likelihood", lm_path=str(folder), tasks=tasks, lm_instruction="",
                      projector_steps=25, projector_batch=64, projector_lr=3e-2)
    data = _source(mvbench)
    fitted = bench.fit(tok, data, tmp_path / "fit")
    assert (tmp_path / "fit" / "mvbench_projector.safetensors").is_file()
    # full-batch Adam on the projector lowers the answer NLL of the fit split
    assert fitted["projector_loss"]["last"] < fitted["projector_loss"]["first"]
    m = _metrics(bench.reduce(_run(bench, tok, data, fitted), data, fitted))
    assert m["accuracy"].n_samples == 4 and 0.0 <= m["accuracy"].value <= 1.0
    assert m["accuracy"].extra["text_space"] == "lm" and "accuracy@probe" not in m
    assert set(f"accuracy/{t}" for t in tasks) <= set(m)


# ------------------------------------------------------------------------------------------- tables
def test_table_specs_point_at_leaderboard_rows():
    from adapters.registry import REGISTRY

    from benchmarks.tables import table5, table10

    specs = {t.key: t for t in table5.MVBENCH_SPECS + table10.SPECS}
    t10 = specs["table10"]
    lb = load_leaderboard("table10")
    for row in t10.paper:
        for col in (c for c in t10.columns if c.paper_metric):
            hit = lb[(lb.method == row.method) & lb.setting.str.contains(row.setting, regex=False)
                     & (lb.benchmark == col.paper_benchmark) & (lb.metric == col.paper_metric)]
            assert len(hit) == 1 and hit.value.notna().all(), (row, col)
    assert len(t10.paper) == 7
    assert {"pyratok-tiny", "pyratok-tiny-wo-drift", "pyratok-tiny-wo-ar", "pyratok-tiny-wo-codebook"} \
        <= {r.tokenizer for r in t10.measured}
    assert all(r.tokenizer in REGISTRY for r in t10.measured if not r.chance)   # chance: analytic, nothing runs
    t5 = specs["table5_mvbench"]
    lb5 = load_leaderboard("table5")
    for row in t5.paper:
        hit = lb5[(lb5.method == row.method) & (lb5.benchmark == "MVBench") & (lb5.metric == "Overall accuracy")]
        assert len(hit) == 1 and hit.value.notna().all(), row
