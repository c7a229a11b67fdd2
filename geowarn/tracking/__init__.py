"""Crack tracking across surveys: matching, stable ids, growth with uncertainty, time of failure."""
