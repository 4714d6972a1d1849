"""Check the page in headless Chromium: three columns on a laptop, one on a phone, a toggle that
hides the glue and documentation and shows them again, and screenshots.

Debian's chromium, driven by Playwright (which downloads no browser of its own here).
"""

import itertools
import os
import tempfile
from pathlib import Path
from typing import TypedDict

from playwright.sync_api import Error, Page, Request, sync_playwright

from sidebyside.mapping import KINDS

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No sandbox (containers), no GPU, and none of Chromium's own traffic to Google's services; make
# docs-check launches it the same way.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Width, height, and whether the three cells of a row stand side by side.
VIEWPORTS = {"laptop": (1440, 900, True), "phone": (390, 844, False)}
# The row the screenshots show after the page's top: three cells of a similar size.
SCREENSHOT_ROW = "create"

# Measured in the page: every row's cells, whether the page scrolls sideways, and fonts too small.
MEASURE = """() => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY};
  };
  return {
    viewport: innerWidth,
    pageWidth: document.documentElement.scrollWidth,
    rows: [...document.querySelectorAll("section.concern")].map((row) => ({
      id: row.id,
      cells: [...row.querySelectorAll(".cell")].map(box),
    })),
    overflowingCode: [...document.querySelectorAll("pre")].filter(
      (pre) => getComputedStyle(pre).overflowX === "visible" && pre.scrollWidth > pre.clientWidth
    ).length,
    smallestFont: Math.min(...[...document.querySelectorAll("pre, p, figcaption")].map(
      (element) => parseFloat(getComputedStyle(element).fontSize))),
  };
}"""


# Measured in the page: of each kind's blocks, how many there are and how many are displayed.
COUNT_SHOWN = """(kinds) => Object.fromEntries(kinds.map((kind) => {
  const figures = [...document.querySelectorAll(`figure.${kind}`)];
  const shown = figures.filter((figure) => figure.getClientRects().length > 0);
  return [kind, {total: figures.length, shown: shown.length}];
}))"""
TOGGLE = "#show-all"


class Box(TypedDict):
    left: float
    right: float
    top: float
    bottom: float


class MeasuredRow(TypedDict):
    id: str
    cells: list[Box]


class Measured(TypedDict):
    """What MEASURE returns."""

    viewport: float
    pageWidth: float
    rows: list[MeasuredRow]
    overflowingCode: int
    smallestFont: float


def layout_problems(measured: Measured, side_by_side: bool) -> list[str]:
    """What is wrong with a measured layout; nothing when it is as designed."""
    problems = []
    if measured["pageWidth"] > measured["viewport"]:
        problems.append(
            f"the page is {measured['pageWidth']} px wide in a {measured['viewport']} px window"
        )
    if measured["overflowingCode"]:
        problems.append(f"{measured['overflowingCode']} code blocks overflow their cell")
    if measured["smallestFont"] < 11:
        problems.append(f"text as small as {measured['smallestFont']} px")
    for row in measured["rows"]:
        cells = row["cells"]
        if len(cells) != 3:
            problems.append(f"row {row['id']} has {len(cells)} cells, not 3")
            continue
        pairs = list(itertools.pairwise(cells))
        if side_by_side:
            level = all(abs(a["top"] - b["top"]) < 1 for a, b in pairs)
            in_order = all(a["right"] <= b["left"] for a, b in pairs)
            if not (level and in_order):
                problems.append(f"row {row['id']}: the cells are not three columns side by side")
        else:
            stacked = all(a["bottom"] <= b["top"] for a, b in pairs)
            wide = 0.8 * measured["viewport"]
            full_width = all(cell["right"] - cell["left"] > wide for cell in cells)
            if not (stacked and full_width):
                problems.append(f"row {row['id']}: the cells are not stacked at full width")
    return problems


class Shown(TypedDict):
    total: int
    shown: int


def toggle_problems(
    before: dict[str, Shown], hidden: dict[str, Shown], again: dict[str, Shown]
) -> list[str]:
    """What is wrong with the blocks shown before the toggle, with glue and documentation hidden,
    and with them shown again; nothing when the toggle works."""
    problems = [f"the page has no {kind} block" for kind in KINDS if not before[kind]["total"]]
    states: list[tuple[str, dict[str, Shown], set[str]]] = [
        ("before the toggle", before, set(KINDS)),
        ("with glue and documentation hidden", hidden, {"idiom"}),
        ("shown again", again, set(KINDS)),
    ]
    for state, counts, kinds_shown in states:
        for kind in KINDS:
            expected = counts[kind]["total"] if kind in kinds_shown else 0
            if counts[kind]["shown"] != expected:
                problems.append(
                    f"{state}: {counts[kind]['shown']} of {counts[kind]['total']} {kind} blocks"
                    f" are shown, not {expected}"
                )
    return problems


def check_toggle(page: Page, side_by_side: bool) -> list[str]:
    """Hide the glue and documentation with the page's toggle, then show them again."""
    toggle = page.locator(TOGGLE)
    before = page.evaluate(COUNT_SHOWN, list(KINDS))
    try:
        toggle.uncheck(timeout=5000)
        hidden = page.evaluate(COUNT_SHOWN, list(KINDS))
        problems = [
            f"with glue and documentation hidden: {problem}"
            for problem in layout_problems(page.evaluate(MEASURE), side_by_side)
        ]
        toggle.check(timeout=5000)
    except Error as error:
        return [f"the toggle {TOGGLE} cannot be used: {error.message.splitlines()[0]}"]
    return problems + toggle_problems(before, hidden, page.evaluate(COUNT_SHOWN, list(KINDS)))


def check_viewport(page: Page, url: str, width: int, height: int, side_by_side: bool) -> list[str]:
    """Load the page at one size, measure it, try the toggle, and save a screenshot beside it."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    problems = layout_problems(page.evaluate(MEASURE), side_by_side)
    problems += check_toggle(page, side_by_side)
    page.goto(f"{url}#{SCREENSHOT_ROW}")
    page.screenshot(path=screenshot_path(url, width))
    return problems


def screenshot_path(url: str, width: int) -> Path:
    """docs/compare-1440.png beside docs/compare.html."""
    page_file = Path(url.removeprefix("file://"))
    return page_file.with_name(f"{page_file.stem}-{width}.png")


def check_layout(page_file: Path) -> int:
    """Check the page at every viewport; 0 if all is well, 1 with the problems printed."""
    if not Path(CHROMIUM).is_file():
        print(f"No browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium).")
        return 2
    url = page_file.resolve().as_uri()
    requests_elsewhere: list[str] = []
    problems = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = context.new_page()

        def note_request(request: Request) -> None:
            """Self-contained: the page may load nothing but itself."""
            if request.url.split("#")[0] != url:
                requests_elsewhere.append(request.url)

        page.on("request", note_request)
        for name, (width, height, side_by_side) in VIEWPORTS.items():
            found = check_viewport(page, url, width, height, side_by_side)
            problems += [f"{name} ({width} px): {problem}" for problem in found]
            verdict = "FAILED" if found else "ok"
            shown = os.path.relpath(screenshot_path(url, width))
            print(f"{name} ({width} px): {verdict}; screenshot {shown}")
        context.close()
    problems += [f"the page requested {request}" for request in requests_elsewhere]
    for problem in problems:
        print(problem)
    return 1 if problems else 0
