"""Export crack models to TorchScript and ONNX, and check both against PyTorch (parity).

Exported models take what the PyTorch models take: an N x 3 x H x W float32 batch of RGB
pixels scaled to [0, 1] and normalised with the model's ``mean`` and ``std``; they return
logits (apply a sigmoid, then the threshold). ``NAME.export.json`` records the conventions,
the threshold, file hashes, the parity figures and the library versions.
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from geowarn.errors import ConfigError, ModelError, OutputError
from geowarn.models.registry import ModelSpec, get_spec, list_models
from geowarn.provenance import sha256_file
from geowarn.version import __version__

#: Largest max-abs logit difference accepted by default: TorchScript vs PyTorch, ONNX Runtime vs PyTorch.
DEFAULT_TOLERANCES: tuple[float, float] = (1e-4, 1e-3)
#: Input side used when the model accepts any size and none is asked for.
DEFAULT_SIZE = 128
#: Real images (relative to the data folder) used for the parity check when present.
PARITY_IMAGES = "crack-seg/crackforest/test/images"
DEFAULT_DATA = Path("../shared/data")
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
Exporter = Literal["auto", "legacy", "dynamo"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Trace ``model`` (in eval mode) on ``example`` and save it as TorchScript at ``path``.

    Traces on at most two images of ``example`` without torch's own re-run check; check the
    result with :func:`parity`.
    """
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # torch.jit is deprecated upstream but remains the format C++ and mobile runtimes load.
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=FutureWarning)
        traced = torch.jit.trace(model, example[:2].contiguous(), check_trace=False)
    traced.save(str(path))
    return path


