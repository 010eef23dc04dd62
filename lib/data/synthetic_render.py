"""Drawing of the embedded dataset's procedural pedestrians (see :mod:`lib.data.synthetic`).

A person is drawn as a map of part labels on a canvas ``SS`` times the output size with
Pillow's ImageDraw, coloured with numpy (palette colour per part, fine patterns as
zero-mean modulations of that colour), box-filtered down to the output size (anti-aliasing
by area coverage) and composited over a crop of the camera's background. The fine cues
(stripes, checks, logo, hair texture) are modulations ``c +/- delta`` whose mean is the
coarse colour ``c``: visible at high resolution, averaged away at low resolution -- the
situation of the paper's Fig. 1 (Sec. 1, Sec. 3), where persons are told apart by hair or
stripes on the pants only when the image has enough pixels.

Coordinates: geometry is in *person units* (100 = head top to sole); ``dx``/``dy``, stripe
periods and the logo size are in pixels of the 128x64 reference size and scale with the
output size (periods rounded to whole output pixels).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

SS = 2  # supersampling factor of the drawing canvas
REF_HEIGHT = 128  # geometry is specified for 128x64 images and scaled to the requested size
VIEWS = ("front", "back", "left", "right")  # left/right: side view facing image left/right
OCCLUSIONS = ("pole", "passerby", "object")

# part labels of the canvas; *_D are the far-side (shaded) limbs of a side view
(BG, SKIN, SKIN_D, HAIR, UPPER, UPPER_D, LOWER, LOWER_D, SHOES, BAG, STRAP, LOGO, CAP) = range(13)
OCC = 13  # first occluder label; labels >= OCC are not part of the person
SHADE_D = 0.72
CLOTH_DELTA = 42.0  # amplitude of the clothing patterns (grey levels, per channel)
HAIR_DELTA = 34.0
LOGO_DELTA = 60.0
AMPLITUDES = (CLOTH_DELTA, CLOTH_DELTA, HAIR_DELTA)  # upper, lower, hair
HAIR_TEXTURE = {"smooth": None, "streaked": ("v", 4.0), "curly": ("c", 4.0), "banded": ("h", 4.0)}
# logos: printed emblems of 1-pixel lines, functions of the pixel (x, y) inside the logo
# box; +1 = lighter, -1 = darker. Each is balanced over any 4x4 window (mean = shirt colour).
LOGOS = {
    "bars": lambda x, y: y % 2,
    "columns": lambda x, y: x % 2,
    "checker": lambda x, y: (x + y) % 2,
    "diagonal": lambda x, y: ((x + y) // 2) % 2,
}
LOGO_SIZE = 8  # pixels at the 128x64 reference size

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Identity:
    """Attributes of one synthetic person (:mod:`lib.data.synthetic`). Coarse cues (shared
    by a clan): body, skin, garment colours and type. Mid-scale cues (shared by a family):
    hair colour and length, cap, sleeves, shoes, bag, ``upper_pattern``/``upper_period``.
    Fine cues (differ inside a family): ``lower_pattern``/``lower_period``, ``hair_style``,
    ``logo``, ``strap``."""

    pid: int = 1
    family: int = 0
    clan: int = 0
    height: float = 1.0  # body height factor (person height relative to the crop)
    build: float = 1.0  # body width factor
    skin: RGB = (205, 160, 130)
    hair_color: RGB = (60, 45, 35)
    hair_length: str = "short"  # short | long | bun | cap
    cap_color: RGB = (50, 60, 110)
    upper_color: RGB = (170, 50, 50)
    sleeves: str = "long"  # long | short
    lower_color: RGB = (45, 55, 90)
    lower_type: str = "trousers"  # trousers | shorts | skirt
    shoes_color: RGB = (40, 40, 40)
    bag: str = "none"  # none | backpack | shoulder | handbag
    bag_color: RGB = (60, 50, 45)
    bag_side: str = "left"  # the person's left or right
    upper_pattern: str = "plain"  # plain | hstripes | vstripes | checks
    upper_period: float = 2.0  # whole pixels at the 128x64 reference size
    logo: str = "none"  # none | one of LOGOS (front view only)
    lower_pattern: str = "plain"
    lower_period: float = 2.0
    hair_style: str = "smooth"  # one of HAIR_TEXTURE
    strap: str = "cross"  # shoulder bag worn across the chest or on the shoulder


@dataclass(eq=False)
class Camera:
    """One camera: its background (uint8, larger than the image: crops are jittered),
    illumination gain, colour cast, sensor noise (std, grey levels) and JPEG quality."""

    index: int  # 1-based, as in Market-1501 file names
    style: str
    gain: float
    cast: tuple[float, float, float]
    noise: float
    jpeg_quality: int
    occlusion_rate: float
    background: np.ndarray = field(repr=False)


def _square_aa(start: np.ndarray, period: float) -> np.ndarray:
    """Mean of a +/-1 square wave of ``period`` over each unit pixel [t, t+1): exact
    area anti-aliasing of stripes (F is the wave's integral, P * min(f, 1 - f))."""

    def integral(t: np.ndarray) -> np.ndarray:
        f = np.mod(t / period, 1.0)
        return period * np.minimum(f, 1.0 - f)

    return (integral(start + 1.0) - integral(start)).astype(np.float32)


def _pattern(kind: str, rows: np.ndarray, cols: np.ndarray, period: float) -> np.ndarray | None:
    """Zero-mean pattern in [-1, 1] on the canvas ('h'/'hstripes', 'v'/'vstripes', 'c'/'checks')."""
    if kind in ("h", "hstripes"):
        return _square_aa(rows, period)[:, None]
    if kind in ("v", "vstripes"):
        return _square_aa(cols, period)[None, :]
    if kind in ("c", "checks"):
        return _square_aa(rows, period)[:, None] * _square_aa(cols, period)[None, :]
    return None


def _delta(color: RGB, amplitude: float) -> np.ndarray:
    """Per-channel modulation that keeps c +/- delta inside [0, 255] (mean stays c)."""
    c = np.asarray(color, np.float32)
    return np.minimum(np.minimum(c, 255.0 - c), amplitude)


class _Pen:
    """Draws labelled shapes given in person units onto the label canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, top: float, k: float, sx: float):
        self.draw, self.cx, self.top, self.k, self.sx = draw, cx, top, k, sx

    def p(self, x: float, y: float) -> tuple[float, float]:
        return self.cx + self.sx * x * self.k, self.top + y * self.k

    def poly(self, label: int, pts: list[tuple[float, float]]) -> None:
        self.draw.polygon([self.p(x, y) for x, y in pts], fill=label)

    def ell(self, label: int, x: float, y: float, rx: float, ry: float) -> None:
        (px, py), k = self.p(x, y), self.k
        self.draw.ellipse([px - rx * k, py - ry * k, px + rx * k, py + ry * k], fill=label)

    def limb(self, label: int, a: tuple, b: tuple, w0: float, w1: float) -> None:
        dx, dy = b[0] - a[0], b[1] - a[1]
        n = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / n, dx / n
        (ax, ay), (bx, by) = a, b
        pts = [(ax + nx * w0, ay + ny * w0), (bx + nx * w1, by + ny * w1)]
        self.poly(label, pts + [(bx - nx * w1, by - ny * w1), (ax - nx * w0, ay - ny * w0)])
        self.ell(label, b[0], b[1], w1, w1)


def _arm(pen: _Pen, ident: Identity, sh: tuple, angle: float, dark: bool, length: float) -> tuple:
    """Upper arm + forearm from shoulder ``sh`` swung by ``angle`` (radians, + = forward)."""
    el = (sh[0] + math.sin(angle) * 17, sh[1] + math.cos(angle) * 17 * length)
    fa = angle + 0.25 * abs(math.sin(angle)) + 0.1
    wr = (el[0] + math.sin(fa) * 16, el[1] + math.cos(fa) * 16 * length)
    cloth, skin = (UPPER_D, SKIN_D) if dark else (UPPER, SKIN)
    if ident.sleeves == "long":
        pen.limb(cloth, sh, el, 2.9, 2.5)
        pen.limb(cloth, el, wr, 2.5, 2.1)
    else:
        mid = ((sh[0] + el[0]) / 2, (sh[1] + el[1]) / 2)
        pen.limb(skin, mid, el, 2.3, 2.2)
        pen.limb(skin, el, wr, 2.2, 1.8)
        pen.limb(cloth, sh, mid, 3.1, 2.8)
    hand = (wr[0] + math.sin(fa) * 1.6, wr[1] + math.cos(fa) * 1.6)
    pen.ell(skin, hand[0], hand[1], 2.2, 2.4)
    return hand


def _leg(pen: _Pen, ident: Identity, hip: tuple, ankle: tuple, dark: bool, side: bool) -> None:
    cloth, skin = (LOWER_D, SKIN_D) if dark else (LOWER, SKIN)
    w0, w1 = 4.6 * ident.build, 3.0
    if ident.lower_type == "trousers":
        pen.limb(cloth, hip, ankle, w0, w1)
    else:
        t = 0.42 if ident.lower_type == "shorts" else 0.3
        knee = (hip[0] + (ankle[0] - hip[0]) * t, hip[1] + (ankle[1] - hip[1]) * t)
        pen.limb(skin, knee, ankle, 3.0, 2.4)
        pen.limb(cloth, hip, knee, w0, 4.2)
    shoe_dx = 2.0 if side else 0.0
    pen.ell(SHOES, ankle[0] + shoe_dx, ankle[1] + 2.6, 4.4 if side else 3.2, 2.6)


def _head(pen: _Pen, ident: Identity, view: str, behind: bool) -> None:
    """Hair behind the head when ``behind`` (long hair), else head, face and hair/cap."""
    side = view in ("left", "right")
    hx = -1.3 if side else 0.0
    if behind:
        if ident.hair_length == "long":
            if side:
                pen.poly(HAIR, [(-5.8, 5), (-1.0, 5), (-1.5, 25), (-6.8, 25)])
            elif view == "front":
                pen.poly(HAIR, [(-6.4, 5), (6.4, 5), (7.0, 22), (-7.0, 22)])
        return
    pen.poly(SKIN, [(-2.0, 11), (2.0, 11), (2.2, 17), (-2.2, 17)])
    pen.ell(SKIN, 0.4 if side else 0.0, 7.0, 5.4 if side else 4.9, 6.8)
    if ident.hair_length == "cap":
        if view != "front":
            pen.ell(HAIR, hx - 0.5, 7.0, 4.8, 5.0)
        pen.ell(CAP, hx * 0.6, 4.6, 5.7, 4.8)
        if side:
            pen.poly(CAP, [(2.0, 5.6), (8.0, 6.2), (8.0, 7.2), (2.0, 7.2)])
        elif view == "front":
            pen.ell(CAP, 0.0, 6.6, 5.8, 1.4)
        else:
            pen.ell(SKIN, 0.0, 9.5, 4.3, 3.8)
        return
    if view == "back":
        pen.ell(HAIR, 0.0, 6.2, 5.4, 6.4)
    else:
        pen.ell(HAIR, hx, 6.0, 5.4, 6.2)
        pen.ell(SKIN, 1.4 if side else 0.0, 8.6, 4.3 if side else 4.2, 5.4)
    if ident.hair_length == "bun":
        pen.ell(HAIR, -4.8 if side else 0.0, 2.0 if side else -0.4, 2.6, 2.5)
    if ident.hair_length == "long" and view == "back":
        pen.poly(HAIR, [(-6.0, 6), (6.0, 6), (6.6, 27), (-6.6, 27)])


def _bag(pen: _Pen, ident: Identity, view: str, near: bool, hand: tuple | None) -> None:
    """The bag body (and strap) on the image side ``bag_x`` sign of the person's bag side."""
    if ident.bag == "none":
        return
    side = view in ("left", "right")
    sign = (1 if ident.bag_side == "left" else -1) * (1 if view == "front" else -1)
    sw, hw = 10.5 * ident.build, 9.0 * ident.build
    if ident.bag == "backpack":
        if view == "back":
            pen.poly(BAG, [(-sw + 2, 18), (sw - 2, 18), (sw - 1.5, 45), (-sw + 1.5, 45)])
        elif side:
            pen.poly(
                BAG, [(-12.0 * ident.build, 19), (-4, 17), (-4, 44), (-12.5 * ident.build, 44)]
            )
            pen.limb(STRAP, (0.5, 16.5), (1.2, 36), 0.9, 0.9)
        else:
            for s in (-1, 1):
                pen.limb(STRAP, (s * (sw - 3.5), 16.5), (s * (sw - 4.0), 36), 1.1, 1.0)
    elif ident.bag == "shoulder":
        x = 0.0 if side else sign * (hw + 3.0)
        top = (x, 43)
        if side:
            sh = (0.0, 16.5)
        elif ident.strap == "cross":
            sh = (-sign * (sw - 3), 16.5)
        else:
            sh = (sign * (sw - 2.5), 16.5)
        if near or not side:
            pen.limb(STRAP, sh, top, 0.75, 0.75)
        pen.poly(BAG, [(x - 4.2, 42.5), (x + 4.2, 42.5), (x + 4.4, 54), (x - 4.4, 54)])
    elif ident.bag == "handbag" and hand is not None:
        hx, hy = hand
        pen.limb(STRAP, (hx - 1.8, hy + 3.5), (hx, hy), 0.6, 0.6)
        pen.limb(STRAP, (hx + 1.8, hy + 3.5), (hx, hy), 0.6, 0.6)
        pen.poly(
            BAG, [(hx - 3.6, hy + 3), (hx + 3.6, hy + 3), (hx + 4, hy + 10), (hx - 4, hy + 10)]
        )


def _draw_person(pen: _Pen, ident: Identity, view: str, phase: float) -> tuple | None:
    """Draws the person in painter's order; returns where the logo goes (person units) or None."""
    theta = 2 * math.pi * phase
    b = ident.build
    if view in ("left", "right"):
        swing, arm = 0.36 * math.sin(theta), -0.34 * math.sin(theta)
        near_bag = (ident.bag_side == "left") == (view == "right")
        hip = (0.0, 50.0)
        ank = [(hip[0] + math.sin(a) * 44, hip[1] + math.cos(a) * 44) for a in (-swing, swing)]
        _head(pen, ident, view, behind=True)
        _arm(pen, ident, (0.0, 18.0), -arm, dark=True, length=1.0)
        _leg(pen, ident, hip, ank[0], dark=True, side=True)
        if not near_bag:
            _bag(pen, ident, view, near=False, hand=None)
        sw = 6.0 * b
        pen.poly(
            UPPER, [(-sw, 16), (sw - 1, 16), (sw + 0.5, 30), (sw, 49), (-sw, 49), (-sw - 0.5, 30)]
        )
        _leg(pen, ident, hip, ank[1], dark=False, side=True)
        if ident.lower_type == "skirt":
            pen.poly(LOWER, [(-sw, 46), (sw, 46), (sw + 3, 68), (-sw - 3, 68)])
        else:
            pen.poly(LOWER, [(-sw, 46), (sw, 46), (sw * 0.8, 56), (-sw * 0.8, 56)])
        if ident.bag == "backpack":
            _bag(pen, ident, view, near=True, hand=None)
        _head(pen, ident, view, behind=False)
        hand = _arm(pen, ident, (0.0, 18.0), arm, dark=False, length=1.0)
        if near_bag and ident.bag != "backpack":
            _bag(pen, ident, view, near=True, hand=hand)
        return None
    # front / back: legs spread at the hips, walking shows as a small lift and arm swing
    sw, hw = 10.5 * b, 9.0 * b
    lift = 1.8 * math.sin(theta)
    _head(pen, ident, view, behind=True)
    for s, up in ((-1, lift), (1, -lift)):
        _leg(pen, ident, (s * hw * 0.48, 52.0), (s * hw * 0.5, 94.0 - max(up, 0)), False, False)
    if ident.lower_type == "skirt":
        pen.poly(LOWER, [(-hw, 46), (hw, 46), (hw * 1.45, 70), (-hw * 1.45, 70)])
    else:
        pen.poly(LOWER, [(-hw, 46), (hw, 46), (hw, 57), (-hw, 57)])
    pen.poly(UPPER, [(-sw, 18), (-sw + 2, 15.5), (sw - 2, 15.5), (sw, 18), (0.86 * sw, 34),
                     (hw, 49), (-hw, 49), (-0.86 * sw, 34)])  # fmt: skip
    if ident.bag == "shoulder" or (ident.bag == "backpack" and view == "back"):
        _bag(pen, ident, view, near=True, hand=None)
    _head(pen, ident, view, behind=False)
    bag_sign = (1 if ident.bag_side == "left" else -1) * (1 if view == "front" else -1)
    hands = {}
    for s in (-1, 1):
        swing = 0.08 * s * math.sin(theta)
        length = 1.0 - 0.06 * abs(math.sin(theta))
        hands[s] = _arm(pen, ident, (s * (sw - 1.8), 18.5), swing + s * 0.07, False, length)
    if ident.bag == "handbag":
        _bag(pen, ident, view, near=True, hand=hands[bag_sign])
    if ident.bag == "backpack" and view == "front":
        _bag(pen, ident, view, near=True, hand=None)
    if view == "front" and ident.logo != "none":
        return (0.0, 26.0)  # centre of the logo, mid-chest (clear of backpack straps)
    return None


def _occluder(draw: ImageDraw.ImageDraw, kind: str, rng: np.random.Generator, w: int, h: int):
    if kind == "pole":
        x, pw = rng.uniform(0.1, 0.9) * w, rng.uniform(0.05, 0.09) * w
        draw.rectangle([x - pw / 2, 0, x + pw / 2, h], fill=OCC)
        draw.rectangle([x - pw / 2, h * rng.uniform(0.3, 0.6), x + pw / 2, h * 0.66], fill=OCC + 1)
    elif kind == "passerby":
        left, cw = rng.random() < 0.5, rng.uniform(0.18, 0.32) * w
        x0, x1 = (-w * 0.1, cw) if left else (w - cw, w * 1.1)
        top = rng.uniform(0.05, 0.3) * h
        draw.rounded_rectangle([x0, top, x1, h * 1.1], radius=w * 0.1, fill=OCC)
        draw.rectangle([x0, top + h * 0.38, x1, h * 1.1], fill=OCC + 1)
    elif kind == "object":
        top, x0 = rng.uniform(0.74, 0.86) * h, rng.uniform(-0.2, 0.4) * w
        draw.rectangle([x0, top, x0 + rng.uniform(0.5, 0.9) * w, h], fill=OCC)
        draw.rectangle([x0, top, x0 + rng.uniform(0.5, 0.9) * w, top + 0.03 * h], fill=OCC + 1)
    else:
        raise ValueError(f"unknown occlusion {kind!r}; valid: {', '.join(OCCLUSIONS)}")


def _box(a: np.ndarray) -> np.ndarray:
    """Area (box) down-sampling by SS: the anti-aliasing of the drawing."""
    out = sum(a[i::SS, j::SS] for i in range(SS) for j in range(SS))
    return out * (1.0 / SS**2)


def _lut(ident: Identity, rng: np.random.Generator) -> np.ndarray:
    lut = np.zeros((16, 3), np.float32)
    for label, color in ((SKIN, ident.skin), (HAIR, ident.hair_color), (UPPER, ident.upper_color),
                         (LOWER, ident.lower_color), (SHOES, ident.shoes_color),
                         (BAG, ident.bag_color), (STRAP, ident.bag_color),
                         (LOGO, ident.upper_color), (CAP, ident.cap_color)):  # fmt: skip
        lut[label] = color
    lut[SKIN_D], lut[UPPER_D], lut[LOWER_D] = lut[SKIN], lut[UPPER], lut[LOWER]
    lut[[SKIN_D, UPPER_D, LOWER_D]] *= SHADE_D
    lut[STRAP] *= 0.8
    lut[OCC] = rng.uniform(40, 200, 3)
    lut[OCC + 1] = lut[OCC] * rng.uniform(0.5, 0.8)
    return lut


def _paint(ident: Identity, lut, sub, corner, origin, unit: float, logo) -> np.ndarray:
    """Colours of the label window ``sub`` (top-left canvas pixel ``corner``): palette colour
    per part plus the zero-mean fine patterns. Patterns are anchored on the output pixel grid
    at the person's ``origin`` (top, centre) with whole-pixel periods, so a 2-pixel period is
    crisp at full resolution and averages away exactly under a 2x or 4x box filter."""
    (r0, c0), (top, cx) = corner, origin
    rows = np.arange(r0, r0 + sub.shape[0], dtype=np.float32) - SS * round(top / SS)
    cols = np.arange(c0, c0 + sub.shape[1], dtype=np.float32) - SS * round(cx / SS)
    hair = HAIR_TEXTURE[ident.hair_style] or ("plain", 1.0)
    garments = [
        ((UPPER, UPPER_D), ident.upper_pattern, ident.upper_period, ident.upper_color),
        ((LOWER, LOWER_D), ident.lower_pattern, ident.lower_period, ident.lower_color),
        ((HAIR, HAIR), hair[0], hair[1], ident.hair_color),
    ]
    mod = np.zeros(sub.shape, np.float32)  # pattern in [-1, 1] per pixel (parts are disjoint)
    delta = np.zeros_like(lut)  # modulation amplitude per part label
    for (labels, kind, period, color), amp in zip(garments, AMPLITUDES, strict=True):
        pat = _pattern(kind, rows, cols, SS * max(2, round(period * unit / SS)))
        if pat is not None:
            sel = (sub == labels[0]) | (sub == labels[1])
            mod += sel * pat
            delta[list(labels)] = _delta(color, amp)
    if logo is not None:
        name, x0, y0 = logo
        iy = (np.arange(r0, r0 + sub.shape[0]) - y0) // SS
        ix = (np.arange(c0, c0 + sub.shape[1]) - x0) // SS
        mod += (sub == LOGO) * (2.0 * LOGOS[name](ix[None, :], iy[:, None]) - 1.0)
        delta[LOGO] = _delta(ident.upper_color, LOGO_DELTA)
    col = np.take(lut, sub, axis=0)
    col += mod[..., None] * np.take(delta, sub, axis=0)
    return col


def render(
    identity: Identity,
    camera: Camera,
    *,
    view: str = "front",
    pose_phase: float = 0.0,
    dx: float = 0.0,
    dy: float = 0.0,
    scale: float = 1.0,
    seed: int | np.random.Generator | list[int] = 0,
    height: int = 128,
    width: int = 64,
    occlusion: str | None = None,
    noise: bool | float = True,
    jpeg: bool | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera sample I = camera-sample(P, theta) of Eq. (1), Sec. 3: person ``identity`` seen by
    ``camera`` from ``view`` at walking phase ``pose_phase`` in [0, 1), shifted by ``dx, dy``
    (pixels at 128x64) and scaled by ``scale``. ``seed`` drives the background crop, gain
    jitter, occluder and noise (so two identities rendered with one seed share them).
    ``noise``: True = the camera's sensor noise, a float = that std, False = none; ``jpeg``:
    True = the camera's quality, an int = that quality, None = no compression.

    Returns the image (uint8, HxWx3) and the exact foreground mask (uint8, HxW, 255 = visible
    person, occluded parts excluded)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    bh, bw = camera.background.shape[:2]
    if bh < height or bw < width:
        raise ValueError(
            f"camera {camera.index} background {bw}x{bh} is smaller than {width}x{height}"
        )
    oy, ox = int(rng.integers(0, bh - height + 1)), int(rng.integers(0, bw - width + 1))
    gain = camera.gain * rng.uniform(0.93, 1.07)
    unit = SS * height / REF_HEIGHT  # canvas pixels per reference pixel
    H, W = height * SS, width * SS
    k = 1.12 * unit * scale * identity.height  # canvas pixels per person unit (person ~112 px)
    feet = (123.0 + dy) * unit
    cx = (width / 2 + dx * width / 64) * SS
    top = feet - 100 * k
    canvas = Image.new("L", (W, H), BG)
    draw = ImageDraw.Draw(canvas)
    pen = _Pen(draw, cx, top, k, -1.0 if view == "left" else 1.0)
    logo_at = _draw_person(pen, identity, view, pose_phase)
    logo_px = max(2, round(LOGO_SIZE * unit / SS * scale))  # logo side in output pixels
    if occlusion is not None:
        _occluder(draw, occlusion, rng, W, H)
    lab = np.array(canvas)
    logo = None
    if logo_at is not None:  # printed on the visible shirt, its box on the output pixel grid
        x0, y0 = (max(0, SS * round(c / SS - logo_px / 2)) for c in pen.p(*logo_at))
        box = lab[y0 : y0 + logo_px * SS, x0 : x0 + logo_px * SS]
        box[box == UPPER] = LOGO
        logo = (identity.logo, x0, y0)
    lut = _lut(identity, rng)
    alpha = np.zeros((height, width, 1), np.float32)
    coverage = np.zeros((height, width), np.float32)
    premult = np.zeros((height, width, 3), np.float32)
    ys, xs = np.flatnonzero(lab.any(1)), np.flatnonzero(lab.any(0))
    if ys.size:  # colour only the window holding the drawing, aligned on the SS grid
        r0, r1 = ys[0] // SS * SS, (ys[-1] // SS + 1) * SS
        c0, c1 = xs[0] // SS * SS, (xs[-1] // SS + 1) * SS
        sub = lab[r0:r1, c0:c1]
        col = _paint(identity, lut, sub, (r0, c0), (top, cx), unit, logo)
        # soft cylindrical shading across the body, then area down-sampling by SS
        shade = 1.0 - 0.22 * np.clip(np.abs(np.arange(c0, c1) - cx) / (12 * k), 0, 1) ** 2
        col *= shade[None, :, None]
        win = np.s_[r0 // SS : r1 // SS, c0 // SS : c1 // SS]
        premult[win] = _box(col)
        alpha[win] = _box((sub > BG).astype(np.float32))[..., None]
        coverage[win] = _box(((sub > BG) & (sub < OCC)).astype(np.float32))
    bg = camera.background[oy : oy + height, ox : ox + width].astype(np.float32)
    img = (bg * (1.0 - alpha) + premult) * (gain * np.asarray(camera.cast, np.float32))
    sigma = camera.noise if noise is True else float(noise or 0.0)
    if sigma > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * sigma
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    mask = np.where(coverage >= 0.5, 255, 0).astype(np.uint8)
    if jpeg:
        quality = camera.jpeg_quality if jpeg is True else int(jpeg)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=quality)
        img = np.asarray(Image.open(buf).convert("RGB"))
    return img, mask
