"""The `.obic` container, versions 1 and 2 — the single source of the byte layout.

docs/format.md mirrors this module. All integers little-endian::

    offset size  field
    0      4     magic b"OBIC"
    4      1     version (1; 2 when the file holds a quality-map sub-stream)
    5      1     flags: bit 0 = the mask stream also holds the full-resolution mask
    6      4     width  (1 .. 30000)
    10     4     height (1 .. 30000)
    14     2     object quality     q * 65535, rounded
    16     2     background quality q * 65535, rounded
    18     8     model id: first 8 bytes of the weight file's SHA-256
    26     1     n = length of the model name (1 .. 64)
    27     n     model name, UTF-8
    27+n   1     s = number of sub-streams (0 .. 3 in v1, 0 .. 4 in v2)
    28+n   9·s   sub-stream table: kind (1 byte: 1 mask, 2 object, 3 background, 4 quality),
                 length (4 bytes), CRC-32 of the payload (4 bytes)
    ...    4     CRC-32 of every header byte before it
    ...          payloads, in table order, and nothing after them

Layer payload (object / background): hyper length h (4 bytes), h bytes of hyper-latent
range-coder words, then the latent range-coder words (to the end of the payload).
Mask payload: mode (1 byte: 0 coded grid, 1 all object, 2 all background), grid length g
(4 bytes), g bytes of the coded latent-grid mask; if flags bit 0: the full-resolution mask
as zlib-compressed packed bits (to the end).
Quality payload (v2 only): zlib stream of the latent grid's block qualities, one byte per
16×16 block in raster order, k = 0 .. 60 meaning q = k / 60; it decompresses to exactly
rows × cols bytes. Without it every block takes its layer's header quality.

Nothing is allocated from a header field before it is checked against the caps below.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np

from obic_core.errors import ObicFormatError
from obic_core.rules import QUALITY_STEPS

MAGIC = b"OBIC"
VERSION = 2  # the newest version this module writes and reads
VERSIONS = (1, 2)
MAX_SIDE = 30_000
MAX_NAME = 64
FLAG_FULL_MASK = 1
KIND_MASK, KIND_OBJECT, KIND_BACKGROUND, KIND_QUALITY = 1, 2, 3, 4
KIND_NAMES = {KIND_MASK: "mask", KIND_OBJECT: "object", KIND_BACKGROUND: "background", KIND_QUALITY: "quality"}
#: sub-stream kinds each version may hold
VERSION_KINDS = {1: (KIND_MASK, KIND_OBJECT, KIND_BACKGROUND), 2: tuple(KIND_NAMES)}
MASK_CODED, MASK_ALL_OBJECT, MASK_ALL_BACKGROUND = 0, 1, 2
_FIXED = struct.Struct("<4sBBIIHH8sB")


def quality_to_u16(q: float) -> int:
    return int(round(min(max(float(q), 0.0), 1.0) * 65535))


def u16_to_quality(v: int) -> float:
    return v / 65535


@dataclass
class Container:
    width: int
    height: int
    object_quality: float  # already on the u16 grid when parsed
    background_quality: float
    model_id: bytes  # 8 bytes
    model_name: str
    streams: dict[str, bytes] = field(default_factory=dict)  # "mask", "object", "background"
    full_mask: bool = False
    header_bytes: int = 0  # set by parse()/serialize()
    version: int = 1  # set by parse()/serialize(): 2 when a quality map is present


def serialize(c: Container) -> bytes:
    name = c.model_name.encode("utf-8")
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError("model name must be 1..64 bytes")
    if len(c.model_id) != 8:
        raise ValueError("model id must be 8 bytes")
    kinds = [k for k in KIND_NAMES if KIND_NAMES[k] in c.streams]
    # v1 readers stay able to read every file that needs nothing newer
    version = 2 if KIND_QUALITY in kinds else 1
    head = bytearray(
        _FIXED.pack(
            MAGIC,
            version,
            FLAG_FULL_MASK if c.full_mask else 0,
            c.width,
            c.height,
            quality_to_u16(c.object_quality),
            quality_to_u16(c.background_quality),
            c.model_id,
            len(name),
        )
    )
    head += name
    head.append(len(kinds))
    for k in kinds:
        payload = c.streams[KIND_NAMES[k]]
        head += struct.pack("<BII", k, len(payload), zlib.crc32(payload))
    head += struct.pack("<I", zlib.crc32(head))
    c.header_bytes = len(head)
    c.version = version
    return bytes(head) + b"".join(c.streams[KIND_NAMES[k]] for k in kinds)


def _need(data: bytes, end: int, what: str) -> None:
    if len(data) < end:
        raise ObicFormatError(f"file is truncated (ends inside the {what}; {len(data)} bytes)")


#: the longest header any valid file can have: reading this many bytes is enough to check it
#: and learn the file's declared length (see :func:`declared_size`)
MAX_HEADER_BYTES = _FIXED.size + MAX_NAME + 1 + 9 * len(KIND_NAMES) + 4


def _parse_header(data: bytes) -> tuple:
    """Check everything up to and including the header CRC (needs only the header's bytes).

    -> (version, flags, width, height, qo, qb, model_id, model_name, table, header_bytes)."""
    if len(data) < 4 or data[:4] != MAGIC:
        raise ObicFormatError("not an .obic file (wrong magic bytes)")
    _need(data, _FIXED.size, "header")
    magic, version, flags, width, height, qo, qb, model_id, name_len = _FIXED.unpack_from(data, 0)
    if version not in VERSIONS:
        raise ObicFormatError(f"unsupported .obic version {version} (this program reads versions 1 and 2)")
    if flags & ~FLAG_FULL_MASK:
        raise ObicFormatError(f"unknown header flags {flags:#04x}")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ObicFormatError(f"image size {width}×{height} in the header is outside 1..{MAX_SIDE}")
    if not 1 <= name_len <= MAX_NAME:
        raise ObicFormatError(f"model name length {name_len} is outside 1..{MAX_NAME}")
    pos = _FIXED.size
    _need(data, pos + name_len + 1, "header")
    try:
        model_name = data[pos : pos + name_len].decode("utf-8")
    except UnicodeDecodeError:
        raise ObicFormatError("model name in the header is not valid UTF-8") from None
    pos += name_len
    count = data[pos]
    pos += 1
    allowed = VERSION_KINDS[version]
    if count > len(allowed):
        raise ObicFormatError(f"header lists {count} sub-streams (at most {len(allowed)} in version {version})")
    _need(data, pos + 9 * count + 4, "sub-stream table")
    table: list[tuple[int, int, int]] = []
    for _ in range(count):
        kind, length, crc = struct.unpack_from("<BII", data, pos)
        pos += 9
        if kind not in allowed:
            raise ObicFormatError(f"unknown sub-stream kind {kind} for a version-{version} file")
        if any(kind == k for k, _, _ in table):
            raise ObicFormatError(f"sub-stream '{KIND_NAMES[kind]}' appears twice")
        table.append((kind, length, crc))
    (header_crc,) = struct.unpack_from("<I", data, pos)
    if zlib.crc32(data[:pos]) != header_crc:
        raise ObicFormatError("header checksum mismatch (the file is corrupt)")
    pos += 4
    kinds = [k for k, _, _ in table]
    if kinds != sorted(kinds):
        raise ObicFormatError("sub-streams are out of order")
    if KIND_MASK not in kinds:
        raise ObicFormatError("the mask sub-stream is missing")
    return version, flags, width, height, qo, qb, model_id, model_name, table, pos


def declared_size(prefix: bytes) -> int:
    """The total length a file declares, from its first :data:`MAX_HEADER_BYTES` bytes (or
    all of it, if shorter), after checking the header; lets a reader refuse a foreign,
    damaged or wrongly sized file without reading the rest."""
    *_, table, header_bytes = _parse_header(bytes(prefix[:MAX_HEADER_BYTES]))
    return header_bytes + sum(length for _, length, _ in table)


def parse(data: bytes) -> Container:
    """Validate and split a .obic file; raises ObicFormatError with a specific reason."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ObicFormatError("expected the bytes of a .obic file")
    data = bytes(data)
    version, flags, width, height, qo, qb, model_id, model_name, table, pos = _parse_header(data)
    header_bytes = pos
    total = pos + sum(length for _, length, _ in table)
    if len(data) < total:
        raise ObicFormatError(f"file is truncated ({len(data)} of {total} bytes)")
    if len(data) > total:
        raise ObicFormatError(f"{len(data) - total} unexpected bytes after the last sub-stream")
    streams = {}
    for kind, length, crc in table:
        payload = data[pos : pos + length]
        if zlib.crc32(payload) != crc:
            raise ObicFormatError(f"'{KIND_NAMES[kind]}' sub-stream checksum mismatch (the file is corrupt)")
        streams[KIND_NAMES[kind]] = payload
        pos += length
    return Container(
        width,
        height,
        u16_to_quality(qo),
        u16_to_quality(qb),
        model_id,
        model_name,
        streams,
        bool(flags & FLAG_FULL_MASK),
        header_bytes,
        version,
    )


# -- payload helpers -------------------------------------------------------------------
def pack_layer(hyper: bytes, latent: bytes) -> bytes:
    return struct.pack("<I", len(hyper)) + hyper + latent


def unpack_layer(payload: bytes, name: str) -> tuple[bytes, bytes]:
    if len(payload) < 4:
        raise ObicFormatError(f"'{name}' sub-stream is too short")
    (h,) = struct.unpack_from("<I", payload, 0)
    if 4 + h > len(payload):
        raise ObicFormatError(f"'{name}' sub-stream has an impossible hyper length {h}")
    return payload[4 : 4 + h], payload[4 + h :]


def pack_mask(mode: int, grid_bytes: bytes, full_mask: np.ndarray | None = None) -> bytes:
    out = struct.pack("<BI", mode, len(grid_bytes)) + grid_bytes
    if full_mask is not None:
        out += zlib.compress(np.packbits(np.asarray(full_mask, dtype=bool)).tobytes(), 9)
    return out


@overload
def unpack_mask(payload: bytes, full_mask: Literal[True], shape: tuple[int, int]) -> tuple[int, bytes, np.ndarray]: ...
@overload
def unpack_mask(payload: bytes, full_mask: bool, shape: tuple[int, int]) -> tuple[int, bytes, np.ndarray | None]: ...
def unpack_mask(payload: bytes, full_mask: bool, shape: tuple[int, int]) -> tuple[int, bytes, np.ndarray | None]:
    """-> (mode, coded grid bytes, full-resolution mask or None)."""
    if len(payload) < 5:
        raise ObicFormatError("mask sub-stream is too short")
    mode, g = struct.unpack_from("<BI", payload, 0)
    if mode not in (MASK_CODED, MASK_ALL_OBJECT, MASK_ALL_BACKGROUND):
        raise ObicFormatError(f"unknown mask mode {mode}")
    if 5 + g > len(payload):
        raise ObicFormatError(f"mask sub-stream has an impossible grid length {g}")
    grid = payload[5 : 5 + g]
    full = None
    if full_mask:
        h, w = shape
        n = h * w
        try:
            d = zlib.decompressobj()
            raw = d.decompress(payload[5 + g :], (n + 7) // 8 + 1)
        except zlib.error:
            raise ObicFormatError("full-resolution mask is damaged") from None
        if len(raw) != (n + 7) // 8:
            raise ObicFormatError("full-resolution mask has the wrong size")
        full = np.unpackbits(np.frombuffer(raw, np.uint8))[:n].reshape(h, w).astype(bool)
    return mode, grid, full


def pack_quality_map(steps: np.ndarray) -> bytes:
    """(rows, cols) uint8 block qualities k = 0..QUALITY_STEPS -> the quality payload."""
    grid = np.ascontiguousarray(steps, dtype=np.uint8)
    if grid.size and int(grid.max()) > QUALITY_STEPS:
        raise ValueError(f"quality steps must be 0..{QUALITY_STEPS}")
    return zlib.compress(grid.tobytes(), 9)


def unpack_quality_map(payload: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The quality payload -> (rows, cols) uint8 steps; never inflates past rows × cols bytes."""
    n = shape[0] * shape[1]
    try:
        d = zlib.decompressobj()
        raw = d.decompress(payload, n + 1)
    except zlib.error:
        raise ObicFormatError("quality-map sub-stream is damaged") from None
    if len(raw) != n or not d.eof:
        raise ObicFormatError(f"quality-map sub-stream has the wrong size (expected {shape[0]}×{shape[1]} blocks)")
    steps = np.frombuffer(raw, np.uint8).reshape(shape)
    if int(steps.max()) > QUALITY_STEPS:
        raise ObicFormatError(f"quality-map value {int(steps.max())} is outside 0..{QUALITY_STEPS}")
    return steps
