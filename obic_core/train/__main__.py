"""`python -m obic_core.train codec|seg ...` — also reachable as `obic train ...` and via torchrun."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="obic train", description="train the codec or the segmenter")
    sub = p.add_subparsers(dest="what", required=True)
    from obic_core.train import codec_loop, seg_loop

    c = sub.add_parser("codec", help="train the LearntOBIC codec")
    codec_loop.add_arguments(c)
    c.set_defaults(func=codec_loop.run)
    s = sub.add_parser("seg", help="train the DeepLab segmentation network")
    seg_loop.add_arguments(s)
    s.set_defaults(func=seg_loop.run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
