"""Images for administrators, drawn outside the core: QR codes and charts.

``Pictures`` implements the core's ``bot.core.admin.ports.Pictures`` port; the channels' wiring
(``bot.app``, ``bot.preview``, ``bot.cli``) hands one to the administrators' desk.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.admin.ports import BarSeries
from bot.pictures.qr import qr_png


class Pictures:
    """QR codes (segno) and bar charts (matplotlib, imported on the first chart: it is slow)."""

    def qr_png(self, link: str) -> bytes:
        """A join link as a QR code (PNG)."""
        return qr_png(link)

    def topic_chart(
        self,
        *,
        title: str,
        categories: Sequence[str],
        series: Sequence[BarSeries],
        hidden_label: str,
        axis_label: str,
    ) -> bytes:
        """Shares per topic as grouped horizontal bars (PNG)."""
        from bot.pictures.charts import topic_chart

        return topic_chart(
            title=title,
            categories=categories,
            series=series,
            hidden_label=hidden_label,
            axis_label=axis_label,
        )


__all__ = ["Pictures"]
