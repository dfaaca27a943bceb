"""Chart rendering: the PNG's size, the texts placed on the figure, and the CJK font handling.

The test run turns every warning into an error, so a chart that renders here also renders
without matplotlib's "Glyph ... missing from font" warnings.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import warnings

import pytest
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.core.admin.ports import BarSeries
from bot.pictures import charts
from bot.pictures.charts import build_figure, cjk_font, percent_label, topic_chart, wrap_label

TOPICS_ZH = [
    "手机支付安全",
    "识别电信诈骗与虚假投资平台骗局",
    "网上银行",
    "二维码",
    "个人信息保护",
    "养老金领取",
    "数字人民币",
    "理财产品风险提示",
    "密码与验证码",
    "网购退款",
    "社保卡",
]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always comes first after the signature."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind, width, height = struct.unpack(">I4sII", png[8:24])
    assert (length, kind) == (13, b"IHDR")
    return width, height


def chart(
    categories: list[str], series: list[BarSeries], title: str = "Mastery per topic"
) -> bytes:
    return topic_chart(
        title=title,
        categories=categories,
        series=series,
        hidden_label="<5",
        axis_label="% of residents",
    )


def figure(categories: list[str], series: list[BarSeries], font: str | None = None) -> Figure:
    return build_figure(
        title="Mastery per topic",
        categories=categories,
        series=series,
        hidden_label="<5",
        axis_label="% of residents",
        font=font,
    )


def only_axes(fig: Figure) -> Axes:
    [ax] = fig.axes
    return ax


def full(values: list[float | None], times: int) -> list[float | None]:
    return (values * times)[:times]


def test_png_is_1080_px_wide_and_grows_with_the_categories() -> None:
    small = chart(["Payments", "Scams", "Banking"], [BarSeries("First try", [0.73, None, 1.0])])
    large = chart(
        [f"Topic {n}" for n in range(11)],
        [BarSeries(name, full([0.2, 0.5, None, 0.9], 11)) for name in ("A", "B", "C")],
    )

    small_width, small_height = png_size(small)
    large_width, large_height = png_size(large)
    assert small_width == large_width == 1080
    assert large_height > 2 * small_height
    # Telegram refuses photos whose sides add up to more than 10000 px or exceed 20:1.
    assert large_width + large_height <= 10000
    assert large_height <= 20 * large_width


def test_bars_are_labelled_and_withheld_values_show_the_hidden_label() -> None:
    fig = figure(
        ["Payments", "Scams", "Banking"],
        [BarSeries("First try", [0.73, None, 1.0]), BarSeries("Mastered", [0.0, 0.125, None])],
    )

    texts = [text.get_text() for text in only_axes(fig).texts]
    assert sorted(texts) == sorted(["73%", "<5", "100%", "0%", "13%", "<5"])


def test_categories_run_top_to_bottom_and_the_legend_follows_the_series() -> None:
    fig = figure(
        ["Payments", "Scams"],
        [BarSeries("First try", [0.5, 0.5]), BarSeries("Mastered", [0.25, 0.25])],
    )

    ax = only_axes(fig)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["Payments", "Scams"]
    bottom, top = ax.get_ylim()
    assert bottom > top  # The first category is at the top.
    assert ax.get_xlim() == (0, 100)
    [legend] = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == ["First try", "Mastered"]


@pytest.mark.parametrize(
    ("share", "label"),
    [(0.0, "0%"), (0.005, "1%"), (0.125, "13%"), (29 / 200, "15%"), (2 / 3, "67%"), (1.0, "100%")],
)
def test_percent_labels_round_half_up_like_the_text_statistics(share: float, label: str) -> None:
    assert percent_label(share) == label


def test_long_labels_wrap_without_losing_characters() -> None:
    chinese = "识别电信诈骗与虚假投资平台骗局"  # 15 characters.
    assert wrap_label(chinese) == "识别电信诈骗与虚\n假投资平台骗局"
    assert wrap_label("手机支付安全") == "手机支付安全"
    assert wrap_label("Recognising phone scams and fake investment platforms") == (
        "Recognising\nphone scams and\nfake investment\nplatforms"
    )
    assert wrap_label("x" * 40) == "x" * 16 + "\n" + "x" * 16 + "\n" + "x" * 8
    # Closing punctuation stays on the line it closes.
    assert (
        wrap_label("手机支付是否安全可靠呢？") == "手机支付是否安全可靠呢？"[:8] + "\n" + "可靠呢？"
    )


@pytest.mark.parametrize(
    "series",
    [
        [],
        [BarSeries(name, [0.5]) for name in "ABCD"],
        [BarSeries("A", [0.5, 0.5])],
        [BarSeries("A", [1.5])],
    ],
)
def test_malformed_input_is_refused(series: list[BarSeries]) -> None:
    with pytest.raises(ValueError):
        chart(["Payments"], series)


def test_chinese_renders_in_the_cjk_font_without_warnings() -> None:
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (CI installs fonts-wqy-microhei)")
    series = [BarSeries(name, full([0.73, None, 0.31], 11)) for name in ("首次答对", "复习后答对")]

    fig = build_figure(
        title="各主题掌握情况",
        categories=TOPICS_ZH,
        series=series,
        hidden_label="<5",
        axis_label="答对的比例 %",
        font=font,
    )
    texts = [text for text in fig.findobj(Text) if text.get_text()]
    assert {text.get_text() for text in texts} >= {"各主题掌握情况", "首次答对", *TOPICS_ZH[:1]}
    assert {text.get_fontfamily()[0] for text in texts} == {font}

    png = topic_chart(
        title="各主题掌握情况（全部居民）",
        categories=TOPICS_ZH,
        series=series,
        hidden_label="<5",
        axis_label="答对的比例 %",
    )
    assert png_size(png)[0] == 1080


def test_cjk_font_is_found_from_its_file_when_matplotlib_cached_an_older_font_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (CI installs fonts-wqy-microhei)")
    stale = [
        entry for entry in font_manager.fontManager.ttflist if entry.name not in charts.CJK_FONTS
    ]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)

    assert charts.cjk_font.__wrapped__() == font


def test_without_a_cjk_font_chinese_still_renders_and_one_warning_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    filters = list(warnings.filters)

    with caplog.at_level(logging.WARNING, logger="bot.pictures.charts"):
        png = topic_chart(
            title="各主题掌握情况",
            categories=TOPICS_ZH[:3],
            series=[BarSeries("首次答对", [0.73, None, 0.5])],
            hidden_label="<5",
            axis_label="答对的比例 %",
        )

    assert png_size(png)[0] == 1080
    [record] = [r for r in caplog.records if r.name == "bot.pictures.charts"]
    assert record.levelno == logging.WARNING
    assert not charts.has_cjk(record.getMessage())  # No label text goes into the log.
    assert warnings.filters == filters  # Suppression ended with the rendering.


def test_without_a_cjk_font_latin_text_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)

    with caplog.at_level(logging.WARNING, logger="bot.pictures.charts"):
        chart(["Payments"], [BarSeries("First try", [0.73])])

    assert [r for r in caplog.records if r.name == "bot.pictures.charts"] == []


async def test_renders_in_a_worker_thread() -> None:
    series = [BarSeries(name, full([0.73, None, 0.31, 1.0], 11)) for name in ("A", "B", "C")]

    pngs = await asyncio.gather(
        *(asyncio.to_thread(chart, TOPICS_ZH, series, "各主题掌握情况") for _ in range(3))
    )

    assert len({png_size(png) for png in pngs}) == 1


@pytest.mark.parametrize("title", ["Cohort $5 to $10", r"Bad $\frac{ name", "$x^2$"])
def test_dollar_signs_are_literal_text_not_mathtext(title: str) -> None:
    """A cohort name goes into the title: "$...$" must be shown as typed, never as math."""
    fig = build_figure(
        title=title,
        categories=["$1 loans"],
        series=[BarSeries("$ first try", [0.5])],
        hidden_label="<5",
        axis_label="% $",
        font=None,
    )
    with_dollars = [t for t in fig.findobj(Text) if "$" in t.get_text()]
    assert {t.get_text() for t in with_dollars} == {title, "$1 loans", "$ first try", "% $"}
    assert all(not text.get_parse_math() for text in with_dollars)
    assert only_axes(fig).get_title(loc="left") == title
    # Drawn without error (malformed mathtext raises while rendering) and as plain text.
    png = topic_chart(
        title=title,
        categories=["$1 loans"],
        series=[BarSeries("$ first try", [0.5])],
        hidden_label="<5",
        axis_label="% $",
    )
    assert png.startswith(b"\x89PNG")
