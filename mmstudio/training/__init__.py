"""Datasets, training, evaluation and the digits dataset builder (no Qt)."""
