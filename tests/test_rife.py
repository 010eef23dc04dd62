"""RIFE (Sec. 4.2): DSB structure, gradients into both streams and predictors, Eq. 7 training,
and the two-stream baselines of Table 2."""

import pytest
import torch
import torch.nn.functional as F

from lib.losses import resolution_weight_loss, rife_loss
from lib.models import build_model
from lib.models.rife import DualStreamBlock, WeightPredictor, fuse


def _mixed_resolution_batch(seed=0, height=64, width=32):
    """Images down-sampled by r and up-sampled back (bilinear), r in {1/4, 1/2, 1}."""
    g = torch.Generator().manual_seed(seed)
    r = torch.tensor([0.25, 0.5, 1.0]).repeat(2)
    hr = torch.rand(len(r), 3, height, width, generator=g)
    x = torch.cat(
        [
            F.interpolate(
                F.interpolate(im[None], scale_factor=float(s), mode="bilinear", antialias=True),
                size=(height, width),
                mode="bilinear",
            )
            for im, s in zip(hr, r, strict=True)
        ]
    )
    return x, r


def test_rife_has_four_dsbs_with_twin_streams():
    torch.manual_seed(0)
    net = build_model("rife", 5, backbone="resnet18").extractor
    assert len(net.blocks) == 4 and all(isinstance(b, DualStreamBlock) for b in net.blocks)
    for block in net.blocks:
        low, high = block.low.state_dict(), block.high.state_dict()
        assert low.keys() == high.keys()
        assert all(low[k].shape == high[k].shape for k in low)
        assert not torch.equal(block.low[0].conv1.weight, block.high[0].conv1.weight)
        assert block.predict_low.fc1.out_features == 64 and block.predict_low.fc2.out_features == 1
    assert not isinstance(net.stem, DualStreamBlock)


def test_authors_code_options():
    net = build_model("rife", 5, backbone="resnet18", fuse_stem=True, predictor="code").extractor
    assert isinstance(net.stem, DualStreamBlock)
    assert net.blocks[0].predict_high.fc1.out_features == 16
    out = net(torch.rand(2, 3, 64, 32))
    assert len(out["weights"]) == 5
    with pytest.raises(ValueError, match="predictor"):
        build_model("rife", 5, predictor="mlp")


def test_fusion_is_eq6():
    m_low, m_high = torch.rand(2, 4, 3, 3), torch.rand(2, 4, 3, 3)
    w_low, w_high = torch.tensor([0.2, 1.0]), torch.tensor([0.7, 0.0])
    fused = fuse(m_low, m_high, w_low, w_high)
    torch.testing.assert_close(fused[0], 0.2 * m_low[0] + 0.7 * m_high[0])
    torch.testing.assert_close(fused[1], m_low[1])
    w = WeightPredictor(4, 64)(m_low)
    assert w.shape == (2,) and ((0 < w) & (w < 1)).all()


@pytest.mark.parametrize("fuse_stem", [False, True])
def test_gradients_reach_both_streams_and_predictors_of_every_dsb(fuse_stem):
    torch.manual_seed(0)
    model = build_model("rife", 3, backbone="resnet18", fuse_stem=fuse_stem)
    x, r = _mixed_resolution_batch()
    out = model(x)
    rife_loss(out["logits"], torch.tensor([0, 1, 2, 0, 1, 2]), out["weights"], r).backward()
    blocks = list(model.extractor.blocks) + ([model.extractor.stem] if fuse_stem else [])
    for block in blocks:
        for part in (block.low, block.high, block.predict_low, block.predict_high):
            grads = [p.grad for p in part.parameters()]
            assert all(g is not None for g in grads)
            assert sum(g.abs().sum() for g in grads) > 0


