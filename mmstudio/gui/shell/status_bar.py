"""The window's status bar: a busy indicator, the model, the device and the last latency."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class StudioStatusBar:
    """The permanent widgets of the window's QStatusBar, and what they say."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.progress = QProgressBar()
        self.progress.setObjectName("busyProgress")
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.model_label = QLabel("Model: loading…")
        self.model_label.setObjectName("modelStatus")
        self.device_label = QLabel("Device: —")
        self.device_label.setObjectName("deviceStatus")
        self.latency_label = QLabel("Latency: —")
        self.latency_label.setObjectName("latencyStatus")
        for widget in (self.progress, self.model_label, self.device_label, self.latency_label):
            bar.addPermanentWidget(widget)

    def set_busy(self, busy: bool) -> None:
        if busy:
            self.progress.setRange(0, 0)  # indeterminate until the worker reports progress
            self.progress.show()
        else:
            self.progress.hide()

    def show_progress(self, message: str, fraction: float) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(round(fraction * 100))
        self.bar.showMessage(message, 4000)

    def show_model(self, info) -> None:
        self.model_label.setText(f"Model: {info.name}")
        kind = (
            "generates answers"
            if getattr(info, "generates", False)
            else f"{len(info.labels)} labels"
        )
        self.model_label.setToolTip(
            f"{info.source}\n{info.parameters:,} parameters · {kind} · "
            f"loaded in {info.load_seconds:.1f} s"
        )
        # The dtype the model computes in; the weights' own only where autocast makes them differ.
        weights = info.weights_precision
        stored = f" (weights {weights})" if weights and weights != info.precision else ""
        self.device_label.setText(f"Device: {info.device} · {info.precision}{stored}")
        self.device_label.setToolTip(f"The model computes in {info.precision}{stored}")

    def show_latency(self, elapsed_ms: float, timings_ms: dict[str, float]) -> None:
        compute = timings_ms.get("total", elapsed_ms)
        self.latency_label.setText(f"Latency: {elapsed_ms:.0f} ms")
        stages = ", ".join(f"{k} {v:.0f} ms" for k, v in timings_ms.items() if k != "total")
        self.latency_label.setToolTip(
            f"Request to result {elapsed_ms:.0f} ms; model {compute:.0f} ms ({stages})"
        )
