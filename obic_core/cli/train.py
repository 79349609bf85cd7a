"""`obic train codec|seg ...`: the training entry point (:mod:`obic_core.train.__main__`) under `obic`.

Its arguments are parsed there, not here: ``python -m obic_core.train`` and torchrun reach the
same parser, and torch is imported only once a training command runs.
"""

from __future__ import annotations

import argparse


def register_cli(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train the codec or the segmentation network", add_help=False)
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from obic_core.train.__main__ import main as train_main

    return train_main(args.rest)
