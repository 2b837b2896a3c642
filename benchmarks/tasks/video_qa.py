"""MVBench multiple-choice video question answering (paper Table 5, MVBench column; Table 10; protocol App. B.2).

Data: the official task JSONs and media, read by :mod:`benchmarks.datasets.mvbench` (the synthetic writer produces
the same layout). Frames: the official ``get_index`` sampling (middle frame of ``num_segments`` equal segments of
the, possibly bounded, clip) with ``num_segments = 17`` instead of the official 16, so that a causal VAE's
``T = 1 + 4k`` is met without :func:`~benchmarks.tasks.clips.conform` dropping the last segments (which hold the
end of the clip that many questions ask about). Frames are resized on the short side and centre cropped
(the official GroupScale + GroupCenterCrop) to ``size``: ``"native"`` (default) = the tokenizer's
``native_resolution`` (64 for the tiny PyraTok, 256 for the paper's), or an integer (the official MVBench
evaluation uses 224). The clip is encoded without text (``condition_on_question=True`` passes the question as
PyraTok's conditioning text).

Visual representation (B.2: "tokens of *all* quantization blocks"): the features of every level
(``Tokenizer.features(enc, l)``, ``(1, D_l, T'_l, H'_l, W'_l)``), used two ways:

* pooled vector (text-similarity scorer): each level mean-pooled over ``(T', H', W')`` and L2-normalised, then the
  levels averaged and L2-normalised again, ``(D,)``. Levels of different widths are concatenated instead (only
  the probe can score those: no native text space spans them).
* time tokens (LM scorer): each level mean-pooled over space per latent time step and L2-normalised,
  ``(T'_l, D_l)``; the prefix is level 1's tokens, then level 2's, ... (``sum_l T'_l`` tokens; 20 for a 17-frame
  clip and the tiny PyraTok). Pooling space keeps the prefix short enough for a CPU run; this is a choice, the paper
  does not say how the tokens are arranged.

Scorers (protocol field ``scorer``):

``"lm-likelihood"`` — the paper's route (B.2: tokens projected into the language model's embedding space as a
    prefix to the question; Qwen2.5-VL-3B). A causal LM from ``lm_path`` (any ``transformers`` causal LM directory,
    or a Qwen2.5-VL directory through ``AutoModelForImageTextToText``; ``local_files_only``, frozen) reads
    ``[BOS if the tokenizer uses one] + projector(time tokens) + instruction + "Question: ... Options: (A) ..."
    + "\\nBest option:"`` (the official MVBench prompt, ``video_chat2/mvbench.ipynb``) and each candidate is scored by
    ``sum log p(" (X) candidate" tokens | all that)`` (the official answer string; the sum favours short candidates,
    as any un-normalised likelihood does). The projector (one ``Linear(D_l, hidden)`` per level) is not part of the
    paper's released form here, so it is FITTED in :meth:`MVBenchQA.fit`: Adam on the next-token NLL of the correct
    answer string (LLaVA-style projector-only alignment, LM frozen) over the fit split (below). Without ``lm_path``
    this scorer raises a clear error at construction. Metrics: ``accuracy``... with ``text_space = "lm"``.
``"text-similarity"`` (the embedded default: no LM can be loaded offline) — each candidate is scored by the cosine
    between the pooled vector and the text embedding of ``"<question> <candidate>"``: natively through
    ``tokenizer.embed_text`` (text-aligned tokenizers), and for every tokenizer through the shared text-alignment
    probe (:mod:`benchmarks.tasks.probe`, metrics ``<name>@probe``). **This is NOT the paper's LM protocol; its
    numbers are not comparable with the paper's MVBench column** — every record and table note says so.

Fit split: MVBench has no training split. Within each task, the questions whose position in the task JSON is a
multiple of ``fit_every`` (default 4: 50 of each official task's 200 questions) form the fit split — the probe's
(pooled vector, ``"<question> <answer>"``) pairs or the projector's training examples — and are never scored; every
variant (native, probe, LM) is scored on the same remaining questions, so the evaluation part is 3/4 of MVBench
(``fit_every=0``: no fit split, all questions scored, text-similarity native only).

Metrics (fractions in [0, 1]): ``accuracy`` = correct / scored over all evaluated questions (sample-weighted: the
official notebook's "Total Acc"; the paper's "Overall" column and this project's tables show it),
``task_mean_accuracy`` = mean of the per-task accuracies, ``accuracy/<task>`` (task = file-name key, e.g.
``action_sequence``), each with ``@probe`` variants (``extra.text_space`` = ``"native"`` / ``"probe"``; ``"lm"``
for the LM scorer, which has no probe variant: its projector is fitted the same way for every tokenizer);
``chance`` and ``chance/<task>`` = mean of ``1 / num candidates`` over the scored questions (what guessing scores;
``text_space`` None). Ties go to the first candidate. Per-sample failures (missing or
undecodable media, a malformed question, a bound with start after end) are recorded with their reason.

Table 10 (loss ablation for understanding) versus :data:`pyratok.losses.TERMS` (``losses.disabled`` switches):

==================================  ============================================  ==================================
paper row                           ``losses.disabled``                           tokenizer (adapters ABLATIONS)
==================================  ============================================  ==================================
✓ All losses                        ``[]``                                        ``pyratok-tiny``
✗ L_drift                           ``["drift"]``                                 ``pyratok-tiny-wo-drift``
✗ L_AR                              ``["ar"]``                                    ``pyratok-tiny-wo-ar``
✗ L_dino & L_AR                     ``["drift", "ar"]`` (L_drift is the DINO-     proposed ``wo-drift-ar``
                                    reference term, paper Sec. D / Table 6)
✗ L_text-cond. alignment            ``["text_alignment"]`` (Eq. 2 term 4)         proposed ``wo-text-alignment``
✗ L_vision_commitment               ``["commitment"]`` (Eq. 2 term 1)             proposed ``wo-commitment``
✗ L_text-codebook alignment         ``["text_codebook"]`` (Eq. 2 term 5)          proposed ``wo-text-codebook``
(no paper row)                      ``["codebook"]`` (all five Eq. 2 terms)       ``pyratok-tiny-wo-codebook``
==================================  ============================================  ==================================

Table 10's rows are declared in :mod:`benchmarks.matrix` (``TABLE10_ROWS``), its spec in
:mod:`benchmarks.tables.table10`.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor, nn

from benchmarks.base import Benchmark, DataSource, Metric, Shard, ShardResult, chunk
from benchmarks.metrics.chance import ChanceLevel, chance_level
from benchmarks.metrics.uncertainty import interval_dict
from benchmarks.registry import register_benchmark
from benchmarks.datasets.errors import DatasetFormatError, SampleDecodeError, SampleFailure
from benchmarks.datasets.mvbench import MVBENCH_TASKS, MVBenchDataset, MVBenchItem, get_task, qa_template, \
    read_task_json
from benchmarks.tasks.clips import conform
from benchmarks.tasks.probe import ProbeConfig, ProbedTokenizer, TextAlignmentProbe, fit_probe_from_pairs, \
    pool_features

__all__ = ["MVBenchQA", "SCORERS", "MVBENCH_INSTRUCTION", "ANSWER_PROMPT", "candidate_text", "read_questions",
           "level_features", "pooled_vector", "time_tokens", "cosine_scores", "first_argmax", "accuracy_summary",
           "VisualProjector", "LMScorer", "lm_prompt", "lm_target"]

SCORERS = ("text-similarity", "lm-likelihood")
# The official MVBench system prompt and answer prompt (OpenGVLab/Ask-Anything video_chat2/mvbench.ipynb).
MVBENCH_INSTRUCTION = ("Carefully watch the video and pay attention to the cause and sequence of events, the detail "
                       "and movement of objects, and the action and pose of persons. Based on your observations, "
                       "select the best option that accurately addresses the question.")
ANSWER_PROMPT = "\nBest option:"
SIMILARITY_NOTE = ("text-similarity scorer: cosine between pooled tokenizer features and the text embedding of "
                   "'question + candidate'; NOT the paper's LM protocol (App. B.2), not comparable with the paper")
LM_NOTE = "lm-likelihood scorer: sum log p(candidate | projected visual prefix, question), projector fitted here"
_SUFFIX = {"native": "", "probe": "@probe", "lm": ""}


# ---------------------------------------------------------------------------------------------------- texts
def candidate_text(question: str, candidate: str) -> str:
    """The text embedded for one candidate by the text-similarity scorer (and, with the answer, by the probe)."""
    return f"{question} {candidate}"


def lm_prompt(item: MVBenchItem, instruction: str = MVBENCH_INSTRUCTION) -> str:
    """Text after the visual prefix: instruction, the official question-with-options, the answer prompt."""
    question, _ = qa_template(item)
    return f"{instruction}\n{question}{ANSWER_PROMPT}" if instruction else f"{question}{ANSWER_PROMPT}"


def lm_target(item: MVBenchItem, j: int) -> str:
    """Candidate ``j`` as the official answer string ``" (X) candidate"`` (leading space: it follows the prompt)."""
    return f" ({chr(ord('A') + j)}) {item.candidates[j]}"


# ---------------------------------------------------------------------------------------------------- data
def _task_key(task_name: str) -> str:
    return get_task(task_name).key


def read_questions(root: str | Path, tasks) -> tuple[list[MVBenchItem], list[SampleFailure]]:
    """All questions of ``tasks`` (official order, file order), media paths set but not checked, plus the questions
    that cannot be used. A task JSON with a malformed question is re-read one question at a time through the same
    reader (:func:`read_task_json`), so a bad question costs only itself; a file that is not a JSON list raises
    :class:`DatasetFormatError` naming it, as does a missing task JSON."""
    from benchmarks.datasets.activitynet import read_json

    root = Path(root)
    items: list[MVBenchItem] = []
    failures: list[SampleFailure] = []
    for task in tasks:
        path = root / "json" / task.json_file
        if not path.is_file():
            raise DatasetFormatError(path, None, f"MVBench task JSON not found (task {task.name}; pass "
                                                 f"tasks=[...] to evaluate a subset)")
        try:
            got, bad = read_task_json(path, task)
        except DatasetFormatError:
            got, bad = _read_one_by_one(path, task, read_json(path))
        media_dir = root / "video" / task.data_dir
        items += [replace(it, media=media_dir / it.video) for it in got]
        failures += bad
    return items, failures


def _read_one_by_one(path: Path, task, data) -> tuple[list[MVBenchItem], list[SampleFailure]]:
    if not isinstance(data, list):
        raise DatasetFormatError(path, None, f"top level must be a list of questions, got {type(data).__name__}")
    items, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / task.json_file
        for i, q in enumerate(data):
            one.write_text(json.dumps([q]))
            sid = f"{task.name}-{i}"
            try:
                got, bad = read_task_json(one, task)
            except DatasetFormatError as err:
                where = f"[{i}]" + (err.field[3:] if err.field and err.field.startswith("[0]") else "")
                failures.append(SampleFailure(sid, str(path), where, err.reason))
                continue
            items += [replace(it, index=i) for it in got]
            failures += [SampleFailure(sid, str(path), f"[{i}]" + (f.field or "")[3:], f.reason) for f in bad]
    return items, failures


@dataclass
class _Questions:
    """The evaluated questions (id -> item or failure, in a stable order) and the fit split."""

    eval_ids: list[str] = field(default_factory=list)
    eval_items: dict = field(default_factory=dict)      # id -> MVBenchItem
    eval_failures: dict = field(default_factory=dict)   # id -> SampleFailure
    fit_items: list = field(default_factory=list)
    fit_failures: list = field(default_factory=list)


def _media_files(item: MVBenchItem) -> list[str]:
    """The input files of a question: its video, or its frame folder's files (a missing video or folder is listed
    as is: the runner's digest records it as missing, and scoring records the failure)."""
    m = Path(item.media)
    if m.is_dir():
        return sorted(str(f) for f in m.iterdir() if f.is_file())
    return [str(m)]


