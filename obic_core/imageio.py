"""Reading inputs (photos, masks, .obic files) and writing outputs without losing anything.

Every entry point (CLI, GUI, bench) reads images through :func:`read_image`, so EXIF
rotation, alpha, palette, 16-bit, float, CMYK and grayscale inputs behave the same
everywhere, and every failure is an :class:`~obic_core.errors.ObicInputError` with a
readable message. Outputs go through :func:`write_bytes_atomic`: a regular file is replaced
atomically (temp file + rename) and never half-written; a symlink is followed (its target is
written, the link stays); a character device or FIFO is written through, never replaced; a
write that fails (read-only or full disk, file-size limit, ...) raises
:class:`~obic_core.errors.ObicOutputError` and leaves the old file as it was.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from obic_core.errors import ObicFormatError, ObicInputError, ObicOutputError

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


def _float_to_u8(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    """Finite values rescaled from their own min..max to 0..255; NaN and −inf become 0 and
    +inf 255 (said in a note), so no pixel is undefined and numpy never warns."""
    finite = np.isfinite(arr)
    out = np.zeros(arr.shape, dtype=np.uint8)
    if finite.any():
        vals = arr[finite]
        lo, hi = float(vals.min()), float(vals.max())
        if hi > lo:
            out[finite] = np.round((vals - lo) / (hi - lo) * 255).astype(np.uint8)
    notes.append("floating-point image rescaled to 8 bits")
    bad = int(arr.size - np.count_nonzero(finite))
    if bad:
        out[np.isposinf(arr)] = 255
        notes.append(f"{bad:,} pixel(s) were NaN or infinite: NaN and −inf set to black, +inf to white")
    return out


def _to_rgb(im: Image.Image, notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        notes.append(f"{mode} image scaled from 0–{int(peak)} to 8 bits")
        g = np.clip(np.round(arr / peak * 255), 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode == "F":
        g = _float_to_u8(np.asarray(im, dtype=np.float64), notes)
        return np.repeat(g[..., None], 3, axis=2)
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
                im: Image.Image = Image.open(fp)  # (an ImageFile; exif_transpose may return a plain Image)
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


#: a mask pixel is object when its alpha (files with transparency) or its luminance is at least
#: half of full scale: 128 of 255 (32768 of 65535 for 16-bit files, 0.5 for float files)
MASK_THRESHOLD = 128


def _mask_values(im: Image.Image) -> tuple[np.ndarray, float, str]:
    """-> (values, threshold, what was read) following the documented rule: the alpha channel
    when the file has one that is not fully opaque, else the luminance."""
    mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
        alpha = np.asarray(im.convert("RGBA").getchannel("A"))
        if alpha.size and int(alpha.min()) < 255:
            return alpha, MASK_THRESHOLD, "alpha"
    if mode.startswith("I;16") or mode == "I":
        return np.asarray(im, dtype=np.int64), 32768, "16-bit luminance"
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        return np.where(np.isfinite(arr), arr, 0.0), 0.5, "float luminance"
    if mode in ("L", "1"):
        return np.asarray(im.convert("L")), MASK_THRESHOLD, "luminance"
    return np.asarray(im.convert("RGB").convert("L")), MASK_THRESHOLD, "luminance"


def read_mask(source: str | Path, shape: tuple[int, int], notes: list[str] | None = None) -> np.ndarray:
    """A mask image of exactly ``shape`` = (H, W), as bool (True = object).

    The rule: if the file has an alpha channel (and it is not fully opaque), a pixel is object
    when its alpha is ≥ 128; otherwise when its luminance is ≥ 128 (of 255; half of full scale
    for 16-bit and float files). So black-and-white, grayscale, RGB and cut-out (transparent
    background) masks all mean what they show. ``notes`` (if given) receives what was read
    and the object fraction, for the user.
    """
    try:
        with Image.open(source) as opened:
            width, height = opened.size
            check_dimensions(width, height, what=f"mask {source}")
            values, threshold, what = _mask_values(ImageOps.exif_transpose(opened))
    except ObicInputError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ObicInputError(f"cannot read mask {source}: {exc}") from None
    if values.shape != tuple(shape):
        raise ObicInputError(
            f"mask {source} is {values.shape[1]}×{values.shape[0]} but the image is {shape[1]}×{shape[0]}; "
            f"they must match"
        )
    mask = values >= threshold
    if notes is not None:
        notes.append(f"mask {source}: {mask.mean() * 100:.1f} % object (read from its {what}, ≥ {threshold} = object)")
    return mask


def _write_error(path: Path, exc: OSError) -> ObicOutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:
        reason = "the file-size limit (ulimit -f) is smaller than the output"
    elif exc.errno == errno.ENOSPC:
        reason = "no space left on the disk"
    elif exc.errno == errno.EROFS:
        reason = "the disk is read-only"
    return ObicOutputError(f"cannot write {path}: {reason}; nothing was changed")


def _output_path(path: str | Path) -> Path:
    if isinstance(path, str) and not path.strip():
        raise ObicOutputError("the output path is empty; give a file name")
    return Path(path)


def _target(path: Path) -> tuple[Path, os.stat_result | None]:
    """Where a write to ``path`` lands: symlinks followed; (target, its stat or None)."""
    target = Path(os.path.realpath(path))
    try:
        return target, os.stat(target)
    except FileNotFoundError:
        return target, None
    except OSError as exc:
        raise ObicOutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def check_output(path: str | Path, inputs: Iterable[str | Path | None] = ()) -> None:
    """Refuse, before any work is done, an output that would fail or destroy something:
    an empty path, a folder, a missing or read-only folder, a block device or socket, or the
    same file as one of ``inputs`` (however it is spelled: ``../same/in.png``, a hard or
    symbolic link). Raises :class:`ObicOutputError`."""
    path = _output_path(path)
    target, st = _target(path)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ObicOutputError(f"output {path} is a folder; give a file name")
        if stat.S_ISREG(st.st_mode):
            for src in inputs:
                if src is None or not str(src):
                    continue
                try:
                    same = os.path.samefile(target, src)
                except OSError:
                    same = False
                if same:
                    raise ObicOutputError(f"output {path} is the input file {src}; writing it would destroy the input")
        elif not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise ObicOutputError(f"output {path} is not a regular file, character device or FIFO; refusing to write")
        if not stat.S_ISREG(st.st_mode):
            if not os.access(target, os.W_OK):
                raise ObicOutputError(f"cannot write {path}: permission denied")
            return
    folder = target.parent
    if not folder.is_dir():
        raise ObicOutputError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ObicOutputError(f"cannot write to folder {folder} (read-only disk or no permission)")


def _write_through(path: Path, target: Path, data: bytes, fifo: bool) -> None:
    """Write into an existing character device or FIFO (never replace it)."""
    try:
        fd = os.open(target, os.O_WRONLY | (os.O_NONBLOCK if fifo else 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no reader would block forever
            raise ObicOutputError(f"cannot write {path}: no program is reading that FIFO") from None
        raise _write_error(path, exc) from None
    try:
        if fifo:
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` without ever leaving half a file or replacing a non-file.

    Regular file (or a new name): temp file in the same folder, fsync, rename — a crash or a
    failed write leaves the old file untouched, and an existing file keeps its permissions.
    A symlink: its target is written this way (the link itself stays). A character device
    (``/dev/null``, a terminal) or a FIFO: written through. Anything else is refused.
    Every failure is an :class:`ObicOutputError` (an ``OSError``) with a one-line reason.
    """
    path = _output_path(path)
    target, st = _target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise ObicOutputError(f"output {path} is a folder; give a file name")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            _write_through(path, target, data, fifo=stat.S_ISFIFO(st.st_mode))
            return
        raise ObicOutputError(f"output {path} is not a regular file, character device or FIFO; refusing to write")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        # mkstemp creates 0600; a new output is readable like any file, an old one keeps its mode
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, ObicOutputError):
            raise _write_error(path, exc) from None
        raise


def read_obic_file(path: str | Path) -> bytes:
    """The bytes of a .obic file, read no further than its header says it is long.

    The magic, version, sizes and header checksum are checked from the first few hundred
    bytes; a regular file whose length disagrees with the header is refused before its
    payload is read, and any other input (a pipe, ``/dev/zero``) is read up to the declared
    length plus one byte, so a huge or endless input costs nothing."""
    from obic_core import bitstream

    try:
        f = open(path, "rb")  # (closed below, not by `with`: open errors need their own message)
    except OSError as exc:
        raise ObicFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        try:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise ObicFormatError(f"cannot read {path}: it is a folder")
            head = f.read(bitstream.MAX_HEADER_BYTES)
            total = bitstream.declared_size(head)
            if stat.S_ISREG(st.st_mode) and st.st_size != total:
                if st.st_size < total:
                    raise ObicFormatError(f"file is truncated ({st.st_size} of {total} bytes)")
                raise ObicFormatError(f"{st.st_size - total} unexpected bytes after the last sub-stream")
            rest = f.read(max(0, total - len(head)) + 1) if len(head) <= total else b""
        except OSError as exc:
            raise ObicFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    return head + rest


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
