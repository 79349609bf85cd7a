"""The rate panel: what to encode at (qualities or a target bitrate), where, compared with what.

Each quality slider shows the loss weight it selects, a(q) = 512^(1−q): the number a
researcher reasons with, next to the 0–1 quality a photographer moves.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from obic_core.rules import ALL_CODECS
from obic_gui.quality import DEFAULT_COMPARE, RateSettings, codec_label, effective_lambda, rate_weight
from obic_gui.style import icon
from obic_gui.widgets.effort_control import EffortControl
from obic_gui.widgets.sliders import QSlider01

#: what OBIC can be compared with: core's codec list, less OBIC itself
COMPARABLE = tuple(c for c in ALL_CODECS if c != "obic")
DEVICE_LABELS = {"auto": "Auto (GPU when available)", "cpu": "CPU", "cuda": "CUDA GPU"}


class QualitySlider(QSlider01):
    """A quality slider with the rate weight a(q) and λ it selects written beneath it."""

    def __init__(self, title: str, q: float, parent: QWidget | None = None) -> None:
        self.weight = QLabel()  # before the base class shows the first value
        self.weight.setObjectName("hint")
        super().__init__(title, q, parent)
        grid = self.layout()
        grid.setVerticalSpacing(2)
        grid.addWidget(self.weight, 2, 0, 1, 2)

    def _show(self, v: int) -> None:
        super()._show(v)
        q = v / 100.0
        self.weight.setText(f"rate weight a = 512^(1−q) = {rate_weight(q):.2f}   (λ ≈ {effective_lambda(q):.1f})")


class RatePanel(QWidget):
    encode_requested = Signal()
    cancel_requested = Signal()
    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(10)

        rate = QGroupBox("Rate")
        rl = QVBoxLayout(rate)
        modes = QHBoxLayout()
        self.by_quality = QRadioButton("Qualities")
        self.by_target = QRadioButton("Target bitrate")
        self._mode = QButtonGroup(self)
        self._mode.addButton(self.by_quality)
        self._mode.addButton(self.by_target)
        self.by_quality.setChecked(True)
        modes.addWidget(self.by_quality)
        modes.addWidget(self.by_target)
        modes.addStretch(1)
        rl.addLayout(modes)
        self.object_q = QualitySlider("Object quality", 0.75)
        self.background_q = QualitySlider("Background quality", 0.25)
        rl.addWidget(self.object_q)
        rl.addWidget(self.background_q)
        self.effort = EffortControl()  # fast / default / max (issue 15)
        rl.addWidget(self.effort)
        target_row = QHBoxLayout()
        self.target_label = QLabel("Target")
        self.target = QDoubleSpinBox()
        self.target.setRange(0.01, 8.0)
        self.target.setDecimals(3)
        self.target.setSingleStep(0.025)
        self.target.setValue(0.25)
        self.target.setSuffix(" bpp")
        target_row.addWidget(self.target_label)
        target_row.addWidget(self.target, 1)
        rl.addLayout(target_row)
        self.target_hint = QLabel(
            "Target mode keeps the object − background quality gap and finds the largest file within the target."
        )
        self.target_hint.setObjectName("hint")
        self.target_hint.setWordWrap(True)
        rl.addWidget(self.target_hint)
        # what the last encode really used: in target mode the codec moves both qualities
        # (keeping their gap), so the sliders alone would tell the wrong story
        self.used = QLabel("")
        self.used.setWordWrap(True)
        self.used.setTextFormat(Qt.TextFormat.RichText)
        self.used.hide()
        rl.addWidget(self.used)
        lay.addWidget(rate)

        dev = QGroupBox("Device")
        dl = QHBoxLayout(dev)
        self.device = QComboBox()
        self.set_devices(["cpu"])
        dl.addWidget(self.device, 1)
        lay.addWidget(dev)

        cmp_box = QGroupBox("Compare with (same bitrate)")
        cg = QGridLayout(cmp_box)
        self.codec_boxes: dict[str, QCheckBox] = {}
        for i, name in enumerate(COMPARABLE):
            box = QCheckBox(codec_label(name))
            box.setChecked(name in DEFAULT_COMPARE)
            box.toggled.connect(self.settings_changed)
            self.codec_boxes[name] = box
            cg.addWidget(box, i // 2, i % 2)
        lay.addWidget(cmp_box)

        self.problem = QLabel()
        self.problem.setObjectName("warning")
        self.problem.setWordWrap(True)
        self.problem.hide()
        lay.addWidget(self.problem)

        run = QGroupBox("Encode")
        ul = QVBoxLayout(run)
        buttons = QHBoxLayout()
        self.encode_button = QPushButton(icon("encode"), "  Encode && compare")
        self.encode_button.setObjectName("primary")
        self.encode_button.setToolTip("Encode with OBIC and every chosen codec at the same bitrate (Ctrl+Return)")
        self.cancel_button = QPushButton(icon("cancel"), " Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.encode_button, 1)
        buttons.addWidget(self.cancel_button)
        ul.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        ul.addWidget(self.progress)
        self.stage = QLabel("Ready")
        self.stage.setObjectName("hint")
        self.stage.setWordWrap(True)
        ul.addWidget(self.stage)
        self.stale = QLabel(
            "The mask changed since this encode: the results below are for the old mask. Encode again to update them."
        )
        self.stale.setObjectName("warning")
        self.stale.setWordWrap(True)
        self.stale.hide()
        ul.addWidget(self.stale)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        ul.addWidget(self.summary)
        lay.addWidget(run)
        lay.addStretch(1)

        self.encode_button.clicked.connect(self.encode_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self._mode.buttonToggled.connect(self._update_mode)
        for w in (self.object_q, self.background_q):
            w.changed.connect(self.settings_changed)
        self.target.valueChanged.connect(self.settings_changed)
        self.device.currentIndexChanged.connect(self.settings_changed)
        self.effort.changed.connect(self.settings_changed)
        self._update_mode()

    # -- settings --------------------------------------------------------------------------
    def _update_mode(self, *args) -> None:
        target = self.by_target.isChecked()
        for w in (self.target, self.target_label, self.target_hint):
            w.setVisible(target)
        self.settings_changed.emit()

    def settings(self) -> RateSettings:
        return RateSettings(
            object_quality=self.object_q.quality(),
            background_quality=self.background_q.quality(),
            target_bpp=self.target.value() if self.by_target.isChecked() else None,
            device=self.device.currentData() or "auto",
            codecs=tuple(n for n, b in self.codec_boxes.items() if b.isChecked()),
            effort=self.effort.value(),
        )

    def set_settings(self, s: RateSettings) -> None:
        self.object_q.set_quality(s.object_quality)
        self.background_q.set_quality(s.background_quality)
        if s.target_bpp is not None:
            self.target.setValue(s.target_bpp)
        (self.by_target if s.target_bpp is not None else self.by_quality).setChecked(True)
        i = self.device.findData(s.device)
        if i >= 0:
            self.device.setCurrentIndex(i)
        for name, box in self.codec_boxes.items():
            box.setChecked(name in s.codecs)
        self.effort.set_value(s.effort)

    def set_devices(self, devices: list[str]) -> None:
        current = self.device.currentData() or "auto"
        self.device.blockSignals(True)
        self.device.clear()
        for key in ["auto", *[d for d in devices if d != "auto"]]:
            self.device.addItem(DEVICE_LABELS.get(key, key), key)
        self.device.setCurrentIndex(max(0, self.device.findData(current)))
        self.device.blockSignals(False)

    def set_available_codecs(self, codecs: list[str]) -> None:
        for name, box in self.codec_boxes.items():
            ok = name in codecs
            box.setEnabled(ok)
            box.setToolTip("" if ok else "not available on this machine")

    def set_problem(self, text: str | None) -> None:
        self.problem.setText(text or "")
        self.problem.setVisible(bool(text))

    # -- job state -------------------------------------------------------------------------
    def set_running(self, running: bool, can_encode: bool = True) -> None:
        """Encode is disabled while a codec job runs: a second click never starts a second job."""
        self.encode_button.setEnabled(can_encode and not running)
        self.cancel_button.setEnabled(running)
        if not running:
            self.progress.setValue(0)

    def set_progress(self, stage: str, fraction: float) -> None:
        self.progress.setValue(round(fraction * 1000))
        self.stage.setText(stage)

    def set_stage(self, text: str) -> None:
        self.stage.setText(text)

    def set_summary(self, html: str) -> None:
        self.summary.setText(html)

    def set_stale(self, stale: bool) -> None:
        """Results no longer match the mask (shown on every tab: this dock is always there)."""
        self.stale.setVisible(stale and bool(self.summary.text()))

    def set_used_qualities(
        self, object_quality: float | None, background_quality: float | None, target_bpp: float | None = None
    ) -> None:
        """Show the qualities the last encode really used (None: no encode)."""
        if object_quality is None or background_quality is None:
            self.used.setText("")
            self.used.hide()
            return
        text = f"Last encode used object <b>{object_quality:.2f}</b> · background <b>{background_quality:.2f}</b>"
        if target_bpp is not None:
            text += (
                f"<br><span style='color:#aab1bc'>found for the {target_bpp:.3f} bpp target; "
                "the sliders set only the gap between the two</span>"
            )
        self.used.setText(text)
        self.used.show()

    def reset(self) -> None:
        """A new document: nothing of the previous one's encode stays on screen."""
        self.set_stage("Ready")
        self.set_summary("")
        self.set_stale(False)
        self.set_used_qualities(None, None)
        self.progress.setValue(0)
