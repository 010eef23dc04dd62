"""RIFE, the resolution-invariant feature extractor (Sec. 4.2, 5.2), and the two-stream
baselines of Table 2.

RIFE turns each of the 4 main stages of a torchvision ResNet (layer1..layer4; or of the
MobileNetV2 of :mod:`lib.models.mobilenet`, the stages ending at strides 4, 8, 16, 32: any
trunk of :func:`lib.models.backbones.build_trunk`) into a Dual-Stream Block (DSB): a low-resolution copy DSB^L and a high-resolution copy DSB^H of the
stage's layers, whose outputs m^L, m^H are fused as ``m = w_L m^L + w_H m^H`` (Eq. 6), w_L
predicted from m^L and w_H from m^H. The stem (conv1/bn1/relu/maxpool of a ResNet; the
first two blocks of MobileNetV2) is shared (paper);
``fuse_stem=True`` also duplicates and fuses it, as the authors' code does (5 fusions). After
the last DSB: GAP, FC to the 256-d ``f`` (BatchNorm1d after it, see ``backbones``), classifier.

Weight predictor (Sec. 5.2: "two FC layers with the output channels of 64 and 1"):
GAP -> FC(C -> 64) -> ReLU -> FC(64 -> 1) -> sigmoid. The sigmoid is our reading: Eq. 7
regresses w_L towards 1 - r and w_H towards r, both in [0, 1], and the authors' code ends
its predictor with a sigmoid too. ``predictor="code"`` is the authors' code predictor,
the same with 16 hidden units: GAP -> FC(C -> 16) -> ReLU -> FC(16 -> 1) -> sigmoid.

Initialisation of the two streams: with ``pretrained=True`` both start from the same
ImageNet weights (Sec. 5.2 duplicates the pre-trained layers) and the fusion weights break
the symmetry (Sec. 4.2: the ReID loss changes DSB^L more for low-resolution images because
w_L is larger). With ``pretrained=False`` each stream gets its own random initialisation, as
two separately built networks would: identical random copies fused with equal weights would
receive identical gradients and stay one network forever.

Table 2 baselines (:class:`TwoResNetExtractor`): two whole networks on the same input, each
with its own FC layer to the 256-d feature, whose FEATURES are fused with equal weights
(``f = (f_1 + f_2) / 2``, nothing learned; no ``weights`` returned) or with learned weights,
Eq. 6 at the output only (one predictor pair, one (w_L, w_H) returned, trained with Eq. 7
like a DSB). Fusing after each network's own randomly initialised FC layer is what keeps
two streams that start from the same ImageNet weights from collapsing into one network
(see the class).
"""

from __future__ import annotations

import copy

from torch import Tensor, nn

from lib.models.backbones import EmbeddingHead, Normalize, Trunk, build_trunk

PREDICTOR_HIDDEN = {"paper": 64, "code": 16}


def twin_trunks(backbone: str, pretrained: bool) -> tuple[Trunk, Trunk]:
    """The two trunks (:func:`~lib.models.backbones.build_trunk`) whose stages make the low
    and high streams: the same ImageNet weights twice (``pretrained=True``, Sec. 5.2) or two
    independent random initialisations."""
    low = build_trunk(backbone, pretrained)
    high = copy.deepcopy(low) if pretrained else build_trunk(backbone, False)
    return low, high


def predictor_hidden(predictor: str) -> int:
    """Hidden units of the weight predictor: 64 ("paper", Sec. 5.2) or 16 ("code")."""
    if predictor not in PREDICTOR_HIDDEN:
        raise ValueError(f"predictor must be 'paper' or 'code', got {predictor!r}")
    return PREDICTOR_HIDDEN[predictor]


class WeightPredictor(nn.Module):
    """GAP -> FC(C -> hidden) -> ReLU -> FC(hidden -> 1) -> sigmoid: one weight per image,
    shape (B,). Predicts w_L from m^L or w_H from m^H (Eq. 6)."""

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, m: Tensor) -> Tensor:
        return self.fc2(self.fc1(m.mean(dim=(2, 3))).relu()).sigmoid().squeeze(1)


def fuse(m_low: Tensor, m_high: Tensor, w_low: Tensor, w_high: Tensor) -> Tensor:
    """Eq. 6: m = w_L m^L + w_H m^H with per-image weights of shape (B,)."""
    return w_low.view(-1, 1, 1, 1) * m_low + w_high.view(-1, 1, 1, 1) * m_high


