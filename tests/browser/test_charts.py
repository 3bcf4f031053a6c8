"""Charts drawn from their tables (frontend/chart.html, charts.js, Chart.js from npm) in a real
browser, under the Content-Security-Policy: the canvas is drawn, named for screen readers, the
comparison dashed; the table stays one keyboard press away; a phone gets a chart that fits; without
script the table is simply there. Screenshots at 1024x768 and 390 px, and axe on each.

The page is a small one of this module's own (it is its urlconf for these tests), rendered by the
app's base template with the part included as a dashboard would include it."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from playwright.sync_api import expect

from frontend.report_views import SOURCES as REPORT_SOURCES
from frontend.templatetags.charts import Chart, Series

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
BLUE = (0, 114, 178)  # the first series' colour (charts.js PALETTE)
WEEKS = [f"Week {n}" for n in range(1, 9)]

PAGE = """{% extends "base.html" %}{% block title %}Figures{% endblock %}{% block content %}
<h1>Figures</h1>
<section class="card" aria-labelledby="visits-h"><h2 id="visits-h">Visits</h2>
{% include "frontend/chart.html" with chart=visits %}</section>
<section class="card" aria-labelledby="money-h"><h2 id="money-h">Money</h2>
{% include "frontend/chart.html" with chart=money %}</section>
<section class="card" aria-labelledby="sources-h"><h2 id="sources-h">Bookings</h2>
{% include "frontend/chart.html" with chart=sources %}</section>
<section class="card" aria-labelledby="origin-h"><h2 id="origin-h">Where bookings came from</h2>
{% include "frontend/chart.html" with chart=origin %}</section>
<section class="card" aria-labelledby="none-h"><h2 id="none-h">Refunds</h2>
{% include "frontend/chart.html" with chart=nothing %}</section>
{% endblock %}"""

VISITS_NOW = [41, 38, 45, 50, 47, 1234, 49, 55]
VISITS_BEFORE = [39, 40, 42, 44, 45, 43, 48, 50]
VISITS = Chart(
    caption="Visits by week",
    kind="line",
    label="Week",
    series=[Series("Visits"), Series("Previous period", comparison=True)],
    rows=[(w, [now, before]) for w, now, before in zip(WEEKS, VISITS_NOW, VISITS_BEFORE, strict=True)],
    locale="en-GB",
)
MONEY = Chart(
    caption="Invoiced and collected by week",
    kind="bar",
    label="Week",
    series=[
        Series("Invoiced", format="money"),
        Series("Previous period", format="money", comparison=True),
        Series("Collected", format="percent", axis="right"),
    ],
    rows=[(w, [120_000 + 5_000 * i, 110_000 + 4_000 * i, 0.8 + 0.02 * i]) for i, w in enumerate(WEEKS)],
    currency="GBP",
    locale="en-GB",
)
SOURCES = Chart(
    caption="Bookings by source",
    kind="stacked",
    label="Week",
    series=[Series("Online"), Series("Walk-in"), Series("Phone"), Series("Waitlist")],
    rows=[(w, [20 + i, 5, 12 - i, i % 3]) for i, w in enumerate(WEEKS)],
    locale="en-GB",
)
# the reports' "Bookings by source": five categories, one of them three words long
ORIGIN = Chart(
    caption="Bookings by where they came from",
    kind="bar",
    label="Source",
    series=[Series("This period"), Series("Previous period", comparison=True)],
    rows=[(label, [10 + i, 8 + i]) for i, (_, label, _) in enumerate(REPORT_SOURCES)],
    locale="en-GB",
)
NOTHING = Chart(caption="Refunds by week", kind="bar", label="Week", series=[Series("Refunds")], rows=[])


def figures_page(request: HttpRequest) -> HttpResponse:
    charts = {"visits": VISITS, "money": MONEY, "sources": SOURCES, "origin": ORIGIN, "nothing": NOTHING}
    return HttpResponse(engines["django"].from_string(PAGE).render(charts, request))


# The page, beside every page of the chain's site (base.html's navigation names them).
urlpatterns = [path("figures/", figures_page), path("", include("config.urls_tenant"))]

# Records every violation of the policy the page reports (as tests/browser/test_csp.py does).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""

# The share of the canvas drawn on, and of it in the first series' colour (antialiased edges aside).
PIXELS = """([canvas, rgb]) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0, coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) drawn++;
    const off = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]);
    if (data[i + 3] > 200 && off < 30) coloured++;
  }
  const all = canvas.width * canvas.height;
  return [drawn / all, coloured / all];
}"""


@pytest.fixture
def figures(live: str, settings: Any) -> str:
    settings.ROOT_URLCONF = __name__
    return f"{live}/figures/"


@pytest.fixture
def watched(page: Any) -> Any:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.add_init_script(WATCH)

    def check() -> list[str]:
        return problems + page.evaluate("window.__csp || []")

    return check


def drawn(page: Any, caption: str) -> Any:
    figure = page.locator("figure", has=page.get_by_text(caption, exact=True))
    expect(figure).to_have_class("chart chart-drawn")
    return figure


def test_charts_are_drawn_from_their_tables_which_stay_a_key_press_away(page, figures, watched, shot, axe):
    # given the desk's screen (asking for less motion: the screenshots show the charts at rest)
    page.set_viewport_size(DESK)
    page.emulate_media(reduced_motion="reduce")
    # when the page with three charts and one period without figures opens
    page.goto(figures)
    # then each chart is drawn on a canvas: painted, and its first series in its colour
    for caption in ("Visits by week", "Invoiced and collected by week", "Bookings by source"):
        canvas = drawn(page, caption).locator("canvas")
        expect(canvas).to_be_visible()
        painted, coloured = page.evaluate(PIXELS, [canvas.element_handle(), list(BLUE)])
        assert painted > 0.02, caption
        assert coloured > 0.001, caption
    # and the canvas is an image named by what it shows: the series, the rows, each one's range
    visits = drawn(page, "Visits by week")
    expect(visits.get_by_role("img")).to_have_attribute(
        "aria-label",
        "Line chart of Visits and Previous period (dashed) by week: 8 rows, Week 1 to Week 8. "
        "Visits: lowest 38 (Week 2), highest 1,234 (Week 6). "
        "Previous period: lowest 39 (Week 1), highest 50 (Week 8). The figures are in the table below.",
    )
    # and the previous period is dashed, the money's comparison hatched, the share on its own scale
    dashes = visits.evaluate("f => f.clinicflowChart.data.datasets.map(d => d.borderDash)")
    assert dashes == [[], [6, 4]]
    money = drawn(page, "Invoiced and collected by week")
    fills = money.evaluate("f => f.clinicflowChart.data.datasets.map(d => d.backgroundColor instanceof CanvasPattern)")
    assert fills == [False, True, False]
    assert money.evaluate("f => f.clinicflowChart.data.datasets.map(d => d.yAxisID)") == ["y", "y", "y1"]
    # and the chart plots the numbers of the cells, not their text
    assert money.evaluate("f => f.clinicflowChart.data.datasets[0].data.slice(0, 2)") == [1200, 1250]
    # and with the chart drawn, the tables are folded away under their toggle
    table = visits.get_by_role("table", name="Visits by week")
    expect(table).to_be_hidden()
    # and the period without figures says so
    expect(page.get_by_text("No figures for this period")).to_be_visible()
    shot("charts-1024")
    axe("charts, tables folded")
    # when a keyboard user reaches the toggle and presses Enter, the figures are there as a table
    toggle = visits.get_by_text("Show the figures as a table")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Previous period")).to_be_visible()
    expect(table.get_by_role("row", name="Week 6 1,234 43")).to_be_visible()
    money.get_by_text("Show the figures as a table").click()
    expect(money.get_by_role("columnheader", name="Invoiced (£)")).to_be_visible()
    expect(money.get_by_role("cell", name="£1,200.00")).to_be_visible()
    shot("charts-1024-tables")
    axe("charts, tables open")
    # and nothing broke the policy or raised
    assert watched() == []


def test_on_a_phone_the_charts_fit_the_screen(page, figures, watched, shot, axe):
    # given a 390 px phone
    page.set_viewport_size(PHONE)
    page.emulate_media(reduced_motion="reduce")
    # when the page opens
    page.goto(figures)
    # then each chart is drawn within the screen, and the page does not scroll sideways
    for caption in ("Visits by week", "Invoiced and collected by week", "Bookings by source"):
        box = drawn(page, caption).locator("canvas").bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 150
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # and a chart of a few categories names every one of them under its bar, none skipped
    origin = drawn(page, "Bookings by where they came from")
    assert origin.evaluate("f => f.clinicflowChart.scales.x.ticks.length") == len(REPORT_SOURCES)
    shot("charts-390")
    axe("charts on a phone")
    # and a wide table scrolls inside its own frame
    money = drawn(page, "Invoiced and collected by week")
    money.get_by_text("Show the figures as a table").click()
    expect(money.get_by_role("region", name="Invoiced and collected by week: the figures")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot("charts-390-table")
    axe("a chart's table on a phone")
    assert watched() == []


def test_who_asks_for_less_motion_gets_charts_drawn_at_once(page, figures):
    page.emulate_media(reduced_motion="reduce")
    page.goto(figures)
    assert drawn(page, "Visits by week").evaluate("f => f.clinicflowChart.options.animation") is False
    page.emulate_media(reduced_motion="no-preference")
    page.goto(figures)
    assert drawn(page, "Visits by week").evaluate("f => f.clinicflowChart.options.animation") is not False


def test_without_script_the_figures_are_a_table(browser, figures):
    # given a browser that runs no script
    context = browser.new_context(java_script_enabled=False, viewport=DESK)
    page = context.new_page()
    try:
        # when the page opens, then the figures are there as tables, open, and no canvas is drawn
        page.goto(figures)
        table = page.get_by_role("table", name="Visits by week")
        expect(table).to_be_visible()
        expect(table.get_by_role("row", name="Week 6 1,234 43")).to_be_visible()
        expect(page.locator("canvas")).to_have_count(0)
    finally:
        context.close()
