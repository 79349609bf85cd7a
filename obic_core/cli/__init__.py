"""The `obic` command: parses arguments, calls the public API, formats errors.

One home for the command line: each command group is a module of this package that exposes
``register_cli(subparsers)`` (:mod:`.codec`: encode, decode, info, extract; :mod:`.segment`;
:mod:`.evaluate`: compare, bench; :mod:`.train`). Those modules import only argparse and
torch-free rules at module level; the library a command drives is imported inside its handler,
so building the parser (``obic --help``) and ``obic info`` never import torch, OpenCV or the
evaluation code. This module assembles them and turns every documented error into one line on
stderr and exit status 2 (never a traceback): bad arguments, :class:`~obic_core.errors.ObicError`
(bad input, unwritable output, damaged file, missing weights) and running out of memory.
Ctrl-C at any moment once this module runs — even while torch or numpy is still being
imported — prints one line and exits with status 130.
"""

from __future__ import annotations

import sys


def _quiet_interrupt_hook(exc_type, exc, tb) -> None:
    """Until main() has its own handler: a Ctrl-C during the imports below prints one line."""
    if issubclass(exc_type, KeyboardInterrupt):
        print("obic: interrupted", file=sys.stderr)
        return
    sys.__excepthook__(exc_type, exc, tb)


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _quiet_interrupt_hook

import argparse  # noqa: E402 (after the hook: a Ctrl-C while importing must not print a traceback)
import importlib  # noqa: E402
import signal  # noqa: E402

from obic_core.errors import ObicError, is_out_of_memory  # noqa: E402

#: modules that contribute sub-commands, in the order they appear in --help
COMMAND_MODULES = (
    "obic_core.cli.codec",  # encode, decode, info, extract
    "obic_core.cli.segment",  # segment
    "obic_core.cli.evaluate",  # compare, bench
    "obic_core.cli.train",  # train (hands its arguments to python -m obic_core.train)
)


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage block before an error; the CLI promises one line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="obic", description="Object-based learned image coding (OBIC Studio command line).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


class _Interrupts:
    """SIGINT handler that remembers it fired: a Ctrl-C in the middle of a library's import
    (numpy turns it into an ImportError) is still reported as an interruption."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, signum, frame):
        self.fired = True
        raise KeyboardInterrupt

    def install(self) -> None:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # SIGINT ignored (a background job) or handled by the caller: leave it so
        try:
            signal.signal(signal.SIGINT, self)
        except ValueError:  # not the main thread (main() called from a worker): keep the default
            pass


def _one_line(text: object) -> str:
    """An error message on one line (a traceback-free stderr line, even for multi-line messages)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip()) or "unknown error"


def main(argv: list[str] | None = None) -> int:
    interrupts = _Interrupts()
    previous = signal.getsignal(signal.SIGINT)
    interrupts.install()
    command = "obic"
    try:
        args = build_parser().parse_args(argv)
        command = f"obic {args.command}"
        return int(args.func(args) or 0)
    except ObicError as exc:
        print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _ignore_further_interrupts()
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if interrupts.fired:
            _ignore_further_interrupts()
            print(f"{command}: interrupted", file=sys.stderr)
            return 130
        if is_out_of_memory(exc):
            print(
                f"{command}: error: out of memory ({_one_line(exc)[:160]}); try a smaller image, "
                f"or lower OBIC_MAX_PIXELS to refuse such inputs up front",
                file=sys.stderr,
            )
            return 2
        raise
    finally:
        if signal.getsignal(signal.SIGINT) in (interrupts, signal.SIG_IGN) and previous is not None:
            try:
                signal.signal(signal.SIGINT, previous)
            except (ValueError, TypeError):  # not the main thread, or a handler set from C
                pass


def _ignore_further_interrupts() -> None:
    """A second Ctrl-C while the one-line message is printed must not add a traceback."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        pass