def test_training_eq7_drives_weights_to_resolution():
    torch.manual_seed(0)
    model = build_model("rife", 3, backbone="resnet18")
    x, r = _mixed_resolution_batch()

    def worst_error():
        with torch.no_grad():
            weights = model(x)["weights"]
        return max(
            max((w_low - (1 - r)).abs().max().item(), (w_high - r).abs().max().item())
            for w_low, w_high in weights
        )

    before = worst_error()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(25):
        loss = sum(resolution_weight_loss(wl, wh, r) for wl, wh in model(x)["weights"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = worst_error()
    assert before > 0.5  # sigmoid outputs start near 1/2, targets are 0, 1/4, ..., 1
    assert after < 0.1


def test_equal_weights_baseline_averages_the_two_networks_features():
    torch.manual_seed(0)
    model = build_model("two_resnet", 3, backbone="resnet18")
    ext = model.extractor
    assert not any("predict" in name for name, _ in ext.named_parameters())
    model.eval()
    x = torch.rand(4, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        assert out["weights"] == []
        xn = ext.normalize(x)
        f_low = ext.embed_low(ext.low(xn).mean(dim=(2, 3)))
        f_high = ext.embed_high(ext.high(xn).mean(dim=(2, 3)))
        expected = ext.bn(0.5 * f_low + 0.5 * f_high)
        torch.testing.assert_close(out["f"], expected)
        torch.testing.assert_close(out["logits"], ext.classifier(expected))


@pytest.mark.parametrize("name", ["two_resnet", "two_resnet_learned", "rife"])
def test_two_streams_from_the_same_weights_differ_after_one_step(name):
    """With ImageNet weights both streams start equal (Sec. 5.2 duplicates them); one SGD
    step must make them differ, or the two-stream network is one ResNet (Table 2)."""
    torch.manual_seed(0)
    model = build_model(name, 3, backbone="resnet18")
    ext = model.extractor
    if name == "rife":
        pairs = [(b.low, b.high) for b in ext.blocks]
    else:
        pairs = [(ext.low, ext.high)]
    for low, high in pairs:  # what pretrained=True does: the same weights twice
        high.load_state_dict(low.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = model(torch.rand(4, 3, 64, 32))
    F.cross_entropy(out["logits"], torch.tensor([0, 1, 2, 0])).backward()
    opt.step()
    for low, high in pairs:
        changed = [
            not torch.equal(a, b) for a, b in zip(low.parameters(), high.parameters(), strict=True)
        ]
        assert all(changed)


def test_learned_weights_baseline_fuses_once_at_the_output():
    torch.manual_seed(0)
    model = build_model("two_resnet_learned", 3, backbone="resnet18")
    ext = model.extractor
    model.eval()
    x = torch.rand(2, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        assert len(out["weights"]) == 1
        m_low, m_high, f_low, f_high = ext.stream_features(ext.normalize(x))
        w_low, w_high = ext.predict_low(m_low), ext.predict_high(m_high)
        torch.testing.assert_close(out["weights"][0][0], w_low)
        torch.testing.assert_close(out["weights"][0][1], w_high)
        expected = ext.bn(w_low[:, None] * f_low + w_high[:, None] * f_high)
        torch.testing.assert_close(out["f"], expected)


@pytest.mark.parametrize("backbone", ["mobilenetv2", "resnet10"])
def test_rife_at_equal_weights_is_its_single_stream_baseline(backbone):
    """Wiring check for RIFE on a pretrained trunk (issue: RIFE below its own baseline on
    MobileNetV2): with both streams from the same weights and both predictors giving 0.5,
    every DSB returns 0.5 m + 0.5 m = m, so RIFE must compute exactly the single network's
    feature maps and features, in training mode (batch statistics) and in evaluation mode
    (running statistics). Any misplaced DSB, shared or skipped BatchNorm, or stage cut would
    break the equality; what is left to tell the two apart is training, not structure."""
    from lib.models.backbones import ResNetExtractor
    from lib.models.rife import RIFEExtractor

    pretrained = backbone == "mobilenetv2"  # the offline ImageNet weights; ResNet-10: random
    torch.manual_seed(0)
    rife = RIFEExtractor(7, backbone, pretrained=pretrained)
    single = ResNetExtractor(7, backbone, pretrained=pretrained)
    if not pretrained:  # two random trunks: give both of RIFE's streams the baseline's weights
        body = list(single.body)
        rife.stem.load_state_dict(body[0].state_dict())
        for block, stage in zip(rife.blocks, body[1:], strict=True):
            block.low.load_state_dict(stage.state_dict())
            block.high.load_state_dict(stage.state_dict())
    for block in rife.blocks:
        for predictor in (block.predict_low, block.predict_high):
            torch.nn.init.zeros_(predictor.fc2.weight)
            torch.nn.init.zeros_(predictor.fc2.bias)
    rife.head.load_state_dict(single.head.state_dict())
    x = torch.rand(4, 3, 64, 32)
    for mode in (True, False):
        rife.train(mode), single.train(mode)
        a, b = rife(x), single(x)
        assert torch.allclose(a["f"], b["f"], atol=1e-5, rtol=1e-5), mode
        assert all(torch.equal(w, torch.full((4,), 0.5)) for pair in a["weights"] for w in pair)
