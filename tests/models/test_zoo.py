from __future__ import annotations

import pytest
import torch
from torch import nn

from geowarn.errors import ModelError
from geowarn.models.registry import ModelSpec, build_model, cascade_from_parts, get_spec, list_models
from geowarn.models.zoo.aspp import ASPP, SeparableAtrousConv
from geowarn.models.zoo.cascade import NO_CRACK_LOGIT, CascadeNet
from geowarn.models.zoo.resnet_aspp import STAGE_CHANNELS

torch.set_num_threads(2)


def _side(spec: ModelSpec) -> int:
    # 64 px keeps ResNet's last stage at 2 x 2, so batch norm over a batch of 2 stays well-posed.
    side = spec.input_size or (32 if spec.task == "segment" else 64)
    assert side % spec.size_multiple == 0
    return side


def _is_head(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_model_trains_one_step_and_infers(spec: ModelSpec) -> None:
    torch.manual_seed(0)
    # An open gate lets the cascade's segmenter receive a gradient on every image.
    model = build_model(spec.name, **({"gate_threshold": 0.0} if spec.name == "cascade" else {}))
    side = _side(spec)
    x = torch.randn(2, 3, side, side)
    expected = (2,) if spec.task == "classify" else (2, 1, side, side)

    model.train()
    out = model(x)
    assert tuple(out.shape) == expected
    loss = nn.functional.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    loss.backward()
    trained = [(p, p.detach().clone()) for p in model.parameters() if p.grad is not None and p.grad.any()]
    assert trained
    torch.optim.SGD(model.parameters(), lr=1e-3).step()
    assert any(not torch.equal(p, before) for p, before in trained)

    model.eval()
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == expected
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_head_prefixes_select_a_strict_subset_of_parameters(spec: ModelSpec) -> None:
    with torch.device("meta"):
        names = [n for n, _ in build_model(spec.name).named_parameters()]
    head = [n for n in names if _is_head(n, spec.head_prefixes)]
    assert head, f"{spec.name}: {spec.head_prefixes} match no parameter"
    assert len(head) < len(names)
    assert spec.description


@pytest.mark.parametrize("stage", list(STAGE_CHANNELS))
def test_aspp_runs_at_every_insertion_point(stage: str) -> None:
    model = build_model("resnet50-aspp", insert_after=stage, branch_channels=8).eval()
    seen: list[int] = []
    model.aspp.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0].shape[1]))
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2,)
    assert seen == [STAGE_CHANNELS[stage]]


def test_aspp_rates_set_the_dilations_and_keep_the_size() -> None:
    aspp = ASPP(16, rates=(1, 3, 5, 7), branch_channels=4)
    atrous = [m for m in aspp.modules() if isinstance(m, SeparableAtrousConv)]
    assert [m[0].dilation for m in atrous] == [(1, 1), (3, 3), (5, 5), (7, 7)]
    assert all(m[0].groups == 16 for m in atrous)  # depthwise
    assert aspp(torch.randn(1, 16, 9, 9)).shape == (1, 16, 9, 9)
    assert ASPP(16, out_channels=6)(torch.randn(2, 16, 5, 5)).shape == (2, 6, 5, 5)
    default = [m[0].dilation[0] for m in build_model("resnet50-aspp").modules() if isinstance(m, SeparableAtrousConv)]
    assert default == [2, 4, 8]


def test_bad_aspp_options_are_refused() -> None:
    with pytest.raises(ModelError, match=r"insert_after='layer5'.*conv1, layer1, layer2, layer3, layer4"):
        build_model("resnet50-aspp", insert_after="layer5")
    for rates in [(), (0, 2), (2.5,), "248"]:
        with pytest.raises(ModelError, match="rates"):
            build_model("resnet50-aspp", rates=rates)


def test_model_options() -> None:
    small, large = build_model("mobilenet-v1", width_mult=0.25), build_model("mobilenet-v1")
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in large.parameters()) / 8
    assert build_model("unet", base_channels=4, depth=2)(torch.randn(1, 3, 16, 16)).shape == (1, 1, 16, 16)
    with pytest.raises(ModelError, match="depth"):
        build_model("unet", depth=5)
    with pytest.raises(ModelError, match="patch_size"):
        build_model("vit-tiny", patch_size=7)
    assert get_spec("vit-tiny").input_size == 64 and get_spec("lenet5-inception-e").input_size == 32


class _ConstantLogit(nn.Module):
    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.register_buffer("logits", torch.tensor(logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.logits[: x.shape[0]]
        return out


def _segmenter() -> nn.Module:
    torch.manual_seed(0)
    return build_model("unet-s", base_channels=4, depth=2).eval()


@pytest.mark.parametrize("training", [False, True])
def test_cascade_gate_closed_gives_no_crack_everywhere(training: bool) -> None:
    cascade = CascadeNet(_ConstantLogit([-50.0, -50.0]), _segmenter(), gate_threshold=0.5).train(training)
    out = cascade(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 1, 16, 16)
    assert torch.all(out == NO_CRACK_LOGIT)
    assert torch.sigmoid(out).max() < 1e-6


def test_cascade_gate_open_equals_segmenter() -> None:
    seg = _segmenter()
    cascade = CascadeNet(_ConstantLogit([50.0, 50.0]), seg, gate_threshold=0.9).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(cascade(x), seg(x), atol=1e-6)


def test_cascade_segments_only_gated_in_images_in_eval() -> None:
    seg = _segmenter()
    batches: list[int] = []
    seg.register_forward_hook(lambda _m, inputs, _o: batches.append(inputs[0].shape[0]))
    cascade = CascadeNet(_ConstantLogit([-50.0, 50.0, -50.0]), seg).eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        out = cascade(x)
        assert batches == [1]
        assert torch.allclose(out[1:2], seg(x[1:2]), atol=1e-6)
    assert torch.all(out[[0, 2]] == NO_CRACK_LOGIT)
    scripted = torch.jit.script(CascadeNet(_ConstantLogit([-50.0, 50.0, -50.0]), nn.Conv2d(3, 1, 1)).eval())
    assert torch.all(scripted(x)[[0, 2]] == NO_CRACK_LOGIT)


def test_cascade_from_registry_and_parts() -> None:
    cascade = build_model("cascade", gate_threshold=0.3, segmenter_options={"base_channels": 4})
    assert isinstance(cascade, CascadeNet)
    assert cascade.gate_threshold == 0.3
    assert cascade.classifier_scale == get_spec("tilecls-s").input_scale
    assert cascade.segmenter.encoders[0][0].out_channels == 4
    lenet = build_model("cascade", classifier="lenet5")
    assert isinstance(lenet, CascadeNet) and lenet.classifier_size == 32
    with pytest.raises(ModelError, match="not a classifier"):
        build_model("cascade", classifier="unet-s")
    with pytest.raises(ModelError, match="not a segmenter"):
        cascade_from_parts(nn.Identity(), nn.Identity(), segmenter_spec=get_spec("lenet5"))
    with pytest.raises(ModelError, match="gate_threshold"):
        CascadeNet(nn.Identity(), nn.Identity(), gate_threshold=1.5)
