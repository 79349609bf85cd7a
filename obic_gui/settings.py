"""Remembered settings (QSettings): recent files, folders, rate settings, view preferences.

A thin typed wrapper so that the rest of the app never spells a key twice and tests can
point everything at a throw-away INI file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from obic_gui.quality import DEFAULT_COMPARE, RateSettings

MAX_RECENT = 10


def _float(v, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings("OBIC", "OBIC Studio")

    @classmethod
    def at(cls, path: str | Path) -> AppSettings:
        """Settings stored in an INI file at ``path`` (tests, portable use)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    # -- files -----------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        v = self.q.value("files/recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in (v or []) if p]

    def add_recent(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.recent_files() if p != path]
        self.q.setValue("files/recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.q.setValue("files/recent", [])

    def last_dir(self, kind: str = "open") -> str:
        return str(self.q.value(f"files/last_dir_{kind}", str(Path.home())))

    def set_last_dir(self, path: str, kind: str = "open") -> None:
        p = Path(path)
        self.q.setValue(f"files/last_dir_{kind}", str(p if p.is_dir() else p.parent))

    # -- rate ------------------------------------------------------------------------------
    def rate_settings(self) -> RateSettings:
        q = self.q
        target = q.value("rate/target_bpp", None)
        codecs = q.value("rate/codecs", list(DEFAULT_COMPARE))
        if isinstance(codecs, str):
            codecs = [c for c in codecs.split(",") if c]
        return RateSettings(
            object_quality=_float(q.value("rate/object_quality", 0.75), 0.75),
            background_quality=_float(q.value("rate/background_quality", 0.25), 0.25),
            target_bpp=None if target in (None, "", "none") else _float(target, 0.25),
            device=str(q.value("rate/device", "auto")),
            codecs=tuple(codecs or ()),
            effort=str(q.value("rate/effort", "default")),
        )

    def save_rate_settings(self, s: RateSettings) -> None:
        q = self.q
        q.setValue("rate/object_quality", s.object_quality)
        q.setValue("rate/background_quality", s.background_quality)
        q.setValue("rate/target_bpp", "none" if s.target_bpp is None else s.target_bpp)
        q.setValue("rate/device", s.device)
        q.setValue("rate/codecs", ",".join(s.codecs))
        q.setValue("rate/effort", s.effort)

    # -- view ------------------------------------------------------------------------------
    def value(self, key: str, default):
        v = self.q.value(key, default)
        if isinstance(default, bool):
            return v in (True, "true", "1", 1)
        if isinstance(default, int):
            return int(_float(v, default))
        if isinstance(default, float):
            return _float(v, default)
        return v

    def set_value(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def geometry(self) -> tuple[QByteArray | None, QByteArray | None]:
        g, s = self.q.value("window/geometry"), self.q.value("window/state")
        return (g if isinstance(g, QByteArray) else None, s if isinstance(s, QByteArray) else None)

    def save_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def sync(self) -> None:
        self.q.sync()
