"""`obic encode | decode | info | extract` — thin wrappers over :mod:`obic_core.codec`.

Every output is checked before any work starts (not empty, not a folder, not the same file
as an input however spelled, folder writable) and written through
:func:`obic_core.imageio.write_bytes_atomic`, so a refused or failed command leaves the
user's files as they were. Only argparse and the error types are imported here; the codec
(and with it numpy and PIL) is imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
from pathlib import Path

from obic_core.errors import ObicInputError


def _read_obic(path: Path) -> bytes:
    from obic_core.imageio import read_obic_file

    return read_obic_file(path)


def _quality(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quality must be a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"quality must be between 0 and 1, got {text!r}")
    return v


def _bpp(text: str) -> float:
    """--target-bpp: a positive, finite number (nan, inf and negatives are refused here,
    not reported as reached later)."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"target bpp must be a positive finite number, got {text!r}")
    return v


def output_arg(text: str) -> str:
    """-o value, kept as typed (argparse's Path would turn "" into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output path is empty; give a file name")
    return text


def report(output: str | Path, line: str) -> None:
    """The one-line summary: on stdout, unless the output itself is a stream (``-o
    /dev/stdout``, a FIFO), where it would corrupt the data."""
    try:
        regular = stat.S_ISREG(os.stat(output).st_mode)
    except OSError:
        regular = True
    print(line, file=sys.stdout if regular else sys.stderr)


def resolve_mask(spec: str, image, path_for_messages: str = "image", method: str = "auto"):
    """--mask value -> bool mask or None (single layer). 'auto' predicts one, and falls back
    to a single layer (with a note) for images the predictor cannot use (1×1, 30000×1).
    A mask file follows the rule of :func:`obic_core.imageio.read_mask`; the object
    fraction is reported on stderr."""
    import numpy as np

    from obic_core.imageio import read_mask

    if spec == "none":
        return None
    if spec == "auto":
        from obic_core.segmentation import predict_mask

        try:
            mask = np.asarray(predict_mask(image, method), dtype=bool)
        except ObicInputError as exc:
            print(f"note: --mask auto: {exc}; encoding a single layer (the whole image is the object)", file=sys.stderr)
            return None
        print(f"note: predicted mask: {mask.mean() * 100:.1f} % object", file=sys.stderr)
        return mask
    notes: list[str] = []
    mask = read_mask(spec, image.shape[:2], notes)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return mask


def _layers_and_map(args: argparse.Namespace, image):
    """--mask / --objects / --quality-map / --object-quality -> (mask, quality map, q_obj).

    ``--objects`` is a label image: its non-zero pixels are the object layer and each label
    gets its own quality (a quality map). ``--quality-map`` sets each block's quality inside
    whichever layers the mask makes; both together multiply nothing: the map wins where given.
    """
    from obic_core import quality_map as qm

    qualities = qm.parse_qualities(args.object_quality)
    shape = image.shape[:2]
    qmap = None
    if args.objects is not None:
        if args.mask not in ("auto", "none"):
            raise ObicInputError("give either --mask or --objects, not both")
        labels = qm.read_labels(str(args.objects), shape)
        mask = labels > 0
        qmap = qm.label_quality_map(labels, qualities, args.background_quality)
        print(f"note: {int(labels.max())} object(s) cover {mask.mean():.1%} of the image", file=sys.stderr)
    else:
        if len(qualities) > 1:
            raise ObicInputError("several object qualities need --objects LABELS.png (one quality per label)")
        # effort fast: the network's mask without the GrabCut refine (≈ half the time)
        mask = resolve_mask(args.mask, image, method="net" if args.effort == "fast" else "auto")
    if args.quality_map is not None:
        qmap = qm.read_quality_map(str(args.quality_map), shape)
    return mask, qmap, qualities[0]


def cmd_encode(args: argparse.Namespace) -> int:
    from obic_core import codec
    from obic_core.imageio import check_output, read_image, write_bytes_atomic

    mask_file = None if args.mask in ("auto", "none") else args.mask
    check_output(args.output, [args.image, mask_file, args.objects, args.quality_map, args.weights])
    loaded = read_image(args.image)
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    mask, qmap, object_q = _layers_and_map(args, loaded.pixels)
    settings = codec.EncodeSettings(
        object_q,
        args.background_quality,
        args.target_bpp,
        args.device,
        str(args.weights) if args.weights else None,
        args.full_mask,
        quality_map=qmap,
        effort=args.effort,
    )
    res = codec.encode_detailed(loaded.pixels, mask, settings)
    if not res.reached:
        print(
            f"warning: {args.target_bpp} bpp is below the smallest file this image allows; "
            f"wrote the smallest ({len(res.data) * 8 / loaded.pixels[..., 0].size:.4f} bpp)",
            file=sys.stderr,
        )
    write_bytes_atomic(args.output, res.data)
    lay = codec.inspect(res.data)
    report(
        args.output,
        f"{args.output}: {lay.file_bytes} bytes, {lay.bpp:.4f} bpp "
        f"(object q={res.object_quality:.3f}, background q={res.background_quality:.3f}, {res.seconds:.2f} s)",
    )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from obic_core import codec
    from obic_core.imageio import check_output, write_png

    check_output(args.output, [args.input, args.weights])
    data = _read_obic(args.input)
    layers = codec.LAYER_NAMES if args.layer == "all" else (args.layer,)
    dec = codec.decode(data, layers, args.device, str(args.weights) if args.weights else None)
    if args.layer != "all" and args.layer not in dec.layers:
        raise ObicInputError(f"{args.input} has no {args.layer} layer to decode")
    write_png(args.output, dec.image, dec.alpha if args.layer != "all" else None)
    report(
        args.output,
        f"{args.output}: {dec.image.shape[1]}×{dec.image.shape[0]}, layers: {', '.join(dec.layers) or 'none'}",
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from obic_core import codec

    lay = codec.inspect(_read_obic(args.input))
    info = lay.to_json()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{args.input}: {lay.width}×{lay.height}, {lay.file_bytes} bytes, {lay.bpp:.4f} bpp")
    print(
        f"  model {lay.model_name} ({lay.model_id}); qualities object {lay.object_quality:.3f}, "
        f"background {lay.background_quality:.3f}"
    )
    print(f"  header {lay.header_bytes} B, mask {lay.mask_bytes} B (format version {lay.version})")
    if lay.quality_map is not None:
        qm = lay.quality_map
        print(f"  quality map {qm.bytes} B: q min {qm.min:.3f}, mean {qm.mean:.3f}, max {qm.max:.3f}")
    for name, li in lay.layers.items():
        print(
            f"  {name:<10} {li.bytes:>8} B  {info['layers'][name]['bpp']:.4f} bpp "
            f"(latent {li.latent_bytes} B, hyper {li.hyper_bytes} B)"
        )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from obic_core import codec
    from obic_core.imageio import check_output, write_bytes_atomic

    check_output(args.output, [args.input])
    out = codec.extract(_read_obic(args.input), args.layer)
    write_bytes_atomic(args.output, out)
    report(args.output, f"{args.output}: {len(out)} bytes ({args.layer} layer only)")
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    dev = {"choices": ["auto", "cpu", "cuda"], "default": "auto"}
    p = sub.add_parser("encode", help="compress an image into a two-layer .obic file")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=output_arg, required=True)
    p.add_argument(
        "--mask",
        default="auto",
        help="auto (predict the object), none (single layer) or an image: object where its alpha "
        "(if it has transparency) or else its luminance is >= 128",
    )
    p.add_argument(
        "--object-quality",
        default="0.75",
        help="0..1; with --objects a comma list, one quality per label (one value: all objects)",
    )
    p.add_argument(
        "--objects",
        type=Path,
        default=None,
        help="8-bit label image: 0 = background, 1..N = objects, each with its own --object-quality",
    )
    p.add_argument(
        "--quality-map",
        type=Path,
        default=None,
        help="8-bit gray picture of per-block quality (0 → q 0, 255 → q 1), resized to the image; "
        "with --mask it sets the qualities inside each layer; --target-bpp shifts the whole map",
    )
    p.add_argument("--background-quality", type=_quality, default=0.25)
    p.add_argument(
        "--target-bpp",
        type=_bpp,
        default=None,
        help="largest qualities (keeping their difference) whose file is ≤ this many bpp",
    )
    p.add_argument(
        "--effort",
        choices=["fast", "default", "max"],
        default="default",
        help="fast: --mask auto skips the GrabCut refine; max: refine the latents at encode time "
        "(~30 gradient steps, same decoder and format)",
    )
    p.add_argument("--full-mask", action="store_true", help="also store the full-resolution mask")
    p.add_argument("--device", **dev)
    p.add_argument("--weights", type=Path, default=None)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a .obic file to PNG")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=output_arg, required=True)
    p.add_argument("--layer", choices=["all", "object", "background"], default="all")
    p.add_argument("--device", **dev)
    p.add_argument("--weights", type=Path, default=None)
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="show the layout of a .obic file")
    p.add_argument("input", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("extract", help="write a .obic holding a single layer")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=output_arg, required=True)
    p.add_argument("--layer", choices=["object", "background"], required=True)
    p.set_defaults(func=cmd_extract)
