"""`obic encode | decode | info | extract` — thin wrappers over :mod:`obic_core.codec`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from obic_core.errors import ObicFormatError, ObicInputError


def _read_obic(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ObicFormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def _quality(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("quality must be between 0 and 1")
    return v


def _out_folder_ok(path: Path) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise ObicInputError(f"output folder {parent} does not exist")


def resolve_mask(spec: str, image, path_for_messages: str = "image"):
    """--mask value -> bool mask or None (single layer). 'auto' predicts one."""
    import numpy as np

    from obic_core.imageio import read_mask

    if spec == "none":
        return None
    if spec == "auto":
        from obic_core.segmentation import predict_mask

        return np.asarray(predict_mask(image, "auto"), dtype=bool)
    return read_mask(spec, image.shape[:2])


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
        mask = resolve_mask(args.mask, image)
    if args.quality_map is not None:
        qmap = qm.read_quality_map(str(args.quality_map), shape)
    return mask, qmap, qualities[0]


def cmd_encode(args: argparse.Namespace) -> int:
    from obic_core import codec
    from obic_core.imageio import read_image, write_bytes_atomic

    _out_folder_ok(args.output)
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
    print(
        f"{args.output}: {lay.file_bytes} bytes, {lay.bpp:.4f} bpp "
        f"(object q={res.object_quality:.3f}, background q={res.background_quality:.3f}, {res.seconds:.2f} s)"
    )
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from obic_core import codec
    from obic_core.imageio import write_png

    _out_folder_ok(args.output)
    data = _read_obic(args.input)
    layers = codec.LAYER_NAMES if args.layer == "all" else (args.layer,)
    dec = codec.decode(data, layers, args.device, str(args.weights) if args.weights else None)
    if args.layer != "all" and args.layer not in dec.layers:
        raise ObicInputError(f"{args.input} has no {args.layer} layer to decode")
    write_png(args.output, dec.image, dec.alpha if args.layer != "all" else None)
    print(f"{args.output}: {dec.image.shape[1]}×{dec.image.shape[0]}, layers: {', '.join(dec.layers) or 'none'}")
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
    from obic_core.imageio import write_bytes_atomic

    _out_folder_ok(args.output)
    out = codec.extract(_read_obic(args.input), args.layer)
    write_bytes_atomic(args.output, out)
    print(f"{args.output}: {len(out)} bytes ({args.layer} layer only)")
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    dev = {"choices": ["auto", "cpu", "cuda"], "default": "auto"}
    p = sub.add_parser("encode", help="compress an image into a two-layer .obic file")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument(
        "--mask", default="auto", help="auto (predict the object), none (single layer) or a PNG (non-zero = object)"
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
        type=float,
        default=None,
        help="largest qualities (keeping their difference) whose file is ≤ this many bpp",
    )
    p.add_argument("--full-mask", action="store_true", help="also store the full-resolution mask")
    p.add_argument("--device", **dev)
    p.add_argument("--weights", type=Path, default=None)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a .obic file to PNG")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
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
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--layer", choices=["object", "background"], required=True)
    p.set_defaults(func=cmd_extract)