def _index_of(sample_id: str) -> int:
    return int(sample_id.rsplit("-", 1)[1])


# ---------------------------------------------------------------------------------------------------- features
def level_features(tokenizer, encoding, levels: list[int]) -> list[Tensor]:
    """``[(B, D_l, T'_l, H'_l, W'_l)]`` for the 1-based ``levels``, as float32."""
    return [tokenizer.features(encoding, lvl).float() for lvl in levels]


def pooled_vector(feats: list[Tensor]) -> tuple[Tensor, bool]:
    """Levels ``[(B, D_l, ...)]`` -> ``(B, D)`` unit vectors and whether they live in the levels' common space (True)
    or are a concatenation of levels of different widths (False; only a probe can score those). Each level is
    mean-pooled and L2-normalised; equal widths are averaged and renormalised."""
    pooled = [pool_features(f) for f in feats]
    if len({p.shape[1] for p in pooled}) == 1:
        return nn.functional.normalize(torch.stack(pooled).mean(0), dim=-1), True
    return nn.functional.normalize(torch.cat(pooled, dim=1), dim=-1), False


def time_tokens(feats: list[Tensor]) -> list[list[Tensor]]:
    """Levels ``[(B, D_l, T'_l, H'_l, W'_l)]`` -> per sample, per level ``(T'_l, D_l)`` L2-normalised tokens (mean
    over space per latent time step)."""
    out = []
    for b in range(feats[0].shape[0]):
        out.append([nn.functional.normalize(f[b].flatten(2).mean(-1).transpose(0, 1), dim=-1) for f in feats])
    return out


