"""The SR baselines of Table 1 (Sec. 5.3): bilinear, SRCNN and VDSR.

All take the image already up-sampled (bilinear) to the model input size, in [0, 1], and
return an image of the same size (the pre-up-sampling design of SRCNN and VDSR).

Complexity convention: 1 multiply-add = 1 MAC, convolutions only. VDSR (20 layers, 64
channels, RGB) is 20 x 3x3 convolutions at full resolution:
``9 * (3*64 + 18*64*64 + 64*3) * 384*128 = 32.785e9`` MACs at 3x384x128, the 32.79 of Table 1
(rounded; to two decimals it is 32.78).

SRCNN and the 2.53 of Table 1: no configuration of Dong et al. gives 2.53 GMACs exactly in
this convention. Measured at 3x384x128 for the 9-5-5 network (64 and 32 filters):

==========================  ======  =======================================
channels, padding           GMACs   note
==========================  ======  =======================================
luminance, valid (default)   2.48   Dong et al.'s SRCNN as published: -2%
luminance, same              2.81
RGB, valid                   3.01
RGB, same                    3.40
==========================  ======  =======================================

(9-1-5 and 9-3-5 are 0.98 and 1.79 in RGB, "same"; a search over kernel sizes, widths,
channels and padding finds 2.53 only for configurations nobody published, e.g. 9-3-5 with
64/64 filters, RGB, valid). The default is therefore the network of
Dong et al. as published: it works on the luminance Y = 0.299 R + 0.587 G + 0.114 B, its
convolutions are unpadded ("valid"), so it predicts the 368x112 interior of a 384x128 image,
and the border (8 pixels each side) keeps the bilinear input, as SRCNN's evaluation does.
The chrominance is kept: the predicted change of Y is added to R, G and B alike, which
leaves Cb and Cr unchanged. ``SRCNN(luminance=False, padding="same")`` is the RGB variant.

Initialisation: VDSR learns a residual and starts near the identity (the bilinear
baseline) with a scaled-down random last layer (:func:`lib.models.ffsr.near_identity_`, not
zeroed, so every layer gets a gradient from the first step); SRCNN predicts the image itself, as published, and needs
its MSE pre-training (stage 1) before it is useful.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lib.models.ffsr import near_identity_

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, the Y of YCbCr used by SRCNN


class Bilinear(nn.Module):
    """No learned SR: the loader has already up-sampled bilinearly, so this returns its input
    (the "Bilinear" row of Table 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class SRCNN(nn.Module):
    """SRCNN (Dong et al., 2014), the Table 1 baseline: conv(f1, n1) - ReLU - conv(f2, n2) -
    ReLU - conv(f3, c) with n1 = ``width``, n2 = ``width // 2``. Defaults: 9-5-5, 64/32
    filters, on luminance, unpadded (2.48 GMACs at 3x384x128; see the module docstring for
    the search against the paper's 2.53)."""

    def __init__(
        self,
        kernel_sizes: tuple[int, int, int] = (9, 5, 5),
        width: int = 64,
        *,
        luminance: bool = True,
        padding: str = "valid",
    ) -> None:
        super().__init__()
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        c = 1 if luminance else 3
        chans = (c, width, width // 2, c)
        pad = (lambda k: k // 2) if padding == "same" else (lambda k: 0)
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], k, padding=pad(k)) for i, k in enumerate(kernel_sizes)
        )
        self.luminance, self.padding = luminance, padding
        self.border = 0 if padding == "same" else sum(k // 2 for k in kernel_sizes)

    def forward(self, x: Tensor) -> Tensor:
        b, (h, w) = self.border, x.shape[-2:]
        if h <= 2 * b or w <= 2 * b:
            raise ValueError(f"SRCNN with valid padding needs images above {2 * b}x{2 * b}")
        y = (x * x.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True) if self.luminance else x
        z = y
        for i, conv in enumerate(self.convs):
            z = conv(z)
            if i < len(self.convs) - 1:
                z = F.relu(z)
        if b == 0:
            return x + (z - y) if self.luminance else z
        change = z - y[..., b : h - b, b : w - b]
        return x + F.pad(change, (b, b, b, b))  # the border keeps the input


class VDSR(nn.Module):
    """VDSR (Kim et al., 2016), the Table 1 baseline: ``depth`` 3x3 convolutions of ``width``
    channels with ReLU, on RGB, learning the residual to the input. 32.785 GMACs at 3x384x128.
    """

    def __init__(self, depth: int = 20, width: int = 64) -> None:
        super().__init__()
        chans = (3, *([width] * (depth - 1)), 3)
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, padding=1) for i in range(depth)
        )
        near_identity_(self.convs[-1])

    def forward(self, x: Tensor) -> Tensor:
        z = x
        for conv in self.convs[:-1]:
            z = F.relu(conv(z))
        return x + self.convs[-1](z)
