from __future__ import annotations

import pytest
import torch

from geowarn.errors import ModelError
from geowarn.models.registry import build_model, get_spec, list_models


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(ModelError, match="unet-s"):
        get_spec("resnet-9000")


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_every_model_runs_forward_and_backward(spec) -> None:
    model = build_model(spec.name)
    side = spec.input_size or 64
    x = torch.randn(2, 3, side, side, requires_grad=True)
    out = model(x)
    expected = (2,) if spec.task == "classify" else (2, 1, side, side)
    assert tuple(out.shape) == expected
    out.mean().backward()
    assert x.grad is not None


def test_options_are_passed_and_unknown_ones_refused() -> None:
    model = build_model("unet-s", base_channels=4, depth=2)
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 1, 8, 8)
    with pytest.raises(ModelError, match=r"no option.*colour.*base_channels"):
        build_model("unet-s", colour=3)
