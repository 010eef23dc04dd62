"""build_model and the networks of Tables 1-3: output dict, shapes, seeds, options, errors,
ImageNet weights from the local cache."""

import pytest
import torch
import torchvision

from lib.models import MODELS, NetworkSpec, build_model, extractor_network
from lib.weights import cache_dir

PAPER_ROWS = [
    "resnet",
    "two_resnet",
    "two_resnet_learned",
    "rife",
    "densenet121",
    "se_resnet",
    "sing",
    "srcnn_resnet",
    "vdsr_resnet",
    "ae_resnet",
    "ffsr_resnet",
    "ffsr_rife",
]
N_WEIGHTS = {"rife": 4, "two_resnet_learned": 1}


def _expected_pairs(name):
    return 4 if name.endswith("rife") else N_WEIGHTS.get(name, 0)


def test_every_table_row_has_a_name():
    assert set(PAPER_ROWS) <= set(MODELS)


# name -> (SR module, bilinear network with the same extractor), written out by hand
STRUCTURE = {
    "ffsr_rife": ("ffsr", "rife"),
    "sing": ("srcnn", "resnet"),
    "srcnn_resnet": ("srcnn", "resnet"),
    "ffsr_code_rife": ("ffsr_code", "rife"),
    "rife": ("bilinear", "rife"),
    "two_resnet_learned": ("bilinear", "two_resnet_learned"),
}


@pytest.mark.parametrize("name", list(STRUCTURE))
def test_spec_gives_sr_module_and_extractor_network(name):
    sr, bilinear = STRUCTURE[name]
    assert MODELS[name].sr == sr and extractor_network(name) == bilinear
    assert MODELS[bilinear] == NetworkSpec("bilinear", MODELS[name].extractor)


def test_every_extractor_network_is_bilinear_with_the_same_extractor():
    for name, spec in MODELS.items():
        assert MODELS[extractor_network(name)] == NetworkSpec("bilinear", spec.extractor)
    with pytest.raises(ValueError, match="unknown model"):
        extractor_network("resnet_101")
    with pytest.raises(ValueError, match="feature extractor"):
        NetworkSpec("bilinear", "vgg16")


@pytest.mark.parametrize("name", list(MODELS))
def test_output_dict_at_64x32(name):
    torch.manual_seed(0)
    model = build_model(name, 7, backbone="resnet18")
    x = torch.rand(2, 3, 64, 32)
    out = model(x)
    assert set(out) == {"f", "logits", "sr", "weights"}
    assert out["f"].shape == (2, 256) and out["logits"].shape == (2, 7)
    assert out["sr"].shape == x.shape
    assert len(out["weights"]) == _expected_pairs(name)
    assert all(w.shape == (2,) for pair in out["weights"] for w in pair)


@pytest.mark.parametrize("name", ["resnet", "ffsr_rife", "two_resnet_learned"])
def test_output_dict_at_384x128(name):
    torch.manual_seed(0)
    model = build_model(name, 5, backbone="resnet18", feat_dim=128).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 384, 128))
    assert out["f"].shape == (1, 128) and out["logits"].shape == (1, 5)
    assert out["sr"].shape == (1, 3, 384, 128)
    assert len(out["weights"]) == _expected_pairs(name)


def test_bilinear_networks_pass_the_input_through():
    x = torch.rand(2, 3, 64, 32)
    assert build_model("rife", 3, backbone="resnet18")(x)["sr"] is x


def test_sr_option_and_backbone_depth():
    model = build_model("rife", 3, sr="vdsr", backbone="resnet34")
    assert type(model.sr).__name__ == "VDSR"
    assert len(model.extractor.blocks[2].low) == 6  # resnet34's layer3
    assert type(build_model("sing", 3).sr).__name__ == "SRCNN"
    assert build_model("resnet", 3).extractor.head.fc.in_features == 2048  # resnet50 default
    assert build_model("se_resnet", 3, backbone="resnet18").extractor.head.fc.in_features == 512


def test_sr_options_reach_the_networks_sr_module():
    opts = {"ffsr": {"width": 8}, "srcnn": {"width": 16, "padding": "same"}}
    model = build_model("ffsr_rife", 3, backbone="resnet18", sr_options=opts)
    assert model.sr.dec1.out_channels == 8 and model.sr.down1.out_channels == 16
    assert (
        build_model("sing", 3, backbone="resnet18", sr_options=opts).sr.convs[1].in_channels == 16
    )
    assert type(build_model("resnet", 3, backbone="resnet18", sr_options=opts).sr).__name__ == (
        "Bilinear"
    )


def test_seed_makes_initialisation_identical():
    def weights(seed):
        torch.manual_seed(seed)
        return build_model("ffsr_rife", 5, backbone="resnet18").state_dict()

    a, b, c = weights(0), weights(0), weights(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        build_model("resnet_101", 5)
    message = str(info.value)
    assert "resnet_101" in message and all(name in message for name in MODELS)


def test_switches_a_model_does_not_have_are_errors():
    with pytest.raises(ValueError, match="fuse_stem"):
        build_model("resnet", 5, backbone="resnet18", fuse_stem=True)
    with pytest.raises(ValueError, match="predictor"):
        build_model("two_resnet", 5, backbone="resnet18", predictor="code")
    with pytest.raises(ValueError, match="backbone"):
        build_model("resnet", 5, backbone="resnet101")
    with pytest.raises(ValueError, match="SR model"):
        build_model("resnet", 5, sr="edsr")


def test_pretrained_without_cached_file_says_which_file_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = str(tmp_path / "hub" / "checkpoints")
    for name, backbone, filename in [
        ("rife", "resnet18", "resnet18-f37072fd.pth"),
        ("resnet", "resnet50", "resnet50-0676ba61.pth"),
        ("densenet121", "resnet50", "densenet121-a639ec97.pth"),
        ("se_resnet", "resnet50", "seresnet50_a1_0-ffa00869.pth"),
    ]:
        with pytest.raises(FileNotFoundError) as info:
            build_model(name, 5, backbone=backbone, pretrained=True)
        assert filename in str(info.value) and folder in str(info.value)


def test_pretrained_rife_streams_start_from_the_cached_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(123)
    reference = torchvision.models.resnet18().state_dict()
    cache_dir().mkdir(parents=True)
    torch.save(reference, cache_dir() / "resnet18-f37072fd.pth")
    torch.manual_seed(0)
    ext = build_model("rife", 5, backbone="resnet18", pretrained=True).extractor
    assert torch.equal(ext.stem[0].weight, reference["conv1.weight"])
    for i, block in enumerate(ext.blocks, start=1):
        for stream in (block.low, block.high):
            for key, value in stream.state_dict().items():
                assert torch.equal(value, reference[f"layer{i}.{key}"])


@pytest.mark.parametrize("name", ["resnet", "rife", "se_resnet"])
def test_resnet10_backbone_for_small_profiles(name: str) -> None:
    model = build_model(name, 5, backbone="resnet10").eval()
    out = model(torch.rand(2, 3, 64, 32))
    assert out["f"].shape == (2, 256) and out["logits"].shape == (2, 5)
    trunk = model.extractor
    blocks = [m for m in trunk.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 4 * (2 if name == "rife" else 1)  # one block per stage (per stream)
    with pytest.raises(FileNotFoundError, match="no ImageNet weights for"):
        build_model(name, 5, backbone="resnet10", pretrained=True)
