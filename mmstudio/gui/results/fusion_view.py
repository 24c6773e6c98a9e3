"""The fusion layer's attention over every token it was fed, grouped by modality."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import MODALITY_COLORS, style_plot
from mmstudio.result import Analysis


class FusionAttentionView(QWidget):
    """Hidden unless the model reports token-level fusion attention."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(
            "<b>Fusion attention</b> <span style='color:gray'>· the fusion query's "
            "attention over every token, grouped by modality</span>"
        )
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("fusionAttentionPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(90)
        self.plot.getPlotItem().setLabel("left", "attention")
        # Attention weights are read as plain fractions; "(x0.01)" on the axis only confuses.
        self.plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        style_plot(self.plot, self)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.9)
        self.plot.addItem(self.bars)
        self.shares: dict[str, float] = {}  # modality -> attention mass, in display order
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        self.setVisible(False)

    def show_analysis(self, analysis: Analysis) -> None:
        attention = analysis.fusion_attention
        groups = analysis.fusion_attention_modalities
        if attention is None or len(attention) == 0 or len(groups) != len(attention):
            self.clear()
            return
        attention = np.asarray(attention, dtype=np.float32)
        brushes = [pg.mkBrush(MODALITY_COLORS.get(m, "#888888")) for m in groups]
        self.bars.setOpts(x=np.arange(len(attention)), height=attention, width=0.9, brushes=brushes)
        ticks, self.shares = [], {}
        for modality in dict.fromkeys(groups):
            where = [i for i, m in enumerate(groups) if m == modality]
            self.shares[modality] = float(attention[where].sum())
            ticks.append((float(np.mean(where)), f"{modality} ({self.shares[modality]:.0%})"))
        self.plot.getPlotItem().getAxis("bottom").setTicks([ticks])
        self.plot.getPlotItem().autoRange()
        self.setVisible(True)

    def clear(self) -> None:
        self.shares = {}
        self.bars.setOpts(x=[], height=[], width=0.9)
        self.setVisible(False)
