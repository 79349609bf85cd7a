"""The `.obic` container, version 1 — the single source of the byte layout.

docs/format.md mirrors this module. All integers little-endian::

    offset size  field
    0      4     magic b"OBIC"
    4      1     version (1)
    5      1     flags: bit 0 = the mask stream also holds the full-resolution mask
    6      4     width  (1 .. 30000)
    10     4     height (1 .. 30000)
    14     2     object quality     q * 65535, rounded
    16     2     background quality q * 65535, rounded
    18     8     model id: first 8 bytes of the weight file's SHA-256
    26     1     n = length of the model name (1 .. 64)
    27     n     model name, UTF-8
    27+n   1     s = number of sub-streams (0 .. 3)
    28+n   9·s   sub-stream table: kind (1 byte: 1 mask, 2 object, 3 background),
                 length (4 bytes), CRC-32 of the payload (4 bytes)
    ...    4     CRC-32 of every header byte before it
    ...          payloads, in table order, and nothing after them

Layer payload (object / background): hyper length h (4 bytes), h bytes of hyper-latent
range-coder words, then the latent range-coder words (to the end of the payload).
Mask payload: mode (1 byte: 0 coded grid, 1 all object, 2 all background), grid length g
(4 bytes), g bytes of the coded latent-grid mask; if flags bit 0: the full-resolution mask
as zlib-compressed packed bits (to the end).

Nothing is allocated from a header field before it is checked against the caps below.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from obic_core.errors import ObicFormatError

MAGIC = b"OBIC"
VERSION = 1
MAX_SIDE = 30_000
MAX_NAME = 64
FLAG_FULL_MASK = 1
KIND_MASK, KIND_OBJECT, KIND_BACKGROUND = 1, 2, 3
KIND_NAMES = {KIND_MASK: "mask", KIND_OBJECT: "object", KIND_BACKGROUND: "background"}
NAME_KINDS = {v: k for k, v in KIND_NAMES.items()}
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


def serialize(c: Container) -> bytes:
    name = c.model_name.encode("utf-8")
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError("model name must be 1..64 bytes")
    if len(c.model_id) != 8:
        raise ValueError("model id must be 8 bytes")
    kinds = [k for k in (KIND_MASK, KIND_OBJECT, KIND_BACKGROUND) if KIND_NAMES[k] in c.streams]
    head = bytearray(
        _FIXED.pack(
            MAGIC,
            VERSION,
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
    return bytes(head) + b"".join(c.streams[KIND_NAMES[k]] for k in kinds)


def _need(data: bytes, end: int, what: str) -> None:
    if len(data) < end:
        raise ObicFormatError(f"file is truncated (ends inside the {what}; {len(data)} bytes)")


def parse(data: bytes) -> Container:
    """Validate and split a .obic file; raises ObicFormatError with a specific reason."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ObicFormatError("expected the bytes of a .obic file")
    data = bytes(data)
    if len(data) < 4 or data[:4] != MAGIC:
        raise ObicFormatError("not an .obic file (wrong magic bytes)")
    _need(data, _FIXED.size, "header")
    magic, version, flags, width, height, qo, qb, model_id, name_len = _FIXED.unpack_from(data, 0)
    if version != VERSION:
        raise ObicFormatError(f"unsupported .obic version {version} (this program reads version {VERSION})")
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
    if count > 3:
        raise ObicFormatError(f"header lists {count} sub-streams (at most 3)")
    _need(data, pos + 9 * count + 4, "sub-stream table")
    table = []
    for _ in range(count):
        kind, length, crc = struct.unpack_from("<BII", data, pos)
        pos += 9
        if kind not in KIND_NAMES:
            raise ObicFormatError(f"unknown sub-stream kind {kind}")
        if any(kind == k for k, _, _ in table):
            raise ObicFormatError(f"sub-stream '{KIND_NAMES[kind]}' appears twice")
        table.append((kind, length, crc))
    (header_crc,) = struct.unpack_from("<I", data, pos)
    if zlib.crc32(data[:pos]) != header_crc:
        raise ObicFormatError("header checksum mismatch (the file is corrupt)")
    pos += 4
    header_bytes = pos
    kinds = [k for k, _, _ in table]
    if kinds != sorted(kinds):
        raise ObicFormatError("sub-streams are out of order")
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
    if "mask" not in streams:
        raise ObicFormatError("the mask sub-stream is missing")
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
