"""Interactive mask correction (no Qt, no torch): click-to-segment, smart box, scissors, edge brush, polygon.

Why these tools and how they stay fast on 2 CPU cores:

- **Clicks** (:class:`ClickSession`, :func:`click_segment`). A click says "this is object" (positive)
  or "this is not" (negative), and only a window around it is worked on: its size follows the
  distance from the click to the nearest pixel that already has the click's label (a thin sliver
  gets a small window, a missing head a large one). In that window one graph cut (GrabCut's, with
  its colour models frozen) decides between two models fitted here: the click's label from the
  wrong-labelled pixels near the click (what the user pointed at), the other from the wrong-labelled
  pixels farther away (what should stay). The window's border is held at the current mask, the
  click's disc and every earlier click's disc are hard seeds, and only pixels that flip *towards* the
  click's label and touch the click are taken, so a click never edits far away or undoes an earlier
  click. Tuned with ``bench/noc.py`` on pairs it does not report: GrabCut's own re-learnt models
  (fitted to the whole window, where both sides' colours mix) needed 12–18 % more clicks (NoC@90,
  NoC@85) on the COCO tuning pairs, and twice the time. A
  cut costs more than linearly in pixels, so the window is reduced to ``CLICK_WORK_SIDE`` px and
  the answer snapped back to full-resolution edges with a guided filter. A *new-object* click
  (shift-click in the app) runs GrabCut on a fresh region around the click instead.
- **Smart box** (:func:`smart_box`): GrabCut inside a rectangle; with ``clear_outside`` the box
  also removes object pixels outside it (the usual meaning of "the object is in this box").
- **Scissors** (:class:`Scissors`): OpenCV's intelligent scissors (live-wire, Mortensen & Barrett),
  a minimal-cost path along edges from an anchor to the cursor.
- **Edge brush** (:class:`EdgeBrush`): a brush stroke that paints only the superpixels of the
  colour under the stroke's centre line, so it stops at object boundaries.
- **Polygon** (:func:`polygon_fill`).

Coordinates are image pixels, x to the right and y down; boxes ``(x0, y0, x1, y1)`` have exclusive
ends (as in ``obic_gui.mask_ops``), rectangles ``(x, y, w, h)`` as in :func:`refine_mask`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from obic_core.boxes import Box, changed_box
from obic_core.errors import ObicInputError
from obic_core.segmentation.classic import _check_image, _grabcut, refine_mask

CLICK_WORK_SIDE = 160  # px: long side GrabCut works at in a click's window (cost grows ~n^2.5)
CLICK_ITERATIONS = 2  # GrabCut rounds for a new-object click
WINDOW_SCALE = 3.0  # window half-side = this × the click's distance to its label (the error's size)
MIN_WINDOW = 24  # px: smallest window half-side
MAX_WINDOW = 0.5  # × long side: largest window half-side
FAR_CLICK = 0.1  # × long side: a positive click farther than this from the object is sized as if this far
SEED_SCALE = 0.5  # click disc radius (hard seed) = this × distance to the label ...
SEED_MAX = 0.02  # ... at most this × long side (and at least 1.5 px)
FAR_SCALE = 2.0  # the other label's colour model is learnt outside this × the click's disc of influence
VAR_FLOOR = 9.0  # added to colour-model variances (8-bit units²): noise, and models from few pixels
NEW_OBJECT_WINDOW = 0.25  # × long side: half-side of the window a new-object click segments


@dataclass(frozen=True)
class Click:
    """One click: ``positive`` = "this is object"; ``new_object`` = start a separate region there.

    ``radius`` is the hard-seed disc radius, fixed when the click is applied so that later
    clicks keep honouring it exactly.
    """

    x: float
    y: float
    positive: bool = True
    new_object: bool = False
    radius: float | None = None


def parse_clicks(text: str) -> list[Click]:
    """Clicks from ``"x,y,+ x,y,- x,y,++"``: ``+`` object, ``-`` not object, ``++`` new object region."""
    clicks = []
    for token in text.replace(";", " ").split():
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?),(\+\+|\+|-)", token)
        if m is None:
            raise ObicInputError(f'click {token!r} is not x,y,+ / x,y,- / x,y,++ (e.g. --clicks "120,80,+ 40,30,-")')
        sign = m.group(3)
        clicks.append(Click(float(m.group(1)), float(m.group(2)), positive=sign != "-", new_object=sign == "++"))
    if not clicks:
        raise ObicInputError('no clicks given; write them as "x,y,+ x,y,-"')
    return clicks


def _check_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.zeros(shape, bool)
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ObicInputError(f"mask is {mask.shape[1]}×{mask.shape[0]} but the image is {shape[1]}×{shape[0]}")
    return mask.astype(bool)


def _seed_radius(click: Click) -> float:
    """The hard-seed radius of a click that has been applied (``_click_window`` settles it)."""
    if click.radius is None:
        raise AssertionError("a click's seed radius is used before the click was applied")
    return click.radius


def _disc(shape: tuple[int, int], cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def _distance_to_label(mask: np.ndarray, x: int, y: int, label: bool) -> float:
    """Distance (px) from (x, y) to the nearest pixel whose mask value is ``label`` (inf if none)."""
    target = mask == label
    if target[y, x]:
        return 0.0
    if not target.any():
        return float("inf")
    # only a window around the click is needed: grow it until it holds a target pixel
    h, w = mask.shape
    r = 32
    while True:
        x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(w, x + r + 1), min(h, y + r + 1)
        sub = target[y0:y1, x0:x1]
        if sub.any() or (x0 == 0 and y0 == 0 and x1 == w and y1 == h):
            break
        r *= 2
    dist = cv2.distanceTransform((~sub).astype(np.uint8), cv2.DIST_L2, 5)
    d = float(dist[y - y0, x - x0])
    return d if d <= r else float(r)  # beyond the window's inscribed circle: a lower bound is enough


class ClickSession:
    """Click-to-segment on one image: the mask and the clicks so far (each click is a hard seed).

    The session keeps the clicks as hard seeds for the clicks that follow; when the mask is
    changed by something else (another tool, undo), pass it to :meth:`add` and the old seeds
    are dropped, since they may no longer hold.
    """

    def __init__(self, image: np.ndarray, mask: np.ndarray | None = None) -> None:
        self.image = _check_image(image)
        self.mask = _check_mask(mask, self.image.shape[:2])
        self.clicks: list[Click] = []

    def add(
        self, x: float, y: float, positive: bool = True, new_object: bool = False, mask: np.ndarray | None = None
    ) -> Box | None:
        """Apply one click; returns the box that changed (None when nothing did).

        ``mask``: the mask as it is now, when it may have been edited since the last click.
        """
        if mask is not None:
            mask = _check_mask(mask, self.mask.shape)
            if not np.array_equal(mask, self.mask):
                self.mask, self.clicks = mask.copy(), []
        h, w = self.mask.shape
        if not (0 <= x < w and 0 <= y < h):
            raise ObicInputError(f"click ({x:g}, {y:g}) is outside the {w}×{h} image")
        click = Click(float(x), float(y), bool(positive), bool(new_object))
        new, click = _apply_click(self.image, self.mask, click, self.clicks)
        self.clicks.append(click)
        box = changed_box(self.mask, new)
        self.mask = new
        return box


def click_segment(image: np.ndarray, mask: np.ndarray | None, clicks: Iterable[Click]) -> np.ndarray:
    """The mask after applying ``clicks`` in order, starting from ``mask`` (None = empty)."""
    session = ClickSession(image, mask)
    for c in clicks:
        session.add(c.x, c.y, c.positive, c.new_object)
    return session.mask


def _click_window(mask: np.ndarray, click: Click) -> tuple[Click, float, float, Box]:
    """The click (new-object flag and seed radius settled), its scale and the window it may edit.

    The scale is the distance from the click to the nearest pixel that already has its label:
    about the size of the error the user pointed at (a thin sliver near the edge or a missing leg).
    """
    h, w = mask.shape
    long_side = max(h, w)
    label = click.positive
    dist = (
        0.0 if click.new_object else _distance_to_label(mask, min(w - 1, int(click.x)), min(h - 1, int(click.y)), label)
    )
    if np.isinf(dist) and label:  # nothing is object yet: the click starts a new region
        click = replace(click, new_object=True)
    if label:  # a missed object far from the mask is sized like a nearby one, not by the gap
        dist = min(dist, FAR_CLICK * long_side)
    if click.new_object or np.isinf(dist):  # (inf: nothing is background yet)
        half = max(MIN_WINDOW, NEW_OBJECT_WINDOW * long_side)
        dist = half / 2
    else:
        half = float(np.clip(WINDOW_SCALE * dist + 8, MIN_WINDOW, MAX_WINDOW * long_side))
    if click.radius is None:
        click = replace(click, radius=float(np.clip(SEED_SCALE * dist, 1.5, max(1.5, SEED_MAX * long_side))))
    x0, y0 = max(0, int(click.x - half)), max(0, int(click.y - half))
    x1, y1 = min(w, int(np.ceil(click.x + half)) + 1), min(h, int(np.ceil(click.y + half)) + 1)
    return click, dist, half, (x0, y0, x1, y1)


def _seed_labels(
    msmall: np.ndarray, click: Click, dist: float, half: float, seeds: Sequence[Click], frame, at_image_edge
) -> np.ndarray:
    """GrabCut labels for the window: the current mask as "probably", the click's neighbourhood as
    probably its label, the window's border held at the current mask (the edit stays local; not
    along the image's own edge) and every click disc as a hard seed."""
    x0, y0, s = frame
    lx, ly = (click.x - x0) * s, (click.y - y0) * s
    gc = np.where(msmall, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    near = _disc(gc.shape, lx, ly, max(1.0, dist * s))
    if click.new_object:
        gc[near & ~msmall] = cv2.GC_PR_FGD
        ring = ~_disc(gc.shape, lx, ly, 0.95 * half * s) & ~msmall
    else:
        gc[near] = cv2.GC_PR_FGD if click.positive else cv2.GC_PR_BGD
        ring = np.zeros(gc.shape, bool)
        top, bottom, left, right = at_image_edge
        ring[0], ring[-1], ring[:, 0], ring[:, -1] = not top, not bottom, not left, not right
    gc[ring] = np.where(msmall[ring], cv2.GC_FGD, cv2.GC_BGD)
    for c in seeds:
        d = _disc(gc.shape, (c.x - x0) * s, (c.y - y0) * s, max(0.75, _seed_radius(c) * s))
        gc[d] = cv2.GC_FGD if c.positive else cv2.GC_BGD
    return gc


def _apply_click(
    image: np.ndarray, mask: np.ndarray, click: Click, history: Sequence[Click]
) -> tuple[np.ndarray, Click]:
    """The mask after ``click`` (with ``history``'s discs held), and the click with its radius set."""
    h, w = mask.shape
    click, dist, half, (x0, y0, x1, y1) = _click_window(mask, click)

    def reaches_window(c: Click) -> bool:
        r = _seed_radius(c)
        return x0 - r <= c.x < x1 + r and y0 - r <= c.y < y1 + r

    seeds = [c for c in (*history, click) if reaches_window(c)]
    crop, mcrop = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    ch, cw = mcrop.shape
    s = min(1.0, CLICK_WORK_SIDE / max(ch, cw))
    if s < 1.0:
        size = (max(2, round(cw * s)), max(2, round(ch * s)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        msmall = cv2.resize(mcrop.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    else:
        small, msmall = np.ascontiguousarray(crop), mcrop
    frame = (x0, y0, s)
    gc = _seed_labels(msmall, click, dist, half, seeds, frame, (y0 == 0, y1 == h, x0 == 0, x1 == w))

    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's global RNG: same clicks, same mask
    res = None
    if not click.new_object:
        at = ((click.x - x0) * s, (click.y - y0) * s)
        res = _local_cut(small, gc, msmall, click.positive, at, max(1.0, dist * s), seeds, frame)
    if res is None:
        res = _grabcut(small, gc, CLICK_ITERATIONS)
    if res is None:  # a colour model has no pixels (e.g. a flat window): the seeded labels as they are
        res = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if s < 1.0:
        res = _snap_up(res, crop)
    # take only what flips towards the click's label and touches the click
    flip = res == click.positive
    flip[_disc(flip.shape, click.x - x0, click.y - y0, _seed_radius(click))] = True
    _, comp = cv2.connectedComponents(flip.astype(np.uint8), connectivity=8)
    region = comp == comp[min(ch - 1, int(click.y - y0)), min(cw - 1, int(click.x - x0))]
    out = mask.copy()
    window = out[y0:y1, x0:x1]
    window[region] = click.positive
    for c in seeds:  # earlier click discs hold (outside this window nothing changed)
        window[_disc((ch, cw), c.x - x0, c.y - y0, _seed_radius(c))] = c.positive
    return out, click


def _fit_gmm(pixels: np.ndarray, k: int = 5) -> np.ndarray | None:
    """A GrabCut colour model (1×65: 5 weights, 5 means, 5 3×3 covariances) fitted to ``pixels``."""
    px = pixels.reshape(-1, 3).astype(np.float32)
    if len(px) < 3:
        return None
    if len(px) > 4000:
        px = px[np.random.default_rng(0).choice(len(px), 4000, replace=False)]
    k = max(1, min(k, len(px) // 8))
    if k > 1:
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 0.5)
        # bestLabels is only an output here (no KMEANS_USE_INITIAL_LABELS); passing an array rather
        # than None satisfies every OpenCV release's stubs (4.x require a matrix, 5.x allow None)
        seed_labels = np.zeros((len(px), 1), np.int32)
        _, lab, _ = cv2.kmeans(px, k, seed_labels, crit, 1, cv2.KMEANS_PP_CENTERS)
        lab = lab.ravel()
    else:
        lab = np.zeros(len(px), np.int32)
    model = np.zeros((1, 65), np.float64)
    px64 = px.astype(np.float64)
    for i in range(k):
        sel = px64[lab == i]
        if len(sel) == 0:
            continue
        model[0, i] = len(sel) / len(px64)
        model[0, 5 + 3 * i : 8 + 3 * i] = sel.mean(0)
        cov = np.cov(sel.T) if len(sel) > 1 else np.zeros((3, 3))
        model[0, 20 + 9 * i : 29 + 9 * i] = (cov + VAR_FLOOR * np.eye(3)).ravel()
    return model


def _local_cut(
    small: np.ndarray,
    gc: np.ndarray,
    msmall: np.ndarray,
    label: bool,
    at: tuple[float, float],
    rho: float,
    seeds: Sequence[Click],
    frame: tuple[int, int, float],
) -> np.ndarray | None:
    """One graph cut with colour models of our own choosing (GrabCut's are frozen, not re-learnt).

    The click's label gets a model of the wrong-labelled pixels within ``rho`` of the click (what
    the user pointed at) plus earlier same-label click discs; the other label a model of the
    wrong-labelled pixels farther than ``FAR_SCALE`` × ``rho`` (the rest of what could flip). Pixels
    that already carry the click's label are fixed, since a click only flips towards its label.
    GrabCut's own models would be fitted to the whole window, where the wrong side's colours
    blend with the right one's, and its re-learning rounds drift; this is better and half the cost.
    Returns the (small) object mask, or None when either model lacks pixels.
    """
    lx, ly = at
    x0, y0, s = frame
    wrong = msmall != label
    near = _disc(gc.shape, lx, ly, rho) & wrong
    same = np.zeros(gc.shape, bool)
    for c in seeds:
        if c.positive == label:
            same |= _disc(gc.shape, (c.x - x0) * s, (c.y - y0) * s, max(0.75, _seed_radius(c) * s))
    far = wrong & ~_disc(gc.shape, lx, ly, FAR_SCALE * rho)
    if far.sum() < 20:
        far = wrong & ~near
    m_label, m_other = _fit_gmm(small[near | same]), _fit_gmm(small[far])
    if m_label is None or m_other is None:
        return None
    g = gc.copy()
    free = ~np.isin(gc, (cv2.GC_FGD, cv2.GC_BGD))
    g[free & ~wrong] = cv2.GC_FGD if label else cv2.GC_BGD
    g[free & wrong] = cv2.GC_PR_BGD if label else cv2.GC_PR_FGD
    g[free & near] = cv2.GC_PR_FGD if label else cv2.GC_PR_BGD
    fgd, bgd = (m_label, m_other) if label else (m_other, m_label)
    try:
        # (rect=None is what OpenCV expects with a mask; its stubs say a rectangle is required)
        cv2.grabCut(small, g, None, bgd, fgd, 1, cv2.GC_EVAL_FREEZE_MODEL)  # type: ignore[call-overload]
    except cv2.error:  # a degenerate model (e.g. a flat window)
        return None
    return np.isin(g, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _snap_up(small_mask: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """Upsample a low-resolution mask and snap its edges to ``crop``'s edges (guided filter)."""
    ch, cw = crop.shape[:2]
    scale = max(ch, cw) / max(small_mask.shape)
    up = cv2.resize(small_mask.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
    r = max(2, round(scale * 1.5))
    guide = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    snapped = cv2.ximgproc.guidedFilter(guide, up, r, (0.1 * 255) ** 2)
    return snapped >= 0.5


# ------------------------------------------------------------------------------------------ smart box
def smart_box(
    image: np.ndarray, mask: np.ndarray | None, rect: tuple[int, int, int, int], clear_outside: bool = True
) -> np.ndarray:
    """GrabCut of the object in ``rect`` = (x, y, w, h): the box's inside is replaced by the result;
    with ``clear_outside`` every object pixel outside the box is removed too (the box says where
    the object is), otherwise the outside is kept (the box only edits its inside)."""
    image = _check_image(image)
    H, W = image.shape[:2]
    base = _check_mask(mask, (H, W))
    x, y, rw, rh = (int(v) for v in rect)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + rw), min(H, y + rh)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ObicInputError(f"box {tuple(rect)} has no area inside the {W}×{H} image")
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG: the same box, the same mask
    inside = refine_mask(image, rect=(x0, y0, x1 - x0, y1 - y0))
    out = np.zeros((H, W), bool) if clear_outside else base.copy()
    out[y0:y1, x0:x1] = inside[y0:y1, x0:x1]
    return out


# ------------------------------------------------------------------------------------------ polygon
def polygon_fill(mask: np.ndarray, points: Sequence[tuple[float, float]], value: bool = True) -> np.ndarray:
    """A copy of ``mask`` with the closed polygon through ``points`` (image px) set to ``value``."""
    mask = np.asarray(mask).astype(bool)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        raise ObicInputError(f"a polygon needs at least 3 points, got {len(pts)}")
    if not np.isfinite(pts).all():
        raise ObicInputError("polygon points must be finite numbers")
    h, w = mask.shape
    out = mask.copy()
    xa, ya = pts[:, 0], pts[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    flat = ya == yb
    # scanlines through pixel centres; a pixel is inside when its centre is (even-odd rule), so a
    # polygon drawn along pixel corners covers exactly the pixels it encloses
    for y in range(max(0, int(np.floor(ya.min()))), min(h, int(np.ceil(ya.max())) + 1)):
        yc = y + 0.5
        cross = ((ya <= yc) != (yb <= yc)) & ~flat
        if not cross.any():
            continue
        xs = np.sort(xa[cross] + (yc - ya[cross]) * (xb[cross] - xa[cross]) / (yb[cross] - ya[cross]))
        for a, b in zip(xs[0::2], xs[1::2], strict=False):  # an odd count only on degenerate input
            c0, c1 = max(0, int(np.ceil(a - 0.5))), min(w, int(np.ceil(b - 0.5)))
            if c1 > c0:
                out[y, c0:c1] = bool(value)
    return out


# ------------------------------------------------------------------------------------------ scissors
class Scissors:
    """Intelligent scissors (live wire): the edge-following path from an anchor to any point.

    :meth:`set_anchor` computes edge features and the cost map around the anchor (the costly
    step, once per click: ~0.1–0.3 s on a busy core); :meth:`path_to` is then microseconds, so it
    can follow the mouse. The map covers ``reach`` px around the anchor (Dijkstra over a whole
    photo takes seconds): towards a point farther away the path follows edges to the map's border,
    then runs straight. Photos larger than ``max_side`` are traced on a reduced copy.
    """

    def __init__(self, image: np.ndarray, max_side: int = 1600, reach: int = 192) -> None:
        image = _check_image(image)
        h, w = image.shape[:2]
        self.shape = (h, w)
        self.scale = min(1.0, max_side / max(h, w))
        small = (
            image
            if self.scale == 1.0
            else cv2.resize(image, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA)
        )
        self._bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        self.reach = int(reach)
        self._tool: cv2.segmentation.IntelligentScissorsMB | None = None
        self._origin = (0, 0)
        self._crop = (0, 0, 0, 0)
        self.anchor: tuple[int, int] | None = None

    def _to_small(self, x: float, y: float) -> tuple[int, int]:
        sh, sw = self._bgr.shape[:2]
        return int(np.clip(x * self.scale, 0, sw - 1)), int(np.clip(y * self.scale, 0, sh - 1))

    def set_anchor(self, x: float, y: float) -> None:
        """Start paths at (x, y) (image px)."""
        ax, ay = self._to_small(x, y)
        sh, sw = self._bgr.shape[:2]
        x0, y0 = max(0, ax - self.reach), max(0, ay - self.reach)
        x1, y1 = min(sw, ax + self.reach + 1), min(sh, ay + self.reach + 1)
        tool = cv2.segmentation.IntelligentScissorsMB()
        tool.setEdgeFeatureCannyParameters(32, 100)
        tool.setGradientMagnitudeMaxLimit(200)
        tool.applyImage(np.ascontiguousarray(self._bgr[y0:y1, x0:x1]))
        tool.buildMap((ax - x0, ay - y0))
        self._tool, self._crop, self.anchor = tool, (x0, y0, x1, y1), (ax, ay)

    def path_to(self, x: float, y: float) -> np.ndarray:
        """(N, 2) float image coordinates (x, y) of the path from the anchor to (x, y), anchor first."""
        if self._tool is None:
            raise ObicInputError("scissors: set an anchor before asking for a path")
        tx, ty = self._to_small(x, y)
        x0, y0, x1, y1 = self._crop
        cx, cy = min(max(tx, x0), x1 - 1), min(max(ty, y0), y1 - 1)
        contour = self._tool.getContour((cx - x0, cy - y0), backward=False)
        pts = np.asarray(contour, np.float64).reshape(-1, 2) + (x0, y0)
        if (cx, cy) != (tx, ty):  # beyond the map: straight on from its border
            pts = np.vstack([pts, [(tx, ty)]])
        return (pts + 0.5) / self.scale


def scissors_path(image: np.ndarray, start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    """The intelligent-scissors path from ``start`` to ``end`` (one-shot form of :class:`Scissors`)."""
    tool = Scissors(image)
    tool.set_anchor(*start)
    return tool.path_to(*end)


# ------------------------------------------------------------------------------------------ edge brush
class EdgeBrush:
    """A brush that stops at object boundaries: it paints the superpixels under its centre line and
    their neighbours of similar colour, inside the brush's capsule.

    Superpixels (SLICO, ``cell`` px) and CIE Lab colours are computed lazily per ``tile`` × ``tile``
    tile and cached, so the first stroke over a tile costs a few tens of ms and a big photo costs
    nothing up front (nor memory for the tiles no stroke reached). ``tolerance`` is the largest Lab
    distance between a superpixel's mean colour and the colour under the stroke for it to be painted.
    """

    def __init__(self, image: np.ndarray, cell: int = 10, tile: int = 256, tolerance: float = 14.0) -> None:
        self._image = _check_image(image)
        self.cell, self.tile, self.tolerance = int(cell), int(tile), float(tolerance)
        self._tiles: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # (labels, Lab) per tile
        self._next = 0  # superpixel ids are unique across tiles

    def _tile(self, tx: int, ty: int) -> tuple[np.ndarray, np.ndarray]:
        if (tx, ty) not in self._tiles:
            t = self.tile
            crop = np.ascontiguousarray(self._image[ty * t : (ty + 1) * t, tx * t : (tx + 1) * t])
            lab8 = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)
            if min(crop.shape[:2]) >= 2:
                slic = cv2.ximgproc.createSuperpixelSLIC(lab8, cv2.ximgproc.SLICO, self.cell)
                slic.iterate(5)
                slic.enforceLabelConnectivity(25)
                labels = slic.getLabels().astype(np.int32)
            else:
                labels = np.zeros(crop.shape[:2], np.int32)
            lab = lab8.astype(np.float32)
            lab[..., 0] *= 100 / 255  # OpenCV's 8-bit Lab: L in 0..255, a and b offset by 128
            lab[..., 1:] -= 128
            self._tiles[(tx, ty)] = (labels + self._next, lab)
            self._next += int(labels.max()) + 1
        return self._tiles[(tx, ty)]

    def _region(self, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Superpixel labels and Lab colours of ``box``, stitched from its tiles."""
        x0, y0, x1, y1 = box
        t = self.tile
        labels = np.empty((y1 - y0, x1 - x0), np.int32)
        lab = np.empty((y1 - y0, x1 - x0, 3), np.float32)
        for ty in range(y0 // t, (y1 - 1) // t + 1):
            for tx in range(x0 // t, (x1 - 1) // t + 1):
                tl, tc = self._tile(tx, ty)
                ax0, ay0 = max(x0, tx * t), max(y0, ty * t)
                ax1, ay1 = min(x1, tx * t + tl.shape[1]), min(y1, ty * t + tl.shape[0])
                dst = np.s_[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
                src = np.s_[ay0 - ty * t : ay1 - ty * t, ax0 - tx * t : ax1 - tx * t]
                labels[dst], lab[dst] = tl[src], tc[src]
        return labels, lab

    def paint(
        self, mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: bool
    ) -> Box | None:
        """Paint one stroke segment p0–p1 into ``mask`` (in place); returns the box it changed."""
        h, w = mask.shape
        if mask.shape != self._image.shape[:2]:
            ih, iw = self._image.shape[:2]
            raise ObicInputError(f"mask is {w}×{h} but the brush's image is {iw}×{ih}")
        r = max(0.5, float(radius))
        (ax, ay), (bx, by) = p0, p1
        x0, y0 = max(0, int(np.floor(min(ax, bx) - r))), max(0, int(np.floor(min(ay, by) - r)))
        x1, y1 = min(w, int(np.ceil(max(ax, bx) + r)) + 1), min(h, int(np.ceil(max(ay, by) + r)) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        dx, dy = bx - ax, by - ay
        seg2 = dx * dx + dy * dy
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / seg2, 0.0, 1.0) if seg2 > 1e-9 else 0.0
        d2 = (xx - (ax + t * dx)) ** 2 + (yy - (ay + t * dy)) ** 2
        centre = d2 <= 0.75**2  # the pixels the centre line passes through
        if not centre.any():  # a dab between pixel centres: the pixel under it
            centre[min(y1 - 1, max(y0, int(ay))) - y0, min(x1 - 1, max(x0, int(ax))) - x0] = True
        capsule = (d2 <= r * r) | centre
        labels, lab = self._region((x0, y0, x1, y1))
        ids, inv = np.unique(labels[capsule], return_inverse=True)
        counts = np.bincount(inv, minlength=len(ids)).astype(np.float64)
        inside = lab[capsule]
        means = np.stack([np.bincount(inv, inside[:, k], minlength=len(ids)) for k in range(3)], 1) / counts[:, None]
        seeds = means[np.searchsorted(ids, np.unique(labels[centre]))]
        similar = np.sqrt(((means[:, None, :] - seeds[None, :, :]) ** 2).sum(-1)).min(1) <= self.tolerance
        # the similar superpixels count only where they connect to the centre line inside the capsule
        take = capsule & similar[np.searchsorted(ids, labels).clip(0, len(ids) - 1)]
        _, comp = cv2.connectedComponents(take.astype(np.uint8), connectivity=4)
        keep = np.unique(comp[centre & take])
        region = np.isin(comp, keep[keep > 0]) | centre
        sub = mask[y0:y1, x0:x1]
        if (sub[region] == bool(value)).all():
            return None
        sub[region] = bool(value)
        return x0, y0, x1, y1