def cosine_scores(video_vec: Tensor, text_emb: Tensor) -> list[float]:
    """``(D,)`` video vector and ``(N, D)`` text embeddings -> N cosines."""
    v = nn.functional.normalize(video_vec.float(), dim=-1)
    t = nn.functional.normalize(text_emb.float(), dim=-1)
    return (t @ v).tolist()


def first_argmax(scores: list[float]) -> int:
    """Index of the highest score; ties (and a constant scorer) go to the first candidate."""
    best = 0
    for i, s in enumerate(scores):
        if s > scores[best]:
            best = i
    return best


# ---------------------------------------------------------------------------------------------------- LM scorer
class VisualProjector(nn.Module):
    """One ``Linear(D_l, hidden)`` per level: ``[(T'_l, D_l)]`` -> ``(sum_l T'_l, hidden)`` LM input embeddings.
    Weights start ~ N(0, std(word embeddings)^2) so projected unit tokens have the word embeddings' scale."""

    def __init__(self, level_dims: list[int], hidden: int, init_std: float = 0.02, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.level_dims = list(level_dims)
        self.levels = nn.ModuleList(nn.Linear(d, hidden) for d in level_dims)
        with torch.no_grad():
            for lin in self.levels:
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * init_std)
                lin.bias.zero_()

    def forward(self, tokens: list[Tensor]) -> Tensor:
        if len(tokens) != len(self.levels):
            raise ValueError(f"projector has {len(self.levels)} levels, got {len(tokens)} token sets")
        return torch.cat([lin(t.to(lin.weight)) for lin, t in zip(self.levels, tokens)], dim=0)


_LM_CACHE: dict = {}


def _load_lm(path: str, dtype: str | None, device: torch.device):
    """(model, tokenizer) from a local directory, frozen, cached per (path, dtype, device)."""
    from pyratok.text.qwen import resolve_dtype

    key = (str(path), str(dtype), str(device))
    if key in _LM_CACHE:
        return _LM_CACHE[key]
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer

    p = Path(path)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"mvbench-qa: lm_path {p} is not a transformers model directory (no config.json)")
    dt = resolve_dtype(dtype, device)
    try:
        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except (OSError, ValueError) as err:
        raise OSError(f"mvbench-qa: cannot load the tokenizer of {p}: {err}") from err
    model = None
    errors = []
    for auto in (AutoModelForCausalLM, AutoModelForImageTextToText):  # Qwen2.5-VL is only in the second mapping
        try:
            model = auto.from_pretrained(str(p), dtype=dt, local_files_only=True)
            break
        except (ValueError, KeyError, OSError) as err:
            errors.append(f"{auto.__name__}: {err}")
    if model is None:
        raise OSError(f"mvbench-qa: {p} holds no causal LM transformers can load: {' | '.join(errors)}")
    model = model.to(device).eval().requires_grad_(False)
    _LM_CACHE[key] = (model, tok)
    return model, tok


