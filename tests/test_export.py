from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

import geowarn.export as export
from geowarn.cli import main
from geowarn.models.registry import get_spec
from geowarn.models.weights import load_weights, manifest_entry
from geowarn.provenance import sha256_file

SHIPPED = ("tilecls-s", "unet-s")


def _jit_load(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path))


def _ort(path: Path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def _check_files(record: dict[str, Any], x: torch.Tensor) -> None:
    """Exported files, loaded on their own, agree with PyTorch on ``x``."""
    model, _ = load_weights(record["model"])
    with torch.no_grad():
        ref = model(x)
        scripted = _jit_load(Path(record["paths"]["torchscript"]))(x)
    assert float((scripted - ref).abs().max()) < 1e-4
    assert float(np.abs(_ort(Path(record["paths"]["onnx"]), x) - ref.numpy()).max()) < 1e-3


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("export")
    return {name: export.export_model(name, out, data=None, size=64) for name in SHIPPED}


@pytest.mark.parametrize("name", SHIPPED)
def test_export_writes_files_and_record(exported: dict[str, dict[str, Any]], name: str) -> None:
    record = exported[name]
    out = Path(record["paths"]["json"]).parent
    saved = json.loads((out / f"{name}.export.json").read_text())
    assert saved["model"] == name and saved["task"] == get_spec(name).task
    assert saved["threshold"] == manifest_entry(name)["threshold"]  # type: ignore[index]
    assert saved["files"]["onnx"]["sha256"] == sha256_file(out / f"{name}.onnx")
    assert saved["files"]["torchscript"]["sha256"] == sha256_file(out / f"{name}.torchscript.pt")
    assert saved["onnx"]["opset"] >= 17 and saved["onnx"]["exporter"] in ("legacy", "dynamo")
    assert saved["input"]["mean"] == list(get_spec(name).mean)
    assert saved["versions"]["onnxruntime"] == ort.__version__
    parity = saved["parity"]
    assert parity["ok"] and parity["inputs"]["kind"] == "random" and "not found" in parity["inputs"]["reason"]
    assert parity["torchscript_max_abs_diff"] < 1e-4 and parity["onnxruntime_max_abs_diff"] < 1e-3
    assert parity["other_size"]["onnxruntime_max_abs_diff"] < 1e-3


@pytest.mark.parametrize("name", SHIPPED)
def test_exported_files_match_pytorch_on_another_batch_size(exported: dict[str, dict[str, Any]], name: str) -> None:
    torch.manual_seed(3)
    _check_files(exported[name], torch.randn(3, 3, 64, 64))  # exported with 4 images


def test_segmenter_onnx_accepts_other_sizes(exported: dict[str, dict[str, Any]]) -> None:
    x = torch.randn(2, 3, 80, 48)
    out = _ort(Path(exported["unet-s"]["paths"]["onnx"]), x)
    assert out.shape == (2, 1, 80, 48)
    _check_files(exported["unet-s"], x)


def test_dynamo_exporter_keeps_axes_dynamic(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1)).eval()
    path = export.export_onnx(
        model, torch.randn(1, 3, 16, 16), tmp_path / "tiny.onnx", dynamic_hw=True, exporter="dynamo"
    )
    x = torch.randn(3, 3, 24, 20)
    with torch.no_grad():
        assert float(np.abs(_ort(path, x) - model(x).numpy()).max()) < 1e-5


def test_parity_inputs_fall_back_to_seeded_random(tmp_path: Path) -> None:
    spec = get_spec("unet-s")
    a, info = export.parity_inputs(spec, tmp_path, batch=2, size=32)
    b, _ = export.parity_inputs(spec, tmp_path, batch=2, size=32)
    assert info["kind"] == "random" and a.shape == (2, 3, 32, 32) and torch.equal(a, b)


@pytest.mark.realdata
def test_export_parity_on_real_images(shared_data: Path, tmp_path: Path) -> None:
    for name in SHIPPED:
        record = export.export_model(name, tmp_path, data=shared_data, size=64)
        assert record["parity"]["inputs"]["kind"] == "real" and record["parity"]["ok"]
        x, info = export.parity_inputs(get_spec(name), shared_data, batch=3, size=64)
        assert info["kind"] == "real" and len(info["images"]) == 3
        _check_files(record, x)


def test_cli_export_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(["export", "tilecls-s", "--out", str(out), "--data", str(tmp_path), "--size", "32", "--batch", "2"])
    assert status == 0
    text = capsys.readouterr().out
    assert "TorchScript max |diff|" in text and "parity OK" in text
    assert {p.name for p in out.iterdir()} == {"tilecls-s.torchscript.pt", "tilecls-s.onnx", "tilecls-s.export.json"}


def test_cli_export_fails_when_parity_exceeds_tolerance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = {"torchscript_max_abs_diff": 0.0, "onnxruntime_max_abs_diff": 0.5, "output_max_abs": 1.0}
    monkeypatch.setattr(export, "parity", lambda *args: dict(figures))
    argv = ["export", "tilecls-s", "--out", str(tmp_path), "--data", str(tmp_path), "--size", "32", "--batch", "2"]
    assert main(argv) == 1
    assert "parity FAILED" in capsys.readouterr().out
    assert main([*argv, "--tolerance", "1"]) == 0


@pytest.mark.parametrize(
    ("source", "message"),
    [("no-such-model", "unknown model 'no-such-model'"), ("missing/run.pt", "does not exist")],
)
def test_cli_export_unknown_source_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    assert main(["export", source, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geowarn: error:") and message in err
    assert not any(tmp_path.iterdir())


def test_cli_export_refuses_a_size_the_model_cannot_take(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "unet-s", "--out", str(tmp_path), "--size", "50"]) == 2
    assert "multiples of 16" in capsys.readouterr().err


def test_checkpoint_export_uses_its_metadata(tmp_path: Path) -> None:
    from geowarn.models.registry import build_model
    from geowarn.training.checkpoint import save_checkpoint

    torch.manual_seed(0)
    options = {"widths": (4, 8)}
    model = build_model("tilecls-s", **options).eval()
    path = save_checkpoint(
        tmp_path / "best.pt",
        model="tilecls-s",
        options=options,
        task="classify",
        state_dict=model.state_dict(),
        threshold=0.4,
    )
    record = export.export_model(path, tmp_path / "out", data=None, size=32, batch=2)
    assert record["name"] == "best" and record["model"] == "tilecls-s" and record["threshold"] == 0.4
    assert record["source"]["kind"] == "checkpoint" and record["source"]["sha256"] == sha256_file(path)
    assert record["parity"]["ok"] and (tmp_path / "out" / "best.onnx").exists()


def test_cli_export_refuses_a_file_that_is_no_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.pt"
    bogus.write_text("not a checkpoint")
    assert main(["export", str(bogus), "--out", str(tmp_path / "out")]) == 2
    assert str(bogus) in capsys.readouterr().err
