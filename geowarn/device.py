"""Where models run and at what precision: one policy for inference and training.

Device (``device`` setting): ``auto`` is the CUDA device when there is one, else the CPU;
``cuda`` without a CUDA device is refused, never silently moved to the CPU.

Mixed precision (``amp`` setting): ``auto`` is bf16 on CUDA devices that support it, fp16 on
older CUDA devices (training then scales the loss with a ``GradScaler``, which fp16 needs and
bf16 does not), and full float32 on the CPU, where autocast rarely pays. ``bf16``, ``fp16`` and
``off`` force a choice; fp16 needs CUDA.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import torch

from geowarn.errors import ConfigError

DeviceName = Literal["auto", "cpu", "cuda"]
AmpName = Literal["auto", "off", "bf16", "fp16"]


def pick_device(requested: str = "auto", setting: str = "device") -> torch.device:
    """The device for ``requested`` (``auto``, ``cpu`` or ``cuda``).

    Raises:
        ConfigError: ``cuda`` was requested and no CUDA device is available (``setting`` names the knob).

    """
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{setting}=cuda was requested but no CUDA device is available; use {setting}=auto or cpu")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


@dataclass(frozen=True)
class Precision:
    """An autocast dtype (None: float32 throughout) and whether training must scale its gradients."""

    dtype: torch.dtype | None
    scale_gradients: bool = False

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        """Context that runs the enclosed forward passes at this precision on ``device``."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.dtype)


def pick_precision(device: torch.device, amp: str = "auto", setting: str = "amp") -> Precision:
    """The precision policy for ``amp`` on ``device`` (see the module docstring).

    Raises:
        ConfigError: fp16 was requested off CUDA (``setting`` names the knob).

    """
    if amp == "off":
        return Precision(None)
    if amp == "bf16":
        return Precision(torch.bfloat16)
    if amp == "fp16":
        if device.type != "cuda":
            raise ConfigError(f"{setting}=fp16 needs CUDA; use bf16 or off on the {device.type}")
        return Precision(torch.float16, scale_gradients=True)
    if device.type != "cuda":
        return Precision(None)
    if torch.cuda.is_bf16_supported():
        return Precision(torch.bfloat16)
    return Precision(torch.float16, scale_gradients=True)
