"""benchmarks/sr_limit.py: the rule that picks the SR module's limit, and a measurement on toy runs."""

from __future__ import annotations

from pathlib import Path

from benchmarks import sr_limit
from lib.train import fit
from tests.test_train import _config


def test_the_largest_limit_that_keeps_the_psnr() -> None:
    after = {1.0: 25.00, 5.0: 24.95, 20.0: 24.80, 50.0: 20.0}
    assert sr_limit.choose(25.0, after) == 5.0  # 20 falls 0.2 dB, beyond the 0.1 allowed
    assert sr_limit.choose(25.0, after, tolerance=0.25) == 20.0
    assert sr_limit.choose(30.0, after) is None


def test_measure_trains_each_limit_from_one_start(data: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    kw = {"device": "cpu", "runs": runs, "progress": False}
    sr = fit(_config(data, "sr_finetune", "ffsr", epochs=1), **kw)
    extractor = fit(_config(data, "extractor", "resnet", epochs=1), **kw)
    config = sr_limit.joint_config(sr.dir, extractor.dir, 2.0)
    assert (config.model, config.optim.grad_clip, config.optim.sr_grad_clip) == (
        "ffsr_resnet",
        0.0,
        2.0,
    )
    assert config.init == (extractor.dir.name, sr.dir.name)
    result = sr_limit.measure(sr.dir, extractor.dir, [1e-9, 1e9], steps=2, images=6)
    assert result["steps"] == 2 and result["images"] == 6
    tiny, huge = result["after"][1e-9], result["after"][1e9]
    # a limit nine orders below the gradient leaves the SR module where it started
    assert abs(tiny["psnr_sr"] - result["start"]) < 1e-4 and tiny["sr_clipped_fraction"] == 1.0
    assert huge["sr_clipped_fraction"] == 0.0 and huge["psnr_sr"] != tiny["psnr_sr"]
    assert result["chosen"] in (1e-9, 1e9)
