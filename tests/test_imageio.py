"""Hostile and unusual image inputs: each works or gives a clear ObicInputError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from obic_core.errors import ObicInputError
from obic_core.imageio import read_image, read_mask, write_png


def save(tmp_path, name, im: Image.Image, **kw):
    p = tmp_path / name
    im.save(p, **kw)
    return p


def test_rgb_png_round_trip(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_png(tmp_path / "a.png", arr)
    assert np.array_equal(read_image(tmp_path / "a.png").pixels, arr)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "1", "F"])
def test_modes_convert_to_rgb(tmp_path, mode):
    base = Image.fromarray(np.random.default_rng(1).integers(0, 256, (16, 24, 3), dtype=np.uint8))
    if mode == "I;16":
        im = Image.fromarray((np.arange(16 * 24).reshape(16, 24) * 150).astype(np.uint16))
    elif mode == "F":
        im = Image.fromarray(np.linspace(-1, 3, 16 * 24, dtype=np.float32).reshape(16, 24))
    else:
        im = base.convert(mode)
    fmt = {"CMYK": ("x.jpg", "JPEG"), "F": ("x.tif", "TIFF")}.get(mode, ("x.png", "PNG"))
    p = save(tmp_path, fmt[0], im, format=fmt[1])
    loaded = read_image(p)
    assert loaded.pixels.shape == (16, 24, 3) and loaded.pixels.dtype == np.uint8
    if mode in ("RGBA", "LA"):
        assert any("alpha" in n for n in loaded.notes)
    if mode == "I;16":
        assert loaded.pixels.max() > 200  # 16-bit range scaled, not clipped to black/white


def test_exif_rotation_is_honoured(tmp_path):
    im = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif.tobytes())
    loaded = read_image(p)
    assert loaded.pixels.shape == (40, 20, 3)
    assert any("EXIF" in n for n in loaded.notes)


@pytest.mark.parametrize(("w", "h"), [(1, 1), (4, 300), (300, 4)])
def test_tiny_and_panorama_images_load(tmp_path, w, h):
    p = save(tmp_path, "t.png", Image.new("RGB", (w, h), "blue"))
    assert read_image(p).pixels.shape == (h, w, 3)


def test_truncated_files_are_refused(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ObicInputError, match="damaged|truncated|cannot"):
        read_image(tmp_path / "cut.png")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[:200])
    with pytest.raises(ObicInputError):
        read_image(tmp_path / "cut.jpg")


def test_text_renamed_png_and_missing_file(tmp_path):
    (tmp_path / "notes.png").write_text("hello, I am not a picture")
    with pytest.raises(ObicInputError, match="not an image"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(ObicInputError, match="cannot open"):
        read_image(tmp_path / "absent.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ObicInputError):
        read_image(tmp_path / "empty.png")


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    # a 6000×6000 PNG of zeros compresses to a few KB; with a 10 MP budget it must be refused
    monkeypatch.setenv("OBIC_MAX_PIXELS", str(10_000_000))
    p = save(tmp_path, "bomb.png", Image.new("L", (6000, 6000)))
    assert p.stat().st_size < 200_000
    with pytest.raises(ObicInputError, match="pixels|too large"):
        read_image(p)


def test_side_cap(tmp_path):
    p = save(tmp_path, "wide.png", Image.new("1", (30_001, 1)))
    with pytest.raises(ObicInputError, match="largest side"):
        read_image(p)


def test_mask_must_match_image(tmp_path):
    p = save(tmp_path, "m.png", Image.new("L", (10, 5), 255))
    assert read_mask(p, (5, 10)).all()
    with pytest.raises(ObicInputError, match="must match"):
        read_mask(p, (6, 10))
