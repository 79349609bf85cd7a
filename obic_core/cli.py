"""The `obic` command: parses arguments, calls the public API, formats errors.

Each command group lives beside the code it drives and exposes ``register_cli(subparsers)``;
this module only assembles them and turns every documented error into one line on stderr
and exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from obic_core.errors import ObicError

#: modules that contribute sub-commands, in the order they appear in --help
COMMAND_MODULES = (
    "obic_core.codec_cli",  # encode, decode, info, extract
    "obic_core.segmentation.cli",  # segment
    "obic_core.compare",  # compare
    "obic_core.bench",  # bench
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obic", description="Object-based learned image coding (OBIC Studio command line)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    train = sub.add_parser("train", help="train the codec or the segmentation network", add_help=False)
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(func=_train)
    return parser


def _train(args: argparse.Namespace) -> int:
    from obic_core.train.__main__ import main as train_main

    return train_main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ObicError as exc:
        print(f"obic {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"obic {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
