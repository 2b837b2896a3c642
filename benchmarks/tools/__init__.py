"""Entry points nobody imports: scripts run as ``python -m benchmarks.tools.<name>``.

* :mod:`.ci_gate` — the CI regression gate (train the tiny PyraTok, check its reconstruction PSNR);
* :mod:`.tiny_report` — the tiny model's training report (``results/train``);
* :mod:`.perf` — speed and memory measurements written to ``results/perf/`` (runner, generation, model speed,
  LFQ entropy, data speed).
"""
