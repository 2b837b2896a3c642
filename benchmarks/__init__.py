"""The benchmark harness. ``from benchmarks import evaluate`` is the Python entry point
(:func:`benchmarks.engine.api.evaluate`); ``python -m benchmarks.run`` the command line."""


def __getattr__(name):  # lazily: importing the package must stay cheap
    if name == "evaluate":
        from benchmarks.engine.api import evaluate

        return evaluate
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