class LMScorer:
    """A frozen causal LM plus a :class:`VisualProjector`: candidate log-likelihoods given a visual prefix.

    Sequence per row: ``[BOS?] + projector(tokens) + prompt ids + target ids`` (texts tokenized separately without
    special tokens; BOS only when the LM's tokenizer adds one to plain text), right padded."""

    def __init__(self, model, tokenizer, projector: VisualProjector):
        self.model, self.tok, self.projector = model, tokenizer, projector
        self.embed = model.get_input_embeddings()
        self.device = self.embed.weight.device
        self.dtype = self.embed.weight.dtype
        bos = tokenizer.bos_token_id
        ids = tokenizer("a")["input_ids"]
        self.bos = bos if bos is not None and ids[:1] == [bos] else None
        self.projector.to(self.device)

    @property
    def hidden(self) -> int:
        return int(self.embed.weight.shape[1])

    def ids(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def _rows(self, prefixes: list[Tensor], prompts: list[list[int]], targets: list[list[int]]):
        rows, labels = [], []
        for pre, p, t in zip(prefixes, prompts, targets):
            ids = ([self.bos] if self.bos is not None else []) + p + t
            txt = self.embed(torch.tensor(ids, dtype=torch.long, device=self.device))
            n_bos = 1 if self.bos is not None else 0
            rows.append(torch.cat([txt[:n_bos], pre.to(txt.dtype), txt[n_bos:]], dim=0))
            labels.append([-100] * (n_bos + pre.shape[0] + len(p)) + list(t))
        n = max(r.shape[0] for r in rows)
        emb = torch.zeros(len(rows), n, rows[0].shape[1], dtype=rows[0].dtype, device=self.device)
        mask = torch.zeros(len(rows), n, dtype=torch.long, device=self.device)
        lab = torch.full((len(rows), n), -100, dtype=torch.long, device=self.device)
        for i, (r, lb) in enumerate(zip(rows, labels)):
            emb[i, :r.shape[0]] = r
            mask[i, :r.shape[0]] = 1
            lab[i, :len(lb)] = torch.tensor(lb, dtype=torch.long)
        return emb, mask, lab

    def _target_logprob(self, emb: Tensor, mask: Tensor, lab: Tensor) -> tuple[Tensor, Tensor]:
        """Sum of log p(label_t | positions < t) per row, and the number of labelled tokens per row."""
        n = emb.shape[1]
        # earliest target position over the rows (>= 1: position 0 has nothing before it)
        first = max(1, int((lab >= 0).float().argmax(dim=1).min()))
        keep = n - first + 1                                    # logits at positions first-1 .. n-1
        try:
            logits = self.model(inputs_embeds=emb, attention_mask=mask, logits_to_keep=keep).logits
        except TypeError:  # an LM without logits_to_keep
            logits = self.model(inputs_embeds=emb, attention_mask=mask).logits
        logits = logits[:, -keep:].float()
        lp = torch.log_softmax(logits[:, :-1], dim=-1)          # predicts positions first .. n-1
        tgt = lab[:, n - keep + 1:]
        valid = tgt >= 0
        got = lp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0] * valid
        return got.sum(1), valid.sum(1)

    @torch.no_grad()
    def candidate_logliks(self, tokens: list[Tensor], prompt: str, targets: list[str]) -> list[float]:
        """``tokens``: per level ``(T'_l, D_l)`` -> ``sum log p(target | prefix, prompt)`` for each target."""
        pre = self.projector(tokens).to(self.dtype)
        p = self.ids(prompt)
        tids = [self.ids(t) for t in targets]
        emb, mask, lab = self._rows([pre] * len(tids), [p] * len(tids), tids)
        return self._target_logprob(emb, mask, lab)[0].tolist()

    def fit(self, examples: list[tuple[list[Tensor], str, str]], steps: int, lr: float, batch: int,
            seed: int = 0) -> list[float]:
        """Adam on the projector only: mean NLL per answer token of ``(tokens, prompt, answer)`` examples. Returns
        the loss of every step."""
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(self.projector.parameters(), lr=lr)
        enc = [(t, self.ids(p), self.ids(a)) for t, p, a in examples]
        losses = []
        self.projector.train()
        for _ in range(steps):
            pick = torch.randperm(len(enc), generator=g)[:batch].tolist()
            pres = [self.projector([x.to(self.device) for x in enc[i][0]]).to(self.dtype) for i in pick]
            emb, mask, lab = self._rows(pres, [enc[i][1] for i in pick], [enc[i][2] for i in pick])
            ll, n = self._target_logprob(emb, mask, lab)
            loss = -ll.sum() / n.sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        self.projector.eval()
        return losses