class DualStreamBlock(nn.Module):
    """A DSB (Sec. 4.2): low- and high-resolution streams of the same architecture fused by
    Eq. 6. Returns (m, w_L, w_H)."""

    def __init__(self, low: nn.Module, high: nn.Module, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.low = low
        self.high = high
        self.predict_low = WeightPredictor(channels, hidden)
        self.predict_high = WeightPredictor(channels, hidden)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        m_low, m_high = self.low(x), self.high(x)
        w_low, w_high = self.predict_low(m_low), self.predict_high(m_high)
        return fuse(m_low, m_high, w_low, w_high), w_low, w_high


class RIFEExtractor(nn.Module):
    """RIFE over a torchvision ResNet-10/18/34/50 or MobileNetV2 (Sec. 4.2, 5.2): 4 DSBs (5
    with ``fuse_stem``).

    ``forward(x)`` returns ``{"f": (B, feat_dim), "logits": (B, num_classes), "weights":
    [(w_L, w_H), ...]}`` with one pair of (B,) tensors per DSB, stem first when fused.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        pretrained: bool = False,
        feat_dim: int = 256,
        *,
        fuse_stem: bool = False,
        predictor: str = "paper",
    ) -> None:
        super().__init__()
        hidden = predictor_hidden(predictor)
        low, high = twin_trunks(backbone, pretrained)
        chans = low.channels
        self.normalize = Normalize()
        self.fuse_stem = fuse_stem
        self.stem = (
            DualStreamBlock(low.stem, high.stem, chans[0], hidden) if fuse_stem else low.stem
        )
        self.blocks = nn.ModuleList(
            DualStreamBlock(s_low, s_high, c, hidden)
            for s_low, s_high, c in zip(low.stages, high.stages, chans[1:], strict=True)
        )
        self.head = EmbeddingHead(chans[-1], feat_dim, num_classes)

    def forward(self, x: Tensor) -> dict:
        m = self.normalize(x)
        weights = []
        if self.fuse_stem:
            m, w_low, w_high = self.stem(m)
            weights.append((w_low, w_high))
        else:
            m = self.stem(m)
        for block in self.blocks:
            m, w_low, w_high = block(m)
            weights.append((w_low, w_high))
        f, logits = self.head(m)
        return {"f": f, "logits": logits, "weights": weights}


class TwoResNetExtractor(nn.Module):
    """Two ResNets whose FEATURES are fused (Table 2, Sec. 5.3: "two ResNet50 with their
    features fused with equal weight" / "with learned weights learned with Eq. (6)").

    Each stream is a whole network up to its feature: its trunk (a ResNet, or MobileNetV2
    with ``backbone="mobilenetv2"``), GAP and its own FC
    layer to ``feat_dim``, each FC randomly initialised on its own. The two features are
    fused, ``f = (f_1 + f_2) / 2`` (``learned=False``, no ``weights`` returned) or
    ``f = w_L f_1 + w_H f_2`` with w_L, w_H predicted from each stream's last feature map as
    in a DSB (``learned=True``, Eq. 6 once, at the output; one (w_L, w_H) returned and
    trained with Eq. 7), then batch-normalised and classified as in :class:`EmbeddingHead`.

    Why the fusion sits after each network's own FC layer: with ImageNet weights both trunks
    start equal (the paper duplicates them), and two equal trunks averaged before a shared
    head receive identical gradients forever, so the baseline would stay one ResNet and
    Table 2's row b could not differ from row a. Two separately initialised FC layers make
    the two networks' gradients differ from the first step, as two networks trained
    together would.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        pretrained: bool = False,
        feat_dim: int = 256,
        *,
        learned: bool = False,
        predictor: str = "paper",
    ) -> None:
        super().__init__()
        hidden = predictor_hidden(predictor)
        low, high = twin_trunks(backbone, pretrained)
        chans = low.channels
        self.normalize = Normalize()
        self.low = nn.Sequential(low.stem, *low.stages)
        self.high = nn.Sequential(high.stem, *high.stages)
        self.embed_low = nn.Linear(chans[-1], feat_dim)
        self.embed_high = nn.Linear(chans[-1], feat_dim)
        self.learned = learned
        if learned:
            self.predict_low = WeightPredictor(chans[-1], hidden)
            self.predict_high = WeightPredictor(chans[-1], hidden)
        self.bn = nn.BatchNorm1d(feat_dim)
        self.classifier = nn.Linear(feat_dim, num_classes)

    def stream_features(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(m_1, m_2, f_1, f_2): each stream's last feature map and its own feature, for
        normalised images ``x``."""
        m_low, m_high = self.low(x), self.high(x)
        f_low = self.embed_low(m_low.mean(dim=(2, 3)))
        f_high = self.embed_high(m_high.mean(dim=(2, 3)))
        return m_low, m_high, f_low, f_high

    def forward(self, x: Tensor) -> dict:
        m_low, m_high, f_low, f_high = self.stream_features(self.normalize(x))
        if self.learned:
            w_low, w_high = self.predict_low(m_low), self.predict_high(m_high)
            fused, weights = w_low[:, None] * f_low + w_high[:, None] * f_high, [(w_low, w_high)]
        else:
            fused, weights = 0.5 * (f_low + f_high), []
        f = self.bn(fused)
        return {"f": f, "logits": self.classifier(f), "weights": weights}
