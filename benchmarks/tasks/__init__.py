"""One protocol per task (reconstruction, compression, segmentation, localization, classification, QA, generation);
each module defines :class:`benchmarks.base.Benchmark` subclasses registered in :mod:`benchmarks.registry`."""