# ---------------------------------------------------------------------------------------------------- aggregation
def accuracy_summary(samples: list[dict], variant: str) -> dict:
    """Accuracy of ``variant`` over scored samples (``{"task", "n_candidates", "answer_index", "pred": {variant:
    index}}``): ``overall`` (sample-weighted), ``task_mean`` (mean of per-task accuracies), ``per_task``,
    ``n``, ``n_per_task``, ``chance`` (mean 1/n_candidates), ``chance_per_task``, ``task_mean_chance``. Values None
    when no sample has the variant."""
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    chance: dict[str, float] = {}
    for s in samples:
        if variant not in s.get("pred", {}):
            continue
        t = s["task"]
        total[t] = total.get(t, 0) + 1
        correct[t] = correct.get(t, 0) + int(s["pred"][variant] == s["answer_index"])
        chance[t] = chance.get(t, 0.0) + 1.0 / s["n_candidates"]
    n = sum(total.values())
    per_task = {t: correct[t] / total[t] for t in total}
    chance_task = {t: chance[t] / total[t] for t in total}
    return {"overall": sum(correct.values()) / n if n else None,
            "task_mean": sum(per_task.values()) / len(per_task) if per_task else None,
            "per_task": per_task, "n": n, "n_per_task": dict(total),
            "chance": sum(chance.values()) / n if n else None, "chance_per_task": chance_task,
            "task_mean_chance": sum(chance_task.values()) / len(chance_task) if chance_task else None}


def _qa_interval(samples: list[dict], variant: str, which: str) -> dict | None:
    """95 % percentile bootstrap over questions (seed 0, 2000 resamples) of :func:`accuracy_summary`'s ``which``
    (``overall``: the mean of per-question correctness; ``task_mean``: the mean of per-task accuracies of the
    resample); None with fewer than 2 questions."""
    if which == "overall":
        return interval_dict([float(x["pred"][variant] == x["answer_index"]) for x in samples],
                             method="percentile bootstrap over questions")
    return interval_dict(samples, lambda xs: accuracy_summary(xs, variant)["task_mean"],
                         method="percentile bootstrap over questions (mean of per-task accuracies)")


def _qa_chance(samples: list[dict]) -> dict | None:
    """The uniform guesser's expected accuracy and its exact 95 % interval over these questions."""
    if not samples:
        return None
    return chance_level("multiple-choice", num_options=[int(x["n_candidates"]) for x in samples]).to_dict()


# ---------------------------------------------------------------------------------------------------- benchmark
def _device_of(tokenizer) -> torch.device:
    module = getattr(tokenizer, "module", None)
    if isinstance(module, nn.Module):
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


@register_benchmark("mvbench-qa",
                    "video question answering on MVBench: accuracy per task and overall (Table 5)")
