"""Reading any input photo into RGB uint8 and writing outputs atomically.

Every entry point (CLI, GUI, bench) reads images through :func:`read_image`, so EXIF
rotation, alpha, palette, 16-bit, CMYK and grayscale inputs behave the same everywhere,
and every failure is an :class:`~obic_core.errors.ObicInputError` with a readable message.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from obic_core.errors import ObicInputError

#: largest side we accept (also the .obic header cap)
MAX_SIDE = 30_000
#: default pixel budget; override with $OBIC_MAX_PIXELS
DEFAULT_MAX_PIXELS = 100_000_000


def max_pixels() -> int:
    try:
        return int(os.environ.get("OBIC_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    except ValueError:
        return DEFAULT_MAX_PIXELS


def check_dimensions(width: int, height: int, what: str = "image") -> None:
    """Refuse sizes before anything is allocated for them."""
    if width < 1 or height < 1:
        raise ObicInputError(f"{what} has no pixels ({width}×{height})")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ObicInputError(f"{what} is {width}×{height}; the largest side allowed is {MAX_SIDE} px")
    if width * height > max_pixels():
        raise ObicInputError(
            f"{what} has {width * height:,} pixels, more than the budget of {max_pixels():,} "
            f"(set OBIC_MAX_PIXELS to allow more)"
        )


@dataclass
class LoadedImage:
    pixels: np.ndarray  # (H, W, 3) uint8
    notes: list[str] = field(default_factory=list)  # conversions the user should know about


def _to_rgb(im: Image.Image, notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        notes.append(f"{mode} image scaled from 0–{int(peak)} to 8 bits")
        g = np.clip(np.round(arr / peak * 255), 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        notes.append("floating-point image rescaled to 8 bits")
        g = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255
        return np.repeat(np.round(g).astype(np.uint8)[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        notes.append("alpha channel dropped (transparent pixels keep their colour)")
    if mode in ("L", "1"):
        notes.append("grayscale image converted to RGB")
    elif mode == "CMYK":
        notes.append("CMYK image converted to RGB")
    elif mode not in ("RGB", "RGBA", "P", "LA", "PA"):
        notes.append(f"{mode} image converted to RGB")
    return np.asarray(im.convert("RGBA").convert("RGB") if "A" in mode or mode == "P" else im.convert("RGB"))


def read_image(source: str | Path | bytes) -> LoadedImage:
    """Open PNG/JPEG/WebP/TIFF/BMP/... as (H, W, 3) uint8, honouring EXIF orientation."""
    name = "image data" if isinstance(source, bytes) else str(source)
    try:
        fp = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    except OSError as exc:
        raise ObicInputError(f"cannot open {name}: {exc.strerror or exc}") from None
    notes: list[str] = []
    try:
        with fp, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                im = Image.open(fp)
            except (Image.UnidentifiedImageError, ValueError):
                raise ObicInputError(
                    f"{name} is not an image this program can read (PNG, JPEG, WebP, TIFF, BMP)"
                ) from None
            check_dimensions(*im.size, what=name)
            try:
                im.load()
            except OSError as exc:
                raise ObicInputError(f"{name} is damaged or truncated ({exc})") from None
            if getattr(im, "n_frames", 1) > 1:
                notes.append("only the first frame is used")
            orientation = im.getexif().get(0x0112, 1)
            if orientation not in (1, None):
                im = ImageOps.exif_transpose(im)
                notes.append(f"rotated according to EXIF orientation {orientation}")
            pixels = _to_rgb(im, notes)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ObicInputError(f"{name} is too large to open safely ({exc})") from None
    except ObicInputError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ObicInputError(f"cannot read {name}: {exc}") from None
    return LoadedImage(np.ascontiguousarray(pixels), notes)


def read_mask(source: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A mask PNG (non-zero = object) of exactly ``shape`` = (H, W), as bool."""
    try:
        with Image.open(source) as im:
            im = ImageOps.exif_transpose(im)
            check_dimensions(*im.size, what=f"mask {source}")
            arr = np.asarray(im.convert("L"))
    except ObicInputError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ObicInputError(f"cannot read mask {source}: {exc}") from None
    if arr.shape != tuple(shape):
        raise ObicInputError(
            f"mask {source} is {arr.shape[1]}×{arr.shape[0]} but the image is {shape[1]}×{shape[0]}; they must match"
        )
    return arr > 0


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Temp file in the target folder, fsync, rename: a crash never leaves half a file."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; outputs should be readable like any file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_png(pixels: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    arr = np.asarray(pixels)
    if alpha is not None:
        arr = np.dstack([arr, np.asarray(alpha, dtype=np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | Path, pixels: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """Write an RGB (or RGBA with ``alpha``) PNG atomically."""
    write_bytes_atomic(path, encode_png(pixels, alpha))
