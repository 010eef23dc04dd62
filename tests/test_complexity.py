"""The FLOPs column of Table 1 (GMACs at 3x384x128) and the complexity table."""

import pytest

from lib.models import build_model, complexity, count_macs
from lib.models.sr_baselines import SRCNN

PIXELS = 384 * 128


@pytest.fixture(scope="module")
def sr_table():
    return complexity(["bilinear", "srcnn", "vdsr", "ae", "ffsr", "ffsr_code"])


def test_vdsr_is_the_papers_32_79(sr_table):
    # 20 3x3 convolutions: 3->64, 18 x 64->64, 64->3, at every pixel
    by_hand = 9 * (3 * 64 + 18 * 64 * 64 + 64 * 3) * PIXELS
    assert sr_table.loc["vdsr", "gmacs"] == by_hand / 1e9
    assert abs(sr_table.loc["vdsr", "gmacs"] - 32.79) < 0.01  # 32.785: the paper's 32.79


def test_ffsr_within_ten_percent_of_3_71(sr_table):
    assert abs(sr_table.loc["ffsr", "gmacs"] / 3.71 - 1) < 0.10
    assert sr_table.loc["ae", "gmacs"] == sr_table.loc["ffsr", "gmacs"]
    assert sr_table.loc["ae", "params"] == sr_table.loc["ffsr", "params"]


def test_srcnn_near_2_53_and_its_variants(sr_table):
    # 9-5-5, 64/32 filters, luminance, unpadded: each layer at its shrinking output size
    h, w, by_hand = 384, 128, 0
    for k, cin, cout in [(9, 1, 64), (5, 64, 32), (5, 32, 1)]:
        h, w = h - k + 1, w - k + 1
        by_hand += k * k * cin * cout * h * w
    assert sr_table.loc["srcnn", "gmacs"] == by_hand / 1e9
    assert abs(sr_table.loc["srcnn", "gmacs"] / 2.53 - 1) < 0.03
    rgb_same = count_macs(SRCNN(luminance=False, padding="same"))
    assert rgb_same == (81 * 3 * 64 + 25 * 64 * 32 + 25 * 32 * 3) * PIXELS


def test_authors_code_sr_is_7_62(sr_table):
    assert round(sr_table.loc["ffsr_code", "gmacs"], 2) == 7.62


def test_table_layout_and_parameter_counts(sr_table):
    assert list(sr_table.columns) == ["params", "gmacs"]
    assert list(sr_table.index) == ["bilinear", "srcnn", "vdsr", "ae", "ffsr", "ffsr_code"]
    assert sr_table.loc["bilinear", "params"] == 0 and sr_table.loc["bilinear", "gmacs"] == 0
    vdsr_params = 9 * (3 * 64 + 18 * 64 * 64 + 64 * 3) + 19 * 64 + 3
    assert sr_table.loc["vdsr", "params"] == vdsr_params


def test_rife_costs_the_resnet_plus_a_second_copy_of_its_stages():
    size = (64, 32)
    table = complexity(["resnet", "rife", "ffsr_rife"], size, num_classes=10, backbone="resnet18")
    body = build_model("resnet", 10, backbone="resnet18").extractor.body  # stem, layer1..4
    stages = count_macs(body, size) - count_macs(body[:1], size)
    predictors = 2 * sum(c * 64 + 64 for c in (64, 128, 256, 512))  # FC(C->64), FC(64->1)
    extra = round((table.loc["rife", "gmacs"] - table.loc["resnet", "gmacs"]) * 1e9)
    assert extra == stages + predictors
    assert table.loc["ffsr_rife", "gmacs"] > table.loc["rife", "gmacs"]
    assert 1.8 < table.loc["rife", "params"] / table.loc["resnet", "params"] < 2.1


def test_unknown_name_lists_sr_and_network_names():
    with pytest.raises(ValueError, match="bilinear.*ffsr_rife"):
        complexity(["edsr"])