class MVBenchQA(Benchmark):
    """MVBench multiple-choice QA with a tokenizer's features (see the module docstring for the protocol)."""

    dataset = "mvbench"
    paper_name = "MVBench"
    table = "table5"
    task = "question answering"
    requires = ("features",)
    shard_size = 16
    protocol = {
        "version": "1",
        "scorer": "text-similarity",     # or "lm-likelihood" (the paper's route, needs lm_path)
        "tasks": None,                   # None: the 20 official tasks; else a list of task keys/names
        "num_segments": 17,              # official get_index sampling; 17 = 1 + 4k (official: 16)
        "size": "native",                # short side + centre crop; "native" = tokenizer.native_resolution
        "levels": "all",                 # B.2: all quantization blocks; or a list of 1-based levels
        "condition_on_question": False,  # pass the question as the tokenizer's conditioning text
        "fit_every": 4,                  # questions at positions 0, k, 2k... of each task form the fit split
        "max_per_task": None,            # at most N evaluated (and N fit) questions per task (smoke runs)
        "batch_size": 4,
        "probe_ridge": ProbeConfig().ridge,
        "lm_path": None,
        "lm_dtype": None,                # None: bfloat16 on CUDA, float32 otherwise
        "lm_instruction": MVBENCH_INSTRUCTION,
        "projector_steps": 200,
        "projector_lr": 1e-3,
        "projector_batch": 8,
        "seed": 0,
    }

    def __init__(self, **options):
        super().__init__(**options)
        p = self.protocol
        if p["scorer"] not in SCORERS:
            raise ValueError(f"{self.name}: scorer must be one of {SCORERS}, got {p['scorer']!r}")
        if p["scorer"] == "lm-likelihood" and not p["lm_path"]:
            raise ValueError(f"{self.name}: scorer 'lm-likelihood' needs lm_path=DIR, a local transformers causal LM "
                             "directory (e.g. a Qwen2.5-VL-3B-Instruct snapshot, the paper's App. B.2 backbone); "
                             "no model is downloaded. Use scorer='text-similarity' without one.")
        if p["scorer"] == "lm-likelihood" and int(p["fit_every"]) < 2:
            raise ValueError(f"{self.name}: the lm-likelihood projector is fitted on a held-out split: fit_every "
                             f"must be >= 2, got {p['fit_every']}")
        if int(p["fit_every"]) < 0 or int(p["num_segments"]) < 1:
            raise ValueError(f"{self.name}: fit_every must be >= 0 and num_segments >= 1")
        if not (p["size"] == "native" or (isinstance(p["size"], int) and p["size"] > 0)):
            raise ValueError(f"{self.name}: size must be 'native' or a positive integer, got {p['size']!r}")
        if p["levels"] != "all" and not (isinstance(p["levels"], (list, tuple)) and p["levels"]
                                         and all(isinstance(x, int) and x != 0 for x in p["levels"])):
            raise ValueError(f"{self.name}: levels must be 'all' or a list of 1-based level numbers, "
                             f"got {p['levels']!r}")
        tasks = p["tasks"]
        if isinstance(tasks, str):
            tasks = [t for t in tasks.split(";") if t]
        try:
            self.tasks = list(MVBENCH_TASKS) if tasks is None else [get_task(t) for t in tasks]
        except KeyError as err:
            raise ValueError(f"{self.name}: {err.args[0]}") from None
        self._cache: dict[str, _Questions] = {}

    # ------------------------------------------------------------------ questions and splits
    def questions(self, data: DataSource) -> _Questions:
        """The fit split and the evaluated questions (cached per data root)."""
        key = str(data.path)
        if key in self._cache:
            return self._cache[key]
        items, failures = read_questions(data.path, self.tasks)
        k = int(self.protocol["fit_every"])
        cap = self.protocol["max_per_task"]
        q = _Questions()
        entries = [(it.item_id, it.task, it.index, it) for it in items]
        entries += [(f.sample_id, f.sample_id.rsplit("-", 1)[0], _index_of(f.sample_id), f) for f in failures]
        order = {t.name: i for i, t in enumerate(self.tasks)}
        entries.sort(key=lambda e: (order[e[1]], e[2]))
        counts: dict[tuple, int] = {}
        for sid, task, index, obj in entries:
            role = "fit" if k and index % k == 0 else "eval"
            if cap is not None and counts.get((role, task), 0) >= int(cap):
                continue
            counts[(role, task)] = counts.get((role, task), 0) + 1
            if role == "fit":
                (q.fit_items if isinstance(obj, MVBenchItem) else q.fit_failures).append(obj)
                continue
            q.eval_ids.append(sid)
            if isinstance(obj, MVBenchItem):
                q.eval_items[sid] = obj
            else:
                q.eval_failures[sid] = obj
        self._cache[key] = q
        return q

    def shards(self, data: DataSource) -> list[Shard]:
        q = self.questions(data)
        parts = chunk(q.eval_ids, self.shard_size)
        out = []
        for i, ids in enumerate(parts):
            files = sorted({str(data.path / "json" / get_task(sid.rsplit("-", 1)[0]).json_file) for sid in ids}
                           | {f for s in ids if s in q.eval_items for f in _media_files(q.eval_items[s])})
            out.append(Shard(i, len(parts), tuple(ids), tuple(files)))
        return out

    def fit_files(self, data: DataSource) -> list[str]:
        q = self.questions(data)
        return sorted({str(data.path / "json" / t.json_file) for t in self.tasks}
                      | {f for it in q.fit_items for f in _media_files(it)})

    # ------------------------------------------------------------------ video -> features
    def _levels(self, tokenizer) -> list[int]:
        lv = self.protocol["levels"]
        return list(range(1, int(getattr(tokenizer, "num_levels", 1)) + 1)) if lv == "all" else list(lv)

    def _size(self, tokenizer):
        size = self.protocol["size"]
        if size == "native":
            h, w = tokenizer.native_resolution[1:3]
            return int(h) if h == w else (int(h), int(w))
        return int(size)

    def load_video(self, item: MVBenchItem, tokenizer) -> Tensor:
        """``(1, 3, T, H, W)`` in [-1, 1]: official frames, resized + centre cropped, conformed to the tokenizer."""
        # item.media is set (read_questions), so the reader's root is never consulted
        reader = MVBenchDataset(Path(item.media).parent, tasks=[], check_media=False)
        frames = reader.load_frames(item, int(self.protocol["num_segments"]), size=self._size(tokenizer),
                                    resize_mode="short_side", crop="center")
        video = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)[None]
        return conform(video, tokenizer.input_constraints)[0]

    def encode_items(self, tokenizer, items: list[MVBenchItem], res: ShardResult | None) -> list[tuple]:
        """``[(item, pooled (D,), same_space, time tokens [(T'_l, D_l)])]`` for the items that load and encode;
        the others go to ``res.failures`` (or are skipped when ``res`` is None)."""
        device = _device_of(tokenizer)
        levels = self._levels(tokenizer)
        loaded = []
        for it in items:
            try:
                loaded.append((it, self.load_video(it, tokenizer)))
            except (SampleDecodeError, ValueError) as err:
                if res is not None:
                    res.fail(it.item_id, f"{type(err).__name__}: {err}", str(it.media))
        out = []
        bs = max(1, int(self.protocol["batch_size"]))
        for i in range(0, len(loaded), bs):
            group = loaded[i:i + bs]
            if len({tuple(v.shape) for _, v in group}) > 1:   # differently conformed clips: encode one by one
                subgroups = [[g] for g in group]
            else:
                subgroups = [group]
            for sub in subgroups:
                video = torch.cat([v for _, v in sub]).to(device)
                texts = [it.question for it, _ in sub] if self.protocol["condition_on_question"] else None
                with torch.no_grad():
                    enc = tokenizer.encode(video, texts)
                    feats = [f.cpu() for f in level_features(tokenizer, enc, levels)]
                vec, same = pooled_vector(feats)
                toks = time_tokens(feats)
                out += [(it, vec[j], same, toks[j]) for j, (it, _) in enumerate(sub)]
        return out

    # ------------------------------------------------------------------ fit
    def _variants(self, tokenizer, fitted: dict | None) -> list[str]:
        if self.protocol["scorer"] == "lm-likelihood":
            return ["lm"]
        out = ["native"] if getattr(tokenizer, "text_aligned", False) else []
        if fitted and fitted.get("probe"):
            out.append("probe")
        return out

    def fit(self, tokenizer, data: DataSource, out_dir: Path) -> dict | None:
        """text-similarity: the text-alignment probe on (pooled vector, "question answer") pairs of the fit split;
        lm-likelihood: the visual projector. Returns paths and counts (JSON-able)."""
        out_dir = Path(out_dir)
        q = self.questions(data)
        state: dict = {"scorer": self.protocol["scorer"], "fit_questions": len(q.fit_items),
                       "fit_failures": [{"sample": f.sample_id, "file": f.file, "reason": f.reason}
                                        for f in q.fit_failures]}
        if self.protocol["scorer"] == "text-similarity" and not int(self.protocol["fit_every"]):
            return state  # no fit split: native scores only
        res = ShardResult()
        encoded = self.encode_items(tokenizer, q.fit_items, res)
        state["fit_failures"] += res.failures
        state["fit_used"] = len(encoded)
        if self.protocol["scorer"] == "text-similarity":
            if not encoded:
                state["probe"] = None
                state["probe_reason"] = "no fit-split question could be encoded"
                return state
            vecs = torch.stack([e[1] for e in encoded])
            texts = [candidate_text(it.question, it.answer) for it, *_ in encoded]
            path = fit_probe_from_pairs(vecs, texts, out_dir / "mvbench_probe.npz",
                                        ProbeConfig(ridge=float(self.protocol["probe_ridge"])))
            state["probe"] = str(path)
            return state
        if not encoded:
            raise RuntimeError(f"{self.name}: no fit-split question could be encoded; cannot fit the projector "
                               f"({len(state['fit_failures'])} failures, e.g. {state['fit_failures'][:1]})")
        scorer = self._lm_scorer(tokenizer, [t.shape[1] for t in encoded[0][3]], None)
        examples = [(toks, lm_prompt(it, self.protocol["lm_instruction"]), lm_target(it, it.answer_index))
                    for it, _, _, toks in encoded]
        torch.manual_seed(int(self.protocol["seed"]))
        losses = scorer.fit(examples, int(self.protocol["projector_steps"]), float(self.protocol["projector_lr"]),
                            int(self.protocol["projector_batch"]), int(self.protocol["seed"]))
        from safetensors.torch import save_file

        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "mvbench_projector.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in scorer.projector.state_dict().items()}, str(path))
        state.update(projector=str(path), level_dims=scorer.projector.level_dims, hidden=scorer.hidden,
                     lm_path=str(self.protocol["lm_path"]),
                     projector_loss={"first": losses[0] if losses else None, "last": losses[-1] if losses else None,
                                     "steps": len(losses)})
        return state

    def _lm_scorer(self, tokenizer, level_dims: list[int], projector_path: str | None) -> LMScorer:
        model, tok = _load_lm(str(self.protocol["lm_path"]), self.protocol["lm_dtype"], _device_of(tokenizer))
        emb = model.get_input_embeddings().weight
        std = float(emb[:: max(1, emb.shape[0] // 4096)].float().std())  # a row sample: no fp32 copy of the table
        proj = VisualProjector(level_dims, int(emb.shape[1]), std, int(self.protocol["seed"]))
        if projector_path is not None:
            from safetensors.torch import load_file

            proj.load_state_dict(load_file(projector_path))
        return LMScorer(model, tok, proj)

    # ------------------------------------------------------------------ scoring
    def _context(self, tokenizer, fitted: dict | None, variants: list[str]) -> dict:
        ctx: dict = {"tokenizer": tokenizer}
        if "probe" in variants:
            ctx["probed"] = ProbedTokenizer(tokenizer, TextAlignmentProbe.load(fitted["probe"]))
        if "lm" in variants:
            if not fitted or not fitted.get("projector"):
                raise RuntimeError(f"{self.name}: the lm-likelihood scorer needs the projector fitted by fit()")
            ctx["lm"] = self._lm_scorer(tokenizer, list(fitted["level_dims"]), fitted["projector"])
        return ctx

    def score_item(self, variant: str, item: MVBenchItem, pooled: Tensor, tokens: list[Tensor],
                   ctx: dict) -> list[float]:
        """Scores of ``item``'s candidates (higher = more likely the answer) under ``variant``."""
        if variant == "lm":
            targets = [lm_target(item, j) for j in range(len(item.candidates))]
            return ctx["lm"].candidate_logliks(tokens, lm_prompt(item, self.protocol["lm_instruction"]), targets)
        space = ctx["tokenizer"] if variant == "native" else ctx["probed"]
        with torch.no_grad():
            emb = space.embed_text([candidate_text(item.question, c) for c in item.candidates]).cpu()
        return cosine_scores(pooled, emb)

    def run_shard(self, tokenizer, data: DataSource, shard: Shard, fitted: dict | None) -> ShardResult:
        t0 = time.time()
        q = self.questions(data)
        variants = self._variants(tokenizer, fitted)
        res = ShardResult(extras={"variants": variants})
        items = []
        for sid in shard.items:
            if sid in q.eval_failures:
                f = q.eval_failures[sid]
                res.fail(sid, f"{f.field}: {f.reason}" if f.field else f.reason, f.file)
            elif sid in q.eval_items:
                items.append(q.eval_items[sid])
            else:
                res.fail(sid, "not an evaluated question of this data root (stale shard?)", str(data.path))
        encoded = self.encode_items(tokenizer, items, res)
        ctx = self._context(tokenizer, fitted, variants) if encoded else {}
        for item, pooled, same_space, tokens in encoded:
            sample = {"id": item.item_id, "task": _task_key(item.task), "n_candidates": len(item.candidates),
                      "answer_index": item.answer_index, "scores": {}, "pred": {}}
            for v in variants:
                if v == "native" and not same_space:
                    continue  # levels of different widths: no native text space spans them
                scores = [float(s) for s in self.score_item(v, item, pooled, tokens, ctx)]
                if len(scores) != len(item.candidates) or any(math.isnan(s) for s in scores):
                    res.fail(item.item_id, f"{v} scorer returned {scores} for {len(item.candidates)} candidates",
                             str(item.media))
                    break
                sample["scores"][v] = scores
                sample["pred"][v] = first_argmax(scores)
            else:
                res.samples.append(sample)
        res.seconds = time.time() - t0
        return res

    # ------------------------------------------------------------------ reduce
    def reduce(self, results: list[ShardResult], data: DataSource, fitted: dict | None) -> list[Metric]:
        samples = [s for r in results for s in r.samples]
        failures = [f for r in results for f in r.failures]
        variants = []
        for r in results:
            variants += [v for v in r.extras.get("variants", []) if v not in variants]
        if self.protocol["scorer"] == "text-similarity" and "probe" not in variants and (
                (fitted and "probe" in fitted) or not variants):
            variants.append("probe")  # a probe that could not be fitted still gets its (None) metrics
        fail_task: dict[str, int] = {}
        for f in failures:
            try:
                key = _task_key(str(f["sample"]).rsplit("-", 1)[0])
            except KeyError:
                continue
            fail_task[key] = fail_task.get(key, 0) + 1
        keys = [t.key for t in self.tasks]
        common = {"scorer": self.protocol["scorer"], "eval_part": self._eval_part()}
        note = SIMILARITY_NOTE if self.protocol["scorer"] == "text-similarity" else LM_NOTE
        out: list[Metric] = []
        for v in variants:
            sfx = _SUFFIX[v]
            s = accuracy_summary(samples, v)
            extra = {"text_space": v, **common}
            why = ""
            if v == "probe" and not (fitted or {}).get("probe"):
                why = f"probe not fitted: {(fitted or {}).get('probe_reason', 'no fit split')}"
            elif s["n"] == 0:
                why = "no question could be scored"
            scored = [x for x in samples if v in x.get("pred", {})]
            out.append(Metric(f"accuracy{sfx}", s["overall"], s["n"], len(failures), "", True,
                              note + "; sample-weighted over all evaluated questions (the table's 'Overall')"
                              + (f"; {why}" if why else ""),
                              {**extra, "chance": s["chance"], "aggregation": "sample-weighted",
                               "ci95": _qa_interval(scored, v, "overall"), "chance_level": _qa_chance(scored)}))
            out.append(Metric(f"task_mean_accuracy{sfx}", s["task_mean"], s["n"], len(failures), "", True,
                              note + "; unweighted mean of the per-task accuracies" + (f"; {why}" if why else ""),
                              {**extra, "chance": s["task_mean_chance"], "tasks": len(s["per_task"]),
                               "ci95": _qa_interval(scored, v, "task_mean"),
                               "chance_level": None if s["task_mean_chance"] is None else ChanceLevel(
                                   s["task_mean_chance"], "mean over tasks of the mean of 1 / number of options"
                               ).to_dict()}))
            for k in keys:
                val = s["per_task"].get(k)
                task_items = [x for x in scored if x["task"] == k]
                out.append(Metric(f"accuracy/{k}{sfx}", val, s["n_per_task"].get(k, 0), fail_task.get(k, 0), "",
                                  True, note if val is not None else f"no question of task {k} was scored",
                                  {**extra, "chance": s["chance_per_task"].get(k),
                                   "ci95": _qa_interval(task_items, v, "overall"),
                                   "chance_level": _qa_chance(task_items)}))
        # chance does not depend on the text space: from the questions scored by any variant
        chance_samples = [{**s, "pred": {"any": 0}} for s in samples]
        c = accuracy_summary(chance_samples, "any")
        out.append(Metric("chance", c["chance"], c["n"], len(failures), "", None,
                          "mean of 1/num candidates over the scored questions (guessing)",
                          {"text_space": None, **common}))
        for k in keys:
            out.append(Metric(f"chance/{k}", c["chance_per_task"].get(k), c["n_per_task"].get(k, 0),
                              fail_task.get(k, 0), "", None, "mean of 1/num candidates",
                              {"text_space": None, **common}))
        return out

    def _eval_part(self) -> str:
        k = int(self.protocol["fit_every"])
        if not k:
            return "all questions (no fit split)"
        return (f"questions at positions not divisible by {k} in each task JSON (the others fit the "
                f"{'projector' if self.protocol['scorer'] == 'lm-likelihood' else 'probe'})")
