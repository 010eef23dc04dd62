"""FFSR: the foreground-focus super-resolution auto-encoder (Sec. 4.1, 5.2), and the
15-layer SR net of the authors' public code.

Both take the image already up-sampled (bilinear) to the model input size, in [0, 1], and
return an image of the same size. What makes FFSR "foreground-focus" is its training loss
(Eq. 5, :func:`lib.losses.ffsr_loss`); the "AE" row of Table 1 is the same network trained
with the plain MSE.

Paper FFSR (Sec. 5.2: "a 12-layer fully convolutional network. Two convolutional layers with
a stride of 2 and two transposed convolutional layers ... down-sample and up-sample"), here::

    L1  conv 3x3 /2   3 -> 64        half resolution
    L2  conv 3x3     64 -> 64        -- skip A
    L3  conv 3x3 /2  64 -> 128       quarter resolution
    L4  conv 3x3    128 -> 128       -- skip B
    L5  conv 3x3    128 -> 128
    L6  conv 3x3    128 -> 128
    L7  conv 3x3    128 -> 128       + skip B
    L8  tconv 2x2 x2 128 -> 64       + skip A   (half resolution)
    L9  conv 3x3     64 -> 64
    L10 tconv 2x2 x2 64 -> 32        full resolution
    L11 conv 3x3     32 -> 32
    L12 conv 3x3     32 -> 3         + input (global skip)

ReLU follows every layer but L12; skips are added before the ReLU (RED-Net style, the
"symmetric skip connections" of Sec. 4.1). How the widths were chosen: Table 1 gives 3.71
GMACs at 3x384x128 and nothing else. Powers of two doubling at each down-sampling
(32/64/128 at full/half/quarter resolution) with 3x3 kernels everywhere, 3x3 stride-2
down-sampling and 2x2 stride-2 transposed convolutions (exact inverses of the two
down-sampling steps, as in the authors' code) give 3.66 GMACs (-1.3%); the nearby choices
2x2 down-sampling (3.53, -5%) or 4x4 transposed kernels (4.27, +15%) land further away.
``lib.models.complexity(["ffsr"])`` measures it.

The authors' code SR net (``FFSRCode``, 15 layers, 7.62 GMACs at 3x384x128): 2x2 stride-2
convolution to 64 channels, 5x5 conv, 2x2 stride-2 convolution to 128, 3x3 conv to 256, two
residual bottlenecks (1x1 to 64, 3x3, 1x1 to 256), 2x2 transposed conv, 3x3 conv to 64,
concatenation with the half-resolution features, 2x2 transposed conv to 64, 3x3 conv,
3x3 conv to 3, plus the input.

Initialisation: both nets add their output to the input, so an untrained net is close to
the identity (the bilinear baseline) and training starts from there. Their last layer is
NOT zeroed: with a zero last layer no gradient reaches the inner layers at the first step,
and under the paper's SGD (lr 0.01, momentum 0.9) FFSR stayed at bilinear (+0.00 dB after
60 steps) while Adam moved it. :func:`near_identity_` keeps PyTorch's default random
initialisation of the last layer scaled by 0.1 (the residual scaling of EDSR / Fixup's
idea), with a zero bias: the output starts within a few hundredths of the input and every
layer gets a gradient from the first step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Replicate-pad the bottom/right of ``x`` so H and W divide by ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


LAST_LAYER_SCALE = 0.1


def near_identity_(layer: nn.Conv2d, scale: float = LAST_LAYER_SCALE) -> nn.Conv2d:
    """Scale the default random weights of a residual branch's last layer by ``scale`` and
    zero its bias, in place: the network starts near the identity without the dead gradient
    of a zeroed layer (see the module docstring)."""
    with torch.no_grad():
        layer.weight.mul_(scale)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2 if stride == 1 else k // 2)


class FFSR(nn.Module):
    """The 12-layer FFSR auto-encoder of Sec. 4.1 / 5.2 (layer table in the module docstring).

    ``width`` channels at full resolution, twice and four times that at half and quarter
    resolution; the default 32 (32/64/128) is 3.66 GMACs at 3x384x128 against the paper's
    3.71. Smaller widths are for small profiles.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        c0, c1, c2 = width, 2 * width, 4 * width
        self.down1 = _conv(3, c1, 3, stride=2)  # L1
        self.enc1 = _conv(c1, c1)  # L2
        self.down2 = _conv(c1, c2, 3, stride=2)  # L3
        self.enc2 = _conv(c2, c2)  # L4
        self.mid = nn.ModuleList(_conv(c2, c2) for _ in range(3))  # L5-L7
        self.up2 = nn.ConvTranspose2d(c2, c1, 2, stride=2)  # L8
        self.dec2 = _conv(c1, c1)  # L9
        self.up1 = nn.ConvTranspose2d(c1, c0, 2, stride=2)  # L10
        self.dec1 = _conv(c0, c0)  # L11
        self.out = near_identity_(_conv(c0, 3))  # L12

    def forward(self, x: Tensor) -> Tensor:
        xp, (h, w) = pad_to_multiple(x, 4)
        a = F.relu(self.enc1(F.relu(self.down1(xp))))
        b = F.relu(self.enc2(F.relu(self.down2(a))))
        m = F.relu(self.mid[0](b))
        m = F.relu(self.mid[1](m))
        m = F.relu(self.mid[2](m) + b)
        d = F.relu(self.up2(m) + a)
        d = F.relu(self.dec2(d))
        d = F.relu(self.dec1(F.relu(self.up1(d))))
        return (xp + self.out(d))[..., :h, :w]


class FFSRCode(nn.Module):
    """The 15-layer SR net of the authors' public code (7.62 GMACs at 3x384x128), as an
    option to measure against the paper's 12-layer FFSR (Sec. 5.2). ``width`` scales its
    channels (64/128/256 in the code, for the default 64)."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        w1, w2, w4 = width, 2 * width, 4 * width
        self.down1 = nn.Conv2d(3, w1, 2, stride=2)
        self.conv1 = nn.Conv2d(w1, w1, 5, padding=2)
        self.down2 = nn.Conv2d(w1, w2, 2, stride=2)
        self.conv2 = nn.Conv2d(w2, w4, 3, padding=1)
        self.bottlenecks = nn.ModuleList(
            nn.ModuleList(
                [nn.Conv2d(w4, w1, 1), nn.Conv2d(w1, w1, 3, padding=1), nn.Conv2d(w1, w4, 1)]
            )
            for _ in range(2)
        )
        self.up2 = nn.ConvTranspose2d(w4, w4, 2, stride=2)
        self.conv9 = nn.Conv2d(w4, w1, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.conv10 = nn.Conv2d(w1, w1, 3, padding=1)
        self.out = near_identity_(nn.Conv2d(w1, 3, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        xp, (h, w) = pad_to_multiple(x, 4)
        half = F.relu(self.conv1(self.down1(xp)))
        y = F.relu(self.conv2(self.down2(half)))
        for reduce, conv, expand in self.bottlenecks:
            y = y + expand(F.relu(conv(F.relu(reduce(y)))))
        y = F.relu(self.conv9(F.relu(self.up2(y))))
        y = F.relu(self.up1(torch.cat([y, half], dim=1)))
        y = self.out(F.relu(self.conv10(y)))
        return (xp + y)[..., :h, :w]
