"""Charts for administrators, rendered to PNG bytes for sending as a Telegram photo.

Every text on a chart comes from the caller (the UI catalogue); this module only lays it out.
Rendering uses matplotlib's object-oriented API with the Agg canvas and never touches pyplot, so
no global figure state builds up and calls are safe from a worker thread.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from bot.core.admin.ports import BarSeries

log = logging.getLogger(__name__)
_WARNINGS_LOCK = threading.Lock()

# Fonts with Chinese glyphs, best first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
# File name stems of those fonts, for finding one installed after matplotlib cached its list.
_CJK_FILES = (
    "notosanscjk",
    "notosanssc",
    "wqy-microhei",
    "wqy-zenhei",
    "sourcehansans",
    "droidsansfallback",
    "uming",
)
_CJK = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)
# Chinese punctuation that must not start a wrapped line.
_NO_LINE_START = set("，。、：；！？）》」』”’%％")

# 1080 px wide: Telegram shows a photo at full screen width, so 6 in at 180 dpi puts 14 pt text
# at about 35 px, which reads like body text on a phone.
DPI = 180
WIDTH_IN = 6.0
TITLE_PT = 16
LABEL_PT = 14
VALUE_PT = 12
# A topic title wraps at this many units (a CJK character counts 2, anything else 1), so a
# 15-character Chinese title takes two lines and the bars keep most of the width.
WRAP_UNITS = 16
# The title starts above the bars, right of the topic titles, so it gets the remaining width.
TITLE_WRAP_UNITS = 28
BAR_IN = 0.30
GROUP_GAP_IN = 0.40
LINE_IN = 0.27
# Title above and axis label plus legend below.
FRAME_IN = 1.9
# Okabe-Ito colours: distinguishable with colour-blindness and in greyscale.
COLOURS = ("#0072B2", "#E69F00", "#009E73")
HIDDEN_COLOUR = "#555555"
# Above this share the value is written inside the bar's end, as the axis stops at 100%.
INSIDE_FROM = 0.88


@functools.cache
def cjk_font() -> str | None:
    """Return the name of an installed font with Chinese glyphs, or None if there is none."""
    found = _first_known_font()
    if found is None:
        # matplotlib keeps its font list in a cache file that is not refreshed when a font is
        # installed later, so look for the font files themselves.
        for path in font_manager.findSystemFonts():
            if any(stem in Path(path).name.lower() for stem in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError):
                    continue  # An unreadable file is no reason to give up on the others.
        found = _first_known_font()
    return found


def _first_known_font() -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def has_cjk(text: str) -> bool:
    """Whether the text holds a CJK character."""
    return _CJK.search(text) is not None


def wrap_label(text: str, units: int = WRAP_UNITS) -> str:
    """Break a label into lines of about *units* width; CJK text may break between characters."""
    lines: list[str] = []
    line, width = "", 0
    for token in _tokens(text, units):
        if token.isspace():
            if line:
                line, width = line + " ", width + 1
            continue
        size = sum(2 if has_cjk(char) else 1 for char in token)
        if line and width + size > units and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, width = "", 0
        line, width = line + token, width + size
    lines.append(line.rstrip())
    return "\n".join(lines)


def _tokens(text: str, units: int) -> Iterator[str]:
    """Split into spaces, words of at most *units* characters, and single CJK characters."""
    run = ""
    for char in text:
        # A word wider than a line (a web address, say) is cut, so that the plot keeps its width.
        if run and (has_cjk(char) or char.isspace() != run[-1].isspace() or len(run) >= units):
            yield run
            run = ""
        if has_cjk(char):
            yield char
        else:
            run += char
    if run:
        yield run


def percent_label(value: float) -> str:
    """A share as a whole percentage, rounded half up like the text statistics ("13%" for 1/8)."""
    # Rounding to 6 places first removes float noise: 29/200 * 100 is 14.499999999999998.
    return f"{math.floor(round(value * 100, 6) + 0.5)}%"


def _check(categories: Sequence[str], series: Sequence[BarSeries]) -> None:
    if not 1 <= len(series) <= len(COLOURS):
        raise ValueError(f"a chart takes 1 to {len(COLOURS)} series, not {len(series)}")
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(f"{len(one.values)} values for {len(categories)} categories")
        for value in one.values:
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"a share must lie in 0..1, not {value}")


def build_figure(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    hidden_label: str,
    axis_label: str,
    font: str | None,
) -> Figure:
    """Lay out the grouped horizontal bar chart; *font* is the family for all texts."""
    _check(categories, series)
    labels = [wrap_label(category) for category in categories]
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    group_in = max(len(series) * BAR_IN, lines * LINE_IN) + GROUP_GAP_IN
    height_in = FRAME_IN + max(len(categories), 1) * group_in
    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    # A CJK font first, the default sans-serif after it for any glyph it lacks.
    family = [font, "sans-serif"] if font else ["sans-serif"]

    def props(size: float) -> FontProperties:
        return FontProperties(family=family, size=size)

    ax = figure.add_subplot()
    # Groups are one unit apart and group_in tall, so a bar keeps its thickness whatever the
    # labels' height, and any spare height goes into the gap between groups.
    bar = BAR_IN / group_in
    for index, one in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * bar
        positions = [group + offset for group in range(len(categories))]
        widths = [0.0 if value is None else value * 100 for value in one.values]
        ax.barh(positions, widths, height=bar, color=COLOURS[index], label=one.label)
        for position, value in zip(positions, one.values, strict=True):
            if value is None:
                ax.text(
                    1,
                    position,
                    hidden_label,
                    va="center",
                    ha="left",
                    color=HIDDEN_COLOUR,
                    fontproperties=props(VALUE_PT),
                    parse_math=False,
                )
            elif value >= INSIDE_FROM:
                ax.text(
                    value * 100 - 1,
                    position,
                    percent_label(value),
                    va="center",
                    ha="right",
                    color="white",
                    fontproperties=props(VALUE_PT),
                )
            else:
                ax.text(
                    value * 100 + 1,
                    position,
                    percent_label(value),
                    va="center",
                    ha="left",
                    fontproperties=props(VALUE_PT),
                )

    ax.set_xlim(0, 100)
    ax.set_ylim(max(len(categories), 1) - 0.5, -0.5)  # First category on top.
    ticks = list(range(0, 101, 25))
    ax.set_xticks(ticks, [f"{tick}%" for tick in ticks], fontproperties=props(LABEL_PT))
    ax.set_yticks(range(len(categories)), labels, fontproperties=props(LABEL_PT), parse_math=False)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.grid(True, color="#dddddd")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(axis_label, fontproperties=props(LABEL_PT), parse_math=False)
    # Texts are literal: a cohort name such as "$5 $10" in the title must not be read as
    # mathtext (which shows something else, or fails to render at all).
    ax.set_title(
        wrap_label(title, TITLE_WRAP_UNITS),
        fontproperties=props(TITLE_PT),
        loc="left",
        parse_math=False,
    )
    legend = figure.legend(
        loc="outside lower center", ncols=len(series), frameon=False, prop=props(LABEL_PT)
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    return figure


def topic_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    hidden_label: str,
    axis_label: str,
) -> bytes:
    """Render shares per topic as grouped horizontal bars and return a PNG image."""
    font = cjk_font()
    texts = [title, hidden_label, axis_label, *categories, *(one.label for one in series)]
    figure = build_figure(
        title=title,
        categories=categories,
        series=series,
        hidden_label=hidden_label,
        axis_label=axis_label,
        font=font,
    )
    buffer = io.BytesIO()
    with _missing_glyphs_allowed(font is None and any(has_cjk(text) for text in texts)):
        FigureCanvasAgg(figure)  # Attaches itself to the figure: savefig draws with Agg.
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


@contextmanager
def _missing_glyphs_allowed(allowed: bool) -> Iterator[None]:
    """Let a chart without a CJK font render with empty boxes rather than warn or fail."""
    if not allowed:
        yield
        return
    log.warning("no font with CJK glyphs is installed; Chinese chart labels will show as boxes")
    # catch_warnings swaps the process-wide filter list and puts it back on exit, so two threads
    # inside it at once could restore each other's filters; the lock keeps them in turn.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning
        )
        yield


__all__ = [
    "CJK_FONTS",
    "BarSeries",
    "build_figure",
    "cjk_font",
    "has_cjk",
    "percent_label",
    "topic_chart",
    "wrap_label",
]
