"""Evaluation metrics for the benchmark harness (FVD on the Kinetics-400 I3D: ``i3d``, ``fvd``)."""
