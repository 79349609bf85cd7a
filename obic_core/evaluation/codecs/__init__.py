"""One adapter per codec, all with the same interface, so compare and bench treat them alike.

Every adapter (:class:`.base.CodecAdapter`) has a native, monotone quality knob (more quality → more
bytes) and offers

* ``encode(image, quality) -> bytes`` and ``decode(data) -> image`` (RGB uint8 in and out);
* ``count_bytes(data)`` — the bytes that count as the file size (the whole file, except for
  ``hevc``: the HEVC payload, see :mod:`.hevc`);
* ``at_bpp(image, target_bpp) -> Encoded`` — the largest file not above the target, found by
  real encodes (:mod:`.rate_search`). A codec that cannot get that low returns its smallest
  file with ``reached=False`` instead of silently returning a bigger one.

Modules: :mod:`.base` (the interface), :mod:`.rate_search`, one module per codec (:mod:`.jpeg`,
:mod:`.webp`, :mod:`.avif`, :mod:`.jpeg2000`, :mod:`.hevc` with :mod:`.heif_boxes`,
:mod:`.jpegxl`, :mod:`.obic`) and :mod:`.registry` (names → adapters, what this machine has).
Nothing is imported here: ``from obic_core.evaluation.codecs.registry import get_codec``.
"""
