"""Interactive correction tools: clicks, smart box, polygon, scissors, edge brush, `obic segment --clicks`."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obic_core.errors import ObicInputError
from obic_core.segmentation import interactive as ia


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def scene(h: int = 160, w: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Textured green background, a red ellipse (object 1) and a blue disc (object 2, far right)."""
    rng = np.random.default_rng(seed)
    img = np.clip(np.array((60, 120, 70)) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    one = np.zeros((h, w), np.uint8)
    cv2.ellipse(one, (90, 80), (50, 40), 0, 0, 360, 1, -1)
    two = np.zeros((h, w), np.uint8)
    cv2.circle(two, (200, 40), 18, 1, -1)
    red = np.clip(np.array((210, 50, 40)) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    blue = np.clip(np.array((40, 60, 220)) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    img[one > 0] = red[one > 0]
    img[two > 0] = blue[two > 0]
    return img, one > 0, two > 0


# -- parsing ---------------------------------------------------------------------------------
def test_parse_clicks_signs_and_errors():
    clicks = ia.parse_clicks("10,20,+ 3.5,4,-  7,8,++")
    assert [(c.x, c.y, c.positive, c.new_object) for c in clicks] == [
        (10, 20, True, False),
        (3.5, 4, False, False),
        (7, 8, True, True),
    ]
    for bad in ("10,20", "10,20,x", "a,b,+", "", "10;20;+"):
        with pytest.raises(ObicInputError):
            ia.parse_clicks(bad)


def test_changed_box_is_the_tight_box_of_the_differences():
    """One implementation for the tools and the GUI (obic_core.boxes; obic_gui.mask_ops re-exports it)."""
    from obic_core.boxes import changed_box

    a = np.zeros((30, 50), bool)
    b = a.copy()
    b[5, 40] = b[8, 43] = True
    assert changed_box(a, b) == (40, 5, 44, 9)
    assert changed_box(a, a) is None
    assert ia.changed_box is changed_box


# -- clicks ----------------------------------------------------------------------------------
def test_positive_click_restores_a_missing_part_and_only_adds():
    img, obj, _ = scene()
    start = obj.copy()
    start[:, 100:] = False  # the right part of the ellipse is missing
    session = ia.ClickSession(img, start)
    box = session.add(120, 80, positive=True)
    assert box is not None
    assert (session.mask >= start).all(), "a positive click never removes object pixels"
    missing = obj & ~start
    assert session.mask[missing].mean() > 0.9, "the missing part was found"
    assert iou(session.mask, obj) > 0.93
    x0, y0, x1, y1 = box
    outside = np.ones_like(obj)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(session.mask[outside], start[outside]), "nothing changed outside the returned box"


def test_negative_click_removes_a_false_region_and_only_removes():
    img, obj, _ = scene()
    start = obj.copy()
    start[60:100, 140:180] = True  # a slab of background taken as object, touching the ellipse
    session = ia.ClickSession(img, start)
    session.add(165, 80, positive=False)
    assert (session.mask <= start).all(), "a negative click never adds object pixels"
    assert not session.mask[62:98, 145:178].any(), "the false slab is gone"
    assert iou(session.mask, obj) > 0.95, "the ellipse itself survived"


def test_click_disc_is_a_hard_seed_and_earlier_clicks_hold():
    img, obj, _ = scene()
    session = ia.ClickSession(img, obj)
    session.add(60, 20, positive=True)  # background, outside the object: the disc must become object
    assert session.mask[20, 60]
    first = session.clicks[0]
    assert first.radius is not None and first.radius >= 1.5
    session.add(60, 28, positive=False)  # a negative click right below it
    assert session.mask[20, 60], "the earlier positive disc still holds"
    assert not session.mask[28, 60]


def test_a_changed_mask_drops_the_old_seeds():
    img, obj, _ = scene()
    session = ia.ClickSession(img, obj)
    session.add(60, 20, positive=True)
    assert len(session.clicks) == 1
    session.add(90, 80, positive=False, mask=obj)  # the mask was edited elsewhere (e.g. undo)
    assert len(session.clicks) == 1, "old seeds dropped, only the new click remains"
    assert not session.mask[20, 60], "the dropped positive seed did not come back"


def test_new_object_click_starts_a_separate_region():
    img, obj, two = scene()
    session = ia.ClickSession(img, obj)
    session.add(200, 40, positive=True, new_object=True)
    assert (session.mask[obj]).all(), "the first object is untouched"
    assert iou(session.mask & ~obj, two) > 0.85, "the blue disc became a region of its own"
    # on an empty mask a plain positive click does the same
    empty = ia.ClickSession(img, None)
    empty.add(200, 40, positive=True)
    assert iou(empty.mask, two) > 0.85


def test_clicks_are_deterministic_and_click_segment_matches_the_session():
    img, obj, _ = scene()
    start = obj.copy()
    start[:, 100:] = False
    clicks = ia.parse_clicks("120,80,+ 60,20,- 130,60,+")
    a = ia.click_segment(img, start, clicks)
    b = ia.click_segment(img, start, clicks)
    assert np.array_equal(a, b)
    s = ia.ClickSession(img, start)
    for c in clicks:
        s.add(c.x, c.y, c.positive, c.new_object)
    assert np.array_equal(a, s.mask)


def test_click_errors():
    img, obj, _ = scene()
    with pytest.raises(ObicInputError):
        ia.ClickSession(img, obj[:10])
    session = ia.ClickSession(img, obj)
    for x, y in ((-1, 5), (5, 160), (240, 5)):
        with pytest.raises(ObicInputError, match="outside"):
            session.add(x, y)
    with pytest.raises(ObicInputError):
        ia.ClickSession(np.zeros((10, 10), np.uint8))


# -- smart box -------------------------------------------------------------------------------
def test_smart_box_clears_outside_only_when_asked():
    img, obj, two = scene()
    start = obj | two  # the blue disc is taken as object too
    rect = (30, 30, 125, 105)  # around the ellipse only
    cleared = ia.smart_box(img, start, rect, clear_outside=True)
    kept = ia.smart_box(img, start, rect, clear_outside=False)
    assert not cleared[two].any(), "the object outside the box was removed"
    assert kept[two].all(), "without the option the outside is kept"
    assert iou(cleared, obj) > 0.9
    with pytest.raises(ObicInputError):
        ia.smart_box(img, start, (500, 500, 10, 10))


# -- polygon ---------------------------------------------------------------------------------
def test_polygon_fill_square_and_errors():
    mask = np.zeros((50, 60), bool)
    out = ia.polygon_fill(mask, [(10, 10), (30, 10), (30, 20), (10, 20)])
    assert not mask.any(), "the input is not modified"
    assert out[10:20, 10:30].all() and out.sum() == 200, "pixels whose centres lie inside, no more"
    back = ia.polygon_fill(out, [(15, 5), (25, 5), (25, 40), (15, 40)], value=False)
    assert not back[10:20, 15:25].any() and back[10:20, 10:15].all()
    with pytest.raises(ObicInputError):
        ia.polygon_fill(mask, [(1, 1), (5, 5)])
    with pytest.raises(ObicInputError):
        ia.polygon_fill(mask, [(1, 1), (5, 5), (np.nan, 3)])


# -- scissors --------------------------------------------------------------------------------
def test_scissors_path_follows_an_edge_not_the_straight_line():
    h, w = 120, 120
    img = np.full((h, w, 3), 40, np.uint8)
    cols = 60 + (15 * np.sin(np.arange(h) / 12)).astype(int)  # a wavy vertical edge
    for y, x in enumerate(cols):
        img[y, x:] = 210
    path = ia.scissors_path(img, (cols[5] + 0.5, 5.5), (cols[110] + 0.5, 110.5))
    assert path.shape[1] == 2 and len(path) > 100
    assert np.allclose(path[0], (cols[5] + 0.5, 5.5), atol=1.01)
    assert np.allclose(path[-1], (cols[110] + 0.5, 110.5), atol=1.01)
    # every path point lies on the edge (within 2 px), though the straight line strays 15 px off it
    ys = np.clip(path[:, 1].astype(int), 0, h - 1)
    assert np.abs(path[:, 0] - 0.5 - cols[ys]).max() <= 2.0
    tool = ia.Scissors(img)
    with pytest.raises(ObicInputError):
        tool.path_to(3, 3)
    # beyond the anchor's cost map (reach) the path follows edges to the map's border, then runs straight
    short = ia.Scissors(img, reach=30)
    short.set_anchor(cols[5] + 0.5, 5.5)
    far = short.path_to(cols[110] + 0.5, 110.5)
    assert np.allclose(far[-1], (cols[110] + 0.5, 110.5), atol=1.01)
    assert far[-2, 1] <= 5.5 + 31, "the edge-following part ends at the map's border"


# -- edge brush ------------------------------------------------------------------------------
def test_edge_brush_stops_at_the_object_edge():
    img, obj, _ = scene()
    yy, xx = np.mgrid[: obj.shape[0], : obj.shape[1]] + 0.5
    plain = (yy - 80) ** 2 + (xx - np.clip(xx, 60, 120)) ** 2 <= 25**2  # what a plain brush covers
    assert (plain & ~obj).sum() > 300, "a plain stroke this wide spills over the ellipse's edge"
    edge = np.zeros_like(obj)
    brush = ia.EdgeBrush(img)
    assert brush.paint(edge, (60, 80), (120, 80), 25, True) is not None
    assert (edge & ~obj).sum() < 0.1 * (plain & ~obj).sum(), "the edge brush barely leaves the object"
    assert (edge & obj).sum() > 0.8 * (plain & obj).sum(), "... and paints most of what it covers inside"
    # erasing with it removes object pixels under the stroke and leaves the background as it was
    full = obj.copy()
    brush.paint(full, (60, 80), (120, 80), 25, False)
    assert not full[78:82, 62:118].any()
    with pytest.raises(ObicInputError):
        brush.paint(np.zeros((5, 5), bool), (1, 1), (2, 2), 1, True)


# -- command line ----------------------------------------------------------------------------
def test_cli_segment_with_clicks(tmp_path, capsys):
    from obic_core.cli import main
    from obic_core.imageio import read_mask, write_png

    img, obj, two = scene()
    src, out = tmp_path / "in.png", tmp_path / "mask.png"
    write_png(src, img)
    assert main(["segment", str(src), "--method", "none", "--clicks", "90,80,+ 200,40,++", "-o", str(out)]) == 0
    mask = read_mask(out, img.shape[:2])
    assert iou(mask, obj | two) > 0.85
    expected = ia.click_segment(img, None, ia.parse_clicks("90,80,+ 200,40,++"))
    assert np.array_equal(mask, expected), "the command runs the library's click tool"
    capsys.readouterr()
    assert main(["segment", str(src), "--method", "none", "--clicks", "90,80", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x,y,+" in err[0]
    assert main(["segment", str(src), "--method", "none", "--clicks", "900,80,+", "-o", str(out)]) == 2
    assert "outside" in capsys.readouterr().err


def test_the_tools_never_load_torch():
    """The app runs them in its GUI process, which must stay free of torch."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from obic_core.segmentation import interactive as ia; "
        "img = np.zeros((40, 40, 3), np.uint8); img[10:30, 10:30] = 200; "
        "ia.click_segment(img, None, ia.parse_clicks('20,20,+')); ia.Scissors(img).set_anchor(5, 5); "
        "ia.EdgeBrush(img).paint(np.zeros((40, 40), bool), (5, 5), (9, 9), 3, True); "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
