"""Monitoring across surveys: sites and surveys, the per-survey pipeline, and the overdue check."""
