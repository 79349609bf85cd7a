"""Shared constants of the GUI tests (importable from test modules, unlike conftest)."""

#: generous guard against a hang in waitSignal — not a performance limit
WAIT_MS = 600_000
