"""`obic segment IMAGE -o MASK.png [--method auto|net|saliency|none] [--refine] [--rect X Y W H] [--clicks ...]`.

The segmentation code (OpenCV, and torch for the network) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from obic_core.cli.codec import output_arg
from obic_core.errors import ObicInputError


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="propose an object mask for an image (PNG, 255 = object)")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=output_arg, required=True, help="mask PNG to write")
    p.add_argument(
        "--method",
        choices=["auto", "net", "saliency", "none"],
        default="auto",
        help="auto = the best measured predictor available (default); none = start from an empty mask",
    )
    p.add_argument("--refine", action="store_true", help="snap the mask to object edges with GrabCut")
    p.add_argument(
        "--rect", type=int, nargs=4, metavar=("X", "Y", "W", "H"), help="skip prediction: GrabCut from this rectangle"
    )
    p.add_argument("--from-mask", type=Path, help="skip prediction: refine this mask PNG")
    p.add_argument("--weights", type=Path, help="DeepLab weights (default: the shipped ones)")
    p.add_argument(
        "--clicks",
        metavar='"X,Y,+ X,Y,-"',
        help="then correct the mask with clicks, in order: + object, - not object, ++ a new object region",
    )
    p.set_defaults(func=run)


def _is_stream(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from obic_core.imageio import check_output, read_image, read_mask, write_png
    from obic_core.segmentation.classic import refine_mask
    from obic_core.segmentation.interactive import click_segment, parse_clicks
    from obic_core.segmentation.predict import predict_mask

    if Path(args.output).suffix.lower() != ".png" and not _is_stream(args.output):
        raise ObicInputError(f"{args.output}: the mask is written as PNG; use a .png name")
    check_output(args.output, [args.image, args.from_mask, args.weights])
    clicks = parse_clicks(args.clicks) if args.clicks is not None else []
    image = read_image(args.image).pixels
    if args.rect:
        mask = refine_mask(image, rect=tuple(args.rect))
    elif args.from_mask:
        mask = refine_mask(image, read_mask(args.from_mask, image.shape[:2]))
    elif args.method == "none":
        mask = np.zeros(image.shape[:2], bool)
    else:
        mask = predict_mask(image, args.method, args.weights)
        if args.refine:
            mask = refine_mask(image, mask)
    if clicks:
        mask = click_segment(image, mask, clicks)
    out = np.where(mask, 255, 0).astype(np.uint8)
    write_png(args.output, out)  # 8-bit grayscale, 0 / 255
    print(f"{args.output}: {mask.mean() * 100:.1f} % object", file=sys.stderr)
    return 0
