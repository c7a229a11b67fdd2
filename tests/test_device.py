"""The one device and precision policy of inference and training."""

from __future__ import annotations

import pytest
import torch

from geowarn.device import Precision, pick_device, pick_precision
from geowarn.errors import ConfigError

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_device_auto_and_cuda_request() -> None:
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"train\.device=cuda .*no CUDA device"):
            pick_device("cuda", "train.device")


def test_float32_on_the_cpu_unless_asked() -> None:
    assert pick_precision(CPU, "auto") == Precision(None)
    assert pick_precision(CPU, "off") == Precision(None)
    assert pick_precision(CPU, "bf16") == Precision(torch.bfloat16)
    with pytest.raises(ConfigError, match=r"train\.amp=fp16 needs CUDA"):
        pick_precision(CPU, "fp16", "train.amp")


@pytest.mark.parametrize(
    ("bf16", "expected"), [(True, Precision(torch.bfloat16)), (False, Precision(torch.float16, True))]
)
def test_cuda_auto_is_bf16_where_supported_else_fp16_with_gradient_scaling(
    monkeypatch: pytest.MonkeyPatch, bf16: bool, expected: Precision
) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert pick_precision(CUDA, "auto") == expected
    assert pick_precision(CUDA, "fp16") == Precision(torch.float16, True)
    assert pick_precision(CUDA, "off") == Precision(None)


def test_inference_and_training_share_the_policy() -> None:
    """The training loop and the detect cascade (``load_cascade``) both take their precision from ``pick_precision``."""
    from geowarn.pipeline import rows
    from geowarn.training import loop

    assert loop.pick_precision is pick_precision and rows.pick_precision is pick_precision
    assert loop.pick_device is pick_device and rows.pick_device is pick_device


def test_autocast_context() -> None:
    x = torch.ones(2, 2)
    with Precision(torch.bfloat16).autocast(CPU):
        assert (x @ x).dtype == torch.bfloat16
    with Precision(None).autocast(CPU):
        assert (x @ x).dtype == torch.float32
