"""The engine: runs tokenizer x benchmark x shard tasks and caches their results.

* :mod:`.cache_keys` — content digests of input files and of the code that produced a number;
* :mod:`.errors` — which failures are configuration errors (refused at plan time, never retried) and which may be
  transient (retried);
* :mod:`.workers` — the functions a worker runs (build a tokenizer, fit, score a shard);
* :mod:`.backends` — where they run: a Ray instance/cluster or inline in this process;
* :mod:`.loop` — the run itself (:class:`~.loop.Run`: prepare, plan, fit, shard, reduce).
"""