def _onnx_opset(path: Path) -> int:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    onnx.checker.check_model(proto)
    return next(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _export_onnx(
    model: nn.Module, example: torch.Tensor, path: Path, opset: int, dynamic_hw: bool, exporter: Exporter
) -> str:
    """Write ``path``; returns the exporter used (``legacy`` first, ``dynamo`` as fallback)."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Two images: enough to trace, and a batch of one would be specialised instead of kept dynamic.
    example = torch.cat([example[:1], example[-1:]]).contiguous()
    with torch.no_grad():
        out_ndim = model(example).ndim
    spatial = {2: "height", 3: "width"} if dynamic_hw else {}
    out_spatial = {2: "out_height", 3: "out_width"} if dynamic_hw and out_ndim == 4 else {}
    errors: list[str] = []
    if exporter in ("auto", "legacy"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces its removal
                torch.onnx.export(
                    model,
                    (example,),
                    str(path),
                    dynamo=False,
                    opset_version=opset,
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: {0: "batch", **spatial}, OUTPUT_NAME: {0: "batch", **out_spatial}},
                )
            return "legacy"
        except Exception as exc:
            errors.append(f"legacy exporter: {exc}")
    if exporter in ("auto", "dynamo"):
        dim = torch.export.Dim.DYNAMIC
        shapes = ({0: dim, **dict.fromkeys(spatial, dim)},)
        try:
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=True,
                opset_version=max(opset, 18),  # the lowest opset the dynamo exporter writes
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=shapes,
                external_data=False,
                verbose=False,
            )
            return "dynamo"
        except Exception as exc:
            errors.append(f"dynamo exporter: {exc}")
    raise ModelError(f"ONNX export to {path} failed; " + "; ".join(errors))


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: Path,
    opset: int = 17,
    dynamic_hw: bool = False,
    exporter: Exporter = "auto",
) -> Path:
    """Export ``model`` (in eval mode) to ONNX at ``path`` with a dynamic batch axis.

    ``dynamic_hw`` also frees height and width (fully convolutional models). ``auto`` uses the
    TorchScript-based exporter and falls back to the ``torch.export`` one (opset >= 18).
    """
    _export_onnx(model, example, path, opset, dynamic_hw, exporter)
    return path


def _ort_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def parity(model: nn.Module, torchscript_path: Path, onnx_path: Path, inputs: torch.Tensor) -> dict[str, float]:
    """Max abs output difference of TorchScript and ONNX Runtime (CPU) vs PyTorch on ``inputs``.

    Runs the whole batch and, when it has several images, its first image alone (a batch size
    the export did not see). Returns ``torchscript_max_abs_diff``, ``onnxruntime_max_abs_diff``
    and ``output_max_abs`` (the largest PyTorch output, for scale).
    """
    model.eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=FutureWarning)
        scripted = torch.jit.load(str(torchscript_path), map_location="cpu")
    session = _ort_session(onnx_path)
    input_name = session.get_inputs()[0].name
    x = inputs.detach().to("cpu", torch.float32).contiguous()
    batches = [x, x[:1]] if x.shape[0] > 1 else [x]
    ts_diff = ort_diff = scale = 0.0
    with torch.no_grad():
        for batch in batches:
            ref = model(batch)
            ts_diff = max(ts_diff, float((scripted(batch) - ref).abs().max()))
            out = np.asarray(session.run(None, {input_name: batch.numpy()})[0])
            ort_diff = max(ort_diff, float(np.abs(out - ref.numpy()).max()))
            scale = max(scale, float(ref.abs().max()))
    return {"torchscript_max_abs_diff": ts_diff, "onnxruntime_max_abs_diff": ort_diff, "output_max_abs": scale}


def input_side(spec: ModelSpec, size: int | None = None) -> int:
    """Square input side for ``spec``: its fixed ``input_size``, ``size``, or ``DEFAULT_SIZE``."""
    if spec.input_size is not None:
        if size is not None and size != spec.input_size:
            raise ConfigError(f"model {spec.name!r} needs {spec.input_size} px inputs, got --size {size}")
        return spec.input_size
    multiple = max(spec.size_multiple, 1)
    if size is None:
        return -(-DEFAULT_SIZE // multiple) * multiple
    if size <= 0 or size % multiple:
        raise ConfigError(f"model {spec.name!r} needs input sides that are multiples of {multiple}, got --size {size}")
    return size


def _square(image: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    """Centre square crop of ``image`` resized to ``side`` x ``side``."""
    import cv2

    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(image[top : top + s, left : left + s])
    interpolation = cv2.INTER_AREA if s > side else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(crop, (side, side), interpolation=interpolation), dtype=np.uint8)


def normalise(tiles: NDArray[np.uint8], spec: ModelSpec) -> torch.Tensor:
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float32 normalised with the spec's mean and std."""
    mean = np.asarray(spec.mean, np.float32) * np.float32(255.0)
    std = np.asarray(spec.std, np.float32) * np.float32(255.0)
    x: NDArray[np.float32] = (tiles.astype(np.float32) - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def parity_inputs(
    spec: ModelSpec, data: Path | None, batch: int = 4, size: int | None = None, seed: int = 0
) -> tuple[torch.Tensor, dict[str, Any]]:
    """A model-ready batch of real crack images from ``data``, and how it was made.

    Takes the first ``batch`` images of ``PARITY_IMAGES`` (centre square, resized). When that
    folder is absent the batch is seeded uniform random pixels, and the description says so.
    """
    if batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {batch}")
    side = input_side(spec, size)
    folder = data / PARITY_IMAGES if data is not None else None
    files: list[Path] = []
    if folder is not None and folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)[:batch]
    if files:
        from geowarn.io.images import read_rgb

        tiles = np.stack([_square(read_rgb(p), side) for p in files])
        info: dict[str, Any] = {"kind": "real", "images": [f"{PARITY_IMAGES}/{p.name}" for p in files]}
    else:
        rng = np.random.default_rng(seed)
        tiles = rng.integers(0, 256, (batch, side, side, 3), dtype=np.uint8)
        where = str(folder) if folder is not None else "no data folder given"
        info = {"kind": "random", "seed": seed, "reason": f"real images not found ({where})"}
    x = normalise(tiles, spec)
    info["shape"] = list(x.shape)
    return x, info


def _load_source(source: str | Path) -> tuple[nn.Module, ModelSpec, str, float | None, dict[str, Any]]:
    """Model, spec, export name, threshold and a description of where the weights came from."""
    path = Path(source)
    if path.is_file():
        try:
            from geowarn.training.checkpoint import model_from_checkpoint
        except ImportError as exc:
            raise ModelError(f"{path}: exporting training checkpoints needs geowarn.training.checkpoint") from exc
        model, meta = model_from_checkpoint(path)
        if not meta.get("model"):
            raise ModelError(f"{path}: the checkpoint does not name its model")
        spec = get_spec(str(meta["model"]))
        threshold = meta.get("threshold")
        origin = {"kind": "checkpoint", "file": str(path), "sha256": sha256_file(path), "options": meta.get("options")}
        return model.eval(), spec, path.stem, None if threshold is None else float(threshold), origin
    name = str(source)
    if name not in {s.name for s in list_models()}:
        if path.suffix or "/" in name or "\\" in name:
            raise ModelError(f"checkpoint file {path} does not exist")
        known = ", ".join(sorted(s.name for s in list_models()))
        raise ModelError(f"unknown model {name!r}: give a registered model ({known}) or a training checkpoint file")
    from geowarn.models.weights import load_weights, manifest_entry

    spec = get_spec(name)
    model, sha = load_weights(name)
    entry = manifest_entry(name) or {}
    threshold = entry.get("threshold")
    origin = {"kind": "shipped", "file": entry.get("file") or spec.weights_file, "sha256": sha}
    return model, spec, name, None if threshold is None else float(threshold), origin


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {
        "geowarn": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def export_model(
    source: str | Path,
    out_dir: Path,
    inputs: torch.Tensor | None = None,
    *,
    data: Path | None = DEFAULT_DATA,
    batch: int = 4,
    size: int | None = None,
    opset: int = 17,
    tolerances: tuple[float, float] = DEFAULT_TOLERANCES,
    exporter: Exporter = "auto",
) -> dict[str, Any]:
    """Export a shipped model (registry name) or a training checkpoint file into ``out_dir``.

    Checkpoints are read with ``geowarn.training.checkpoint.model_from_checkpoint`` and named
    after the file's stem; their metadata gives the model name, options and threshold.
    Writes ``NAME.torchscript.pt``, ``NAME.onnx`` and ``NAME.export.json`` and returns the JSON
    record. Parity runs on ``inputs`` if given, else on real images from ``data`` (seeded random
    pixels when absent, recorded as such), and for models accepting any size also on a smaller
    crop; ``record["parity"]["ok"]`` tells whether it is within ``tolerances`` (TorchScript, ONNX).
    """
    model, spec, name, threshold, origin = _load_source(source)
    if inputs is None:
        inputs, input_info = parity_inputs(spec, data, batch, size)
    else:
        input_info = {"kind": "given", "shape": list(inputs.shape)}
    x = inputs.detach().to("cpu", torch.float32).contiguous()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir} ({exc})") from exc
    dynamic_hw = spec.input_size is None
    ts_path = export_torchscript(model, x, out_dir / f"{name}.torchscript.pt")
    onnx_path = out_dir / f"{name}.onnx"
    used = _export_onnx(model, x, onnx_path, opset, dynamic_hw, exporter)
    figures: dict[str, Any] = dict(parity(model, ts_path, onnx_path, x))
    multiple = max(spec.size_multiple, 1)
    h, w = x.shape[2] - multiple, x.shape[3] - 2 * multiple
    if dynamic_hw and h > 0 and w > 0:
        figures["other_size"] = {"shape": [1, 3, h, w], **parity(model, ts_path, onnx_path, x[:1, :, :h, :w])}
    checked = [figures, *([figures["other_size"]] if "other_size" in figures else [])]
    ok = all(
        f["torchscript_max_abs_diff"] <= tolerances[0] and f["onnxruntime_max_abs_diff"] <= tolerances[1]
        for f in checked
    )
    record: dict[str, Any] = {
        "name": name,
        "model": spec.name,
        "task": spec.task,
        "source": origin,
        "threshold": threshold,
        "files": {
            kind: {"file": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for kind, p in (("torchscript", ts_path), ("onnx", onnx_path))
        },
        "input": {
            "name": INPUT_NAME,
            "layout": "N x 3 x H x W float32, RGB",
            "normalisation": "pixel / 255, then (x - mean) / std per channel",
            "mean": list(spec.mean),
            "std": list(spec.std),
            "dynamic": {"batch": True, "height": dynamic_hw, "width": dynamic_hw},
            "input_size": spec.input_size,
            "size_multiple": spec.size_multiple,
            "input_scale": spec.input_scale,
            "export_shape": list(x.shape),
        },
        "output": {
            "name": OUTPUT_NAME,
            "kind": "logits; crack where sigmoid(logit) >= threshold",
            "shape": "N x 1 x H x W" if spec.task == "segment" else "N",
        },
        "onnx": {"opset": _onnx_opset(onnx_path), "exporter": used},
        "parity": {
            **figures,
            "inputs": input_info,
            "tolerance": {"torchscript": tolerances[0], "onnxruntime": tolerances[1]},
            "ok": ok,
        },
        "versions": _versions(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    json_path = out_dir / f"{name}.export.json"
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    record["paths"] = {"torchscript": str(ts_path), "onnx": str(onnx_path), "json": str(json_path)}
    return record


def format_export(record: dict[str, Any]) -> str:
    """Short plain-text summary of :func:`export_model`'s record."""
    p = record["parity"]
    lines = [
        f"{record['name']} ({record['model']}, {record['task']}): ONNX opset {record['onnx']['opset']} "
        f"via the {record['onnx']['exporter']} exporter",
        f"parity on {p['inputs']['kind']} inputs {p['inputs']['shape']}: TorchScript max |diff| "
        f"{p['torchscript_max_abs_diff']:.2e} (tol {p['tolerance']['torchscript']:.0e}), ONNX Runtime max |diff| "
        f"{p['onnxruntime_max_abs_diff']:.2e} (tol {p['tolerance']['onnxruntime']:.0e}); outputs up to "
        f"{p['output_max_abs']:.2f}",
    ]
    if "other_size" in p:
        o = p["other_size"]
        lines.append(
            f"parity at {o['shape']}: TorchScript {o['torchscript_max_abs_diff']:.2e}, "
            f"ONNX Runtime {o['onnxruntime_max_abs_diff']:.2e}"
        )
    if p["inputs"]["kind"] == "random":
        lines.append(f"note: {p['inputs']['reason']}; parity used seeded random pixels")
    lines += [f"wrote {path}" for path in record["paths"].values()]
    lines.append("parity OK" if p["ok"] else "parity FAILED: outputs differ more than the tolerance")
    return "\n".join(lines)
