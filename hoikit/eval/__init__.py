"""Evaluation: the metric suite (``hoikit.eval.metrics``, the ruler), dataset readers, runners."""
