"""Evaluation: crack metrics and scores, scoring checkpoints on folders, and the model-card figures."""
