"""Crack models: architectures, the registry by name, and weight loading."""

from geowarn.models.registry import ModelSpec, build_model, get_spec, list_models
from geowarn.models.weights import load_weights

__all__ = ["ModelSpec", "build_model", "get_spec", "list_models", "load_weights"]
