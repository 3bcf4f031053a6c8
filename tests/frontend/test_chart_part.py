"""The chart part (frontend/chart.html): a figure with its caption and a real table (headers with
units, figures as people read them, the plain number the chart plots on each cell), from which
charts.js draws the chart; no figures read "No figures for this period", never an error."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test.html import Element, parse_html
from django_tenants.utils import schema_context

from frontend.templatetags.charts import Chart, Series
from tenants.org import services as org

NO_FIGURES = "No figures for this period"


def revenue(**changes: Any) -> Chart:
    fields: dict[str, Any] = {
        "caption": "Revenue by week",
        "kind": "bar",
        "label": "Week",
        "currency": "GBP",
        "locale": "en-GB",
        "series": [
            Series("Invoiced", format="money"),
            Series("Previous period", format="money", comparison=True),
            Series("Collected", format="percent", axis="right"),
        ],
        "rows": [("Week 10", [123456, 100000, 0.875]), ("Week 11", [98700, 101000, 1])],
    }
    return Chart(**{**fields, **changes})


def find(root: Element, name: str) -> list[Element]:
    found = []
    for child in root.children:
        if isinstance(child, Element):
            if child.name == name:
                found.append(child)
            found.extend(find(child, name))
    return found


def attrs(element: Element) -> dict[str, str | None]:
    return dict(element.attributes)


def words(element: Element) -> str:
    return "".join(words(c) if isinstance(c, Element) else str(c) for c in element.children).strip()


def render(chart: Any) -> tuple[str, Element]:
    html = render_to_string("frontend/chart.html", {"chart": chart})
    return html, parse_html(html)


def test_a_chart_is_a_figure_with_its_caption_and_the_table_of_its_figures() -> None:
    # given a chart of money by week with the previous period and a share on a second axis
    # when the part renders it
    html, page = render(revenue())
    # then it is a figure to draw as bars, whose caption says what it shows
    (figure,) = find(page, "figure")
    assert attrs(figure)["data-chart"] == "bar"
    assert attrs(figure)["data-currency"] == "GBP"
    assert attrs(figure)["data-locale"] == "en-GB"
    assert [words(c) for c in find(figure, "figcaption")] == ["Revenue by week"]
    # and the table has real column headers with the units, the comparison and the axis marked
    heads = find(find(figure, "thead")[0], "th")
    assert [words(th) for th in heads] == ["Week", "Invoiced (£)", "Previous period (£)", "Collected (%)"]
    assert {attrs(th)["scope"] for th in heads} == {"col"}
    assert [attrs(th).get("data-format") for th in heads[1:]] == ["money", "money", "percent"]
    assert ["data-comparison" in attrs(th) for th in heads[1:]] == [False, True, False]
    assert [attrs(th).get("data-axis") for th in heads[1:]] == ["left", "left", "right"]
    # and each row is headed by its label, each cell reads as people read it and carries the number
    rows = find(find(figure, "tbody")[0], "tr")
    assert [(words(th), attrs(th)["scope"]) for row in rows for th in find(row, "th")] == [
        ("Week 10", "row"),
        ("Week 11", "row"),
    ]
    cells = [[(words(td), attrs(td).get("data-value")) for td in find(row, "td")] for row in rows]
    assert cells == [
        [("£1,234.56", "1234.56"), ("£1,000.00", "1000"), ("87.5%", "87.5")],
        [("£987.00", "987"), ("£1,010.00", "1010"), ("100%", "100")],
    ]
    # and the table is open until the script has drawn the chart, under a toggle that names it
    (details,) = find(figure, "details")
    assert "open" in attrs(details)
    assert [words(s) for s in find(details, "summary")] == ["Show the figures as a table"]
    # and the page loads the chart's files, with no inline script or style
    assert '<script src="/static/vendor/chartjs/chart.umd.js" defer>' in html
    assert '<script src="/static/frontend/charts.js" defer>' in html
    assert "<script>" not in html
    assert "style=" not in html
    assert NO_FIGURES not in html


def test_a_missing_figure_reads_as_a_dash_with_no_number_for_the_chart() -> None:
    # given rows with a figure missing, one that is not a number, and a row too short
    chart = revenue(rows=[("Week 10", [None, float("nan"), "n/a"]), ("Week 11", [500])])
    # when the part renders them
    _, page = render(chart)
    # then each missing figure is a dash without data-value (a gap in the chart), the rest as given
    cells = [[(words(td), attrs(td).get("data-value")) for td in find(row, "td")] for row in find(page, "tr")[1:]]
    assert cells == [
        [("—", None), ("—", None), ("—", None)],
        [("£5.00", "5"), ("—", None), ("—", None)],
    ]


@pytest.mark.parametrize(
    "chart",
    [
        pytest.param(revenue(rows=[]), id="no rows"),
        pytest.param(revenue(series=[]), id="no series"),
        pytest.param(revenue(rows=[("Week 10", [None, None, None])]), id="no figure at all"),
        pytest.param(revenue(rows=[("Week 10", "not a list of figures")]), id="rows of nothing"),
        pytest.param(None, id="no chart"),
        pytest.param("a chart", id="not a chart"),
    ],
)
def test_no_figures_read_no_figures_for_this_period_instead_of_an_error(chart: Any) -> None:
    # when the part is given nothing it can show
    html, page = render(chart)
    # then it says so, with no table and no chart to draw
    assert NO_FIGURES in html
    assert find(page, "table") == []
    assert all("data-chart" not in attrs(f) for f in find(page, "figure"))
    assert "chart.umd.js" not in html


def test_the_empty_figure_keeps_its_caption() -> None:
    _, page = render(revenue(rows=[]))
    assert [words(c) for c in find(page, "figcaption")] == ["Revenue by week"]


def test_a_kind_it_does_not_draw_shows_the_table_and_no_chart() -> None:
    # given a kind the charts do not have
    _, page = render(revenue(kind="pie"))
    # then the figures are still there, and nothing asks the script to draw them
    (figure,) = find(page, "figure")
    assert "data-chart" not in attrs(figure)
    assert len(find(figure, "td")) == 6


def test_charts_on_one_page_have_their_own_ids_and_load_the_files_once() -> None:
    # given a page with two charts of the same caption and a third without figures
    page = Template(
        '{% include "frontend/chart.html" with chart=a %}{% include "frontend/chart.html" with chart=b %}'
        '{% include "frontend/chart.html" with chart=c %}'
    ).render(Context({"a": revenue(), "b": revenue(kind="line"), "c": revenue(rows=[])}))
    # then each figure has an id of its own, and the stylesheet and scripts come once
    figures = [f for f in find(parse_html(page), "figure") if "data-chart" in attrs(f)]
    assert [attrs(f)["id"] for f in figures] == ["chart-revenue-by-week", "chart-revenue-by-week-2"]
    assert page.count("chart.umd.js") == 1
    assert page.count("charts.js") == 1
    assert page.count("charts.css") == 1


def test_a_line_of_counts_has_plain_headers_and_grouped_numbers() -> None:
    chart = Chart(
        caption="Visits",
        kind="line",
        label="Day",
        series=[Series("Visits"), Series("Previous period", comparison=True)],
        rows=[("Mon", [1234, 1200]), ("Tue", [7, 8])],
        locale="en",
    )
    _, page = render(chart)
    assert [words(th) for th in find(find(page, "thead")[0], "th")] == ["Day", "Visits", "Previous period"]
    assert [(words(td), attrs(td)["data-value"]) for td in find(page, "td")][:2] == [
        ("1,234", "1234"),
        ("1,200", "1200"),
    ]


@pytest.mark.django_db
def test_figures_read_in_the_chains_own_locale_and_the_chart_still_gets_plain_numbers(chain_a) -> None:
    # given a chain that writes German
    with schema_context(chain_a.schema):
        org.chain_settings_update(actor=chain_a.users["owner"], locale="de")
        # when a chart of its figures names no locale of its own
        _, page = render(revenue(locale=""))
    # then the table reads as the chain writes, and the numbers for the chart are the same
    (figure,) = find(page, "figure")
    assert attrs(figure)["data-locale"] == "de"
    first = [(words(td), attrs(td)["data-value"]) for td in find(find(page, "tr")[1], "td")]
    assert first == [("1.234,56\xa0£", "1234.56"), ("1.000,00\xa0£", "1000"), ("87,5\xa0%", "87.5")]
