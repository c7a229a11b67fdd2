"""Test harnesses, apart from the runtime stages: synthetic scenes, multi-survey scenarios and the demos."""
