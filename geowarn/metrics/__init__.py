"""Scores of predictions against truth: tolerant segmentation counts, classification reports (numpy only)."""
