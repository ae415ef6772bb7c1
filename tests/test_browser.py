"""The reports in a real browser (Debian's headless Chromium, driven by Playwright): the
smoke run's report.html and Snakemake's `--report` page load without errors, show every
image and fit a 1280 px wide window; the `--report` page lists the study's categories and
opens the study's report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SNAKEMAKE_REPORT, STUDY_REPORT, needs_debian_data
from helpers import MODELS
from page_checks import (
    OpenPage,
    chromium_missing,
    launch,
    open_page,
    sticking_out,
    undecoded_images,
)

pytestmark = [
    needs_debian_data,
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]

# Every category a rule files a result under (subcategories, named by wildcards, left out).
CATEGORIES = sorted(
    {
        category
        for rules in (REPO / "workflow/rules").glob("*.smk")
        for category in re.findall(r'\bcategory="([^"{]+)"', rules.read_text())
    }
)
# The category the report rule files the study's report under.
STUDY_REPORT_CATEGORY = re.search(
    r'report\(\s*STUDY_REPORT,\s*caption="[^"]+",\s*category="([^"]+)"',
    (REPO / "workflow/rules/report.smk").read_text(),
).group(1)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def reports(
    finished_smoke_run: Path, sweeps: dict[int, Path], snakemake_report_run: Path
) -> dict[str, Path]:
    """The pages to check: the finished run's report.html; a sweep's, with its leaderboard
    (the widest table the report shows); Snakemake's `--report` page of the finished run."""
    return {
        "report.html": finished_smoke_run / STUDY_REPORT,
        "report.html with a sweep": sweeps[51] / STUDY_REPORT,
        "snakemake --report": snakemake_report_run / SNAKEMAKE_REPORT,
    }


@pytest.fixture(params=["report.html", "report.html with a sweep", "snakemake --report"])
def opened(request: pytest.FixtureRequest, reports: dict[str, Path], browser) -> Iterator[OpenPage]:
    page = open_page(browser, reports[request.param])
    yield page
    page.page.close()


def open_study_report_from(snakemake_report: OpenPage):
    """Click the study report's category, then the eye beside report.html: the study's report
    opens in a frame of the page."""
    page = snakemake_report.page
    page.get_by_role("link", name=STUDY_REPORT_CATEGORY, exact=True).click()
    page.locator("tr", has_text=STUDY_REPORT).locator("a[iconname=eye]").click()
    frame = page.locator("iframe").element_handle().content_frame()
    frame.wait_for_load_state()
    return frame


def test_page_logs_no_console_error(opened: OpenPage) -> None:
    assert not opened.errors, "\n".join(opened.errors)


def test_every_image_decodes(opened: OpenPage) -> None:
    undecoded = undecoded_images(opened.page)
    assert not undecoded, f"images that do not decode: {undecoded}"


def test_page_fits_a_1280px_viewport(opened: OpenPage) -> None:
    outside = sticking_out(opened.page)
    assert not outside, f"wider than the 1280 px window: {outside}"


def test_snakemake_report_lists_the_study_categories(reports: dict[str, Path], browser) -> None:
    page = open_page(browser, reports["snakemake --report"]).page
    for category in CATEGORIES:
        assert page.get_by_role("link", name=category, exact=True).is_visible(), category


def test_snakemake_report_opens_the_study_report(reports: dict[str, Path], browser) -> None:
    opened = open_page(browser, reports["snakemake --report"])
    frame = open_study_report_from(opened)
    assert frame.locator("h1").inner_text().startswith("Fashion-MNIST study")
    assert not undecoded_images(frame), f"images that do not decode: {undecoded_images(frame)}"
    width = frame.evaluate("window.innerWidth")
    outside = sticking_out(frame, width)
    assert not outside, f"wider than its {width} px frame: {outside}"
    assert not opened.errors, "\n".join(opened.errors)


# The first screen a reader gives a page: a laptop's browser window.
FIRST_SCREEN = {"width": 1280, "height": 800}


@pytest.mark.parametrize("report", ["the smoke run", "a sweep of 51 models"])
def test_the_first_screen_shows_the_accuracies_and_the_verdicts(
    report: str, finished_smoke_run: Path, sweeps: dict[int, Path], browser
) -> None:
    """The coursework's three models' test accuracies and the two verdicts, unscrolled."""
    path = (
        finished_smoke_run / STUDY_REPORT
        if report == "the smoke run"
        else sweeps[51] / STUDY_REPORT
    )
    page = browser.new_page(viewport=FIRST_SCREEN)
    page.goto(path.resolve().as_uri())
    findings = page.locator(".findings")
    rows = [findings.locator("tbody tr").nth(i) for i in range(len(MODELS))]
    assert [row.locator("td").first.inner_text() for row in rows] == list(MODELS)
    accuracies = [row.locator("td").nth(1) for row in rows]
    assert all(re.fullmatch(r"\d+\.\d\d% \(.+ to .+\)", cell.inner_text()) for cell in accuracies)
    verdicts = [findings.locator("li").nth(i) for i in range(2)]
    assert all("after Holm's correction:" in verdict.inner_text() for verdict in verdicts)
    for element in (*accuracies, *verdicts):
        box = element.bounding_box()
        assert box is not None and box["y"] >= 0, element
        assert box["y"] + box["height"] <= FIRST_SCREEN["height"], element.inner_text()
        assert box["x"] + box["width"] <= FIRST_SCREEN["width"], element.inner_text()
    page.close()
