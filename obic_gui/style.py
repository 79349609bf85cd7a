"""Look and feel: a dark Fusion palette (photos read best on neutral dark grey) and icons.

Kept in one place so that tests, snapshots and the real app look the same on every platform
(the native styles differ a lot, and offscreen rendering has none).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
ACCENT = QColor(74, 144, 226)

STYLE_SHEET = """
QToolTip { color: #e8eaee; background: #2b2e35; border: 1px solid #4a4f59; padding: 4px; }
QDockWidget::title { padding: 6px 8px; background: #2b2e35; font-weight: bold; }
QGroupBox { border: 1px solid #3d424b; border-radius: 6px; margin-top: 1.4em; padding: 8px 6px 6px 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #c9ced8; font-weight: bold; }
QPushButton#primary { background: #3d7bd0; color: white; font-weight: bold; border-radius: 5px;
                      padding: 7px 14px; border: 1px solid #2f67b3; }
QPushButton#primary:hover { background: #4a8ae0; }
QPushButton#primary:disabled { background: #39404b; color: #8a909a; border-color: #39404b; }
QLabel#caption { background: #1d1f24; color: #e3e6eb; padding: 5px 8px; border-top: 1px solid #3a3f48; }
QLabel#hint { color: #aab1bc; }
QLabel#warning { background: #5a4413; color: #ffe7a8; padding: 6px 10px; border-radius: 4px; }
QLabel#metric { color: #e3e6eb; }
QTabBar::tab { padding: 7px 16px; }
QToolButton:checked { background: #3d7bd0; color: white; border: 1px solid #2f67b3; border-radius: 4px; }
QProgressBar { border: 1px solid #3d424b; border-radius: 4px; text-align: center; height: 18px; }
QProgressBar::chunk { background: #3d7bd0; border-radius: 3px; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    window, base, text = QColor(43, 46, 53), QColor(30, 32, 37), QColor(226, 229, 234)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(38, 41, 47))
    p.setColor(QPalette.ColorRole.ToolTipBase, window)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(52, 56, 64))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, ACCENT.lighter(130))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 146, 156))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 126, 136))
    app.setPalette(p)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)


@cache
def icon(name: str) -> QIcon:
    """Icon ``resources/icons/<name>.svg`` (an empty icon if the file is missing)."""
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
