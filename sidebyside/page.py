"""The comparison page: one static HTML file, styles inline, no script, nothing fetched."""

from html import escape

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from sidebyside.extract import Snippet, lines
from sidebyside.mapping import (
    FRAMEWORKS,
    KINDS,
    Block,
    Kind,
    Line,
    Row,
    kind_counts,
    line_kinds,
    project_kind_totals,
)
from sidebyside.table import table_rows

PYGMENTS_STYLE = "friendly"

PAGE_CSS = """
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  background: #fff; }
header, main, footer { padding: 0 24px; }
h1 { font-size: 1.6rem; margin: 20px 0 4px; }
h2 { font-size: 1.2rem; margin: 0 0 4px; }
h2 a { color: inherit; text-decoration: none; }
h2 a:hover { text-decoration: underline; }
h3 { font-size: 0.95rem; margin: 0 0 6px; display: flex; flex-wrap: wrap;
  justify-content: space-between; gap: 0 8px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; }
.intro { margin: 0 0 12px; max-width: 75em; }
.table-wrap { overflow-x: auto; margin: 0 0 12px; }
table.totals { border-collapse: collapse; }
table.totals caption { text-align: left; padding-bottom: 4px; }
table.totals th, table.totals td { border: 1px solid #d0d7de; padding: 2px 10px; text-align: left; }
table.totals td { text-align: right; font-variant-numeric: tabular-nums; }
nav ol { margin: 0 0 16px; padding: 0; list-style: none; display: flex; flex-wrap: wrap;
  gap: 4px 14px; font-size: 0.9rem; }
.bar { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid #d0d7de;
  padding: 4px 24px 6px; }
.toggle { display: inline-flex; align-items: center; gap: 6px; font-size: 0.9rem; cursor: pointer; }
.toggle input { margin: 0; width: 16px; height: 16px; }
.columns { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px;
  padding-top: 2px; font-weight: 600; }
section.concern { scroll-margin-top: 64px; padding: 18px 0 10px; border-bottom: 1px solid #d0d7de; }
.note { margin: 0 0 10px; max-width: 75em; color: #424a53; }
.cells { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; }
.cell { min-width: 0; }
/* Wide: the sticky row above names the columns; the name stays for screen readers. */
.cell .framework { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); }
.count { font-weight: normal; color: #59636e; }
figure { margin: 0 0 10px; }
figcaption { font-size: 0.8rem; color: #59636e; margin: 0 0 2px; overflow-wrap: anywhere; }
figcaption code { color: #1f2328; }
figure.library pre { background: #f6f8fa; border-style: dashed; }
/* Each block's kind: a label in words, and the same colour down the code's left edge. */
.kind { display: inline-block; margin-right: 4px; padding: 0 5px; border: 1px solid;
  border-radius: 3px; font-weight: 600; }
.kind-idiom { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.kind-glue { color: #7d4e00; background: #fff8c5; border-color: #d4a72c; }
.kind-docs { color: #0550ae; background: #ddf4ff; border-color: #54aeff; }
figure.idiom pre.hl { border-left: 4px solid #4ac26b; }
figure.glue pre.hl { border-left: 4px solid #d4a72c; }
figure.docs pre.hl { border-left: 4px solid #54aeff; }
/* The toggle: unchecked, only the framework idiom is shown. */
.only-hidden { display: none; margin: 0 0 10px; font-size: 0.85rem; color: #59636e; }
body:has(#show-all:not(:checked)) figure.glue, body:has(#show-all:not(:checked)) figure.docs {
  display: none; }
body:has(#show-all:not(:checked)) .only-hidden { display: block; }
pre.hl { margin: 0; padding: 6px 8px; background: #fbfbf8; border: 1px solid #d8dee4;
  border-radius: 4px; font-size: 12px; line-height: 1.45; tab-size: 4; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.line { display: block; padding-left: 3.4em; text-indent: -3.4em; }
.ln { display: inline-block; width: 2.6em; margin-right: 0.8em; color: #8c959f; text-align: right;
  text-indent: 0; user-select: none; }
footer { color: #59636e; font-size: 0.85rem; padding-top: 12px; padding-bottom: 24px; }
@media (max-width: 900px) {
  header, main, footer { padding: 0 12px; }
  .bar { padding: 4px 12px; }
  table.totals { font-size: 0.85rem; }
  table.totals th, table.totals td { padding: 2px 5px; }
  .columns { display: none; }
  section.concern { scroll-margin-top: 36px; }
  .cells { grid-template-columns: minmax(0, 1fr); }
  .cell .framework { position: static; width: auto; height: auto; clip-path: none; }
  pre.hl { white-space: pre; overflow-x: auto; overflow-wrap: normal; font-size: 11.5px; }
}
"""


def render_page(rows: list[Row]) -> str:
    """The whole page for these rows; the same rows always give the same text."""
    kinds = line_kinds(rows)
    # types-Pygments leaves get_token_style_defs unannotated; it returns the CSS rules' lines.
    formatter = HtmlFormatter(style=PYGMENTS_STYLE)
    style_defs: list[str] = formatter.get_token_style_defs(".hl")  # type: ignore[no-untyped-call]
    css = PAGE_CSS + "\n".join(style_defs)
    header, *body = table_rows(project_kind_totals(rows), short=True)
    table_head = "".join(f'<th scope="col">{escape(text)}</th>' for text in header)
    table_body = "".join(
        f'<tr><th scope="row">{escape(name)}</th>'
        + "".join(f"<td>{escape(text)}</td>" for text in counts)
        + "</tr>"
        for name, *counts in body
    )
    contents = "".join(
        f'<li><a href="#{escape(row.concern.id)}">{escape(row.concern.title)}</a></li>'
        for row in rows
    )
    headings = "".join(f"<div>{escape(name)}</div>" for name in FRAMEWORKS.values())
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Books, three ways: the code side by side</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>Books, three ways: the code side by side</h1>
<p class="intro">The same book-catalog API in Django + DRF, Flask and FastAPI, one concern per
row. Each cell is the real source of the functions, classes and settings named in
<code>docs/compare.toml</code>, extracted by name when the page is made (<code>make compare</code>),
with its file, line range and count of non-blank lines. Dashed blocks are the framework's own code
that a package inherits, shown for reference.</p>
<p class="intro">Each block is labelled with its kind: <strong>framework idiom</strong>, the API
as the framework teaches it (models, views, serializers and schemas, settings and wiring);
<strong>contract glue</strong>, code that bends the framework to the contract (problem details,
ETags, the order of the checks before a write, HEAD and OPTIONS, strict parsing); or
<strong>API documentation</strong>, what the OpenAPI document needs that the code does not say.
Untick the box at the top to read the framework idiom alone.</p>
<div class="table-wrap"><table class="totals">
<caption>Non-blank lines of each package's own code in the rows below, by kind: framework
idiom, contract glue, API documentation (a line shown in two rows counts once)</caption>
<thead><tr>{table_head}</tr></thead>
<tbody>{table_body}</tbody>
</table></div>
<nav><ol>{contents}</ol></nav>
</header>
<div class="bar">
<label class="toggle"><input type="checkbox" id="show-all" checked> Show contract glue and API
documentation</label>
<div class="columns" aria-hidden="true">{headings}</div>
</div>
<main>
{"".join(render_row(row, kinds) for row in rows)}</main>
<footer>Generated by <code>make compare</code> from <code>docs/compare.toml</code>; a test fails
when a mapped name is gone or this page is out of date.</footer>
</body>
</html>
"""


def render_row(row: Row, kinds: dict[Line, Kind]) -> str:
    """One concern: its title, its note, and a cell per framework."""
    concern = row.concern
    cells = "".join(
        render_cell(name, row.cells[framework], kinds) for framework, name in FRAMEWORKS.items()
    )
    return f"""<section class="concern" id="{escape(concern.id)}">
<h2><a href="#{escape(concern.id)}">{escape(concern.title)}</a></h2>
<p class="note">{escape(concern.note)}</p>
<div class="cells">{cells}</div>
</section>
"""


def cell_count(counts: dict[Kind, int]) -> str:
    """A cell's lines, and how many of each kind: "23 lines: 8 idiom, 15 glue"."""
    total = sum(counts.values())
    per_kind = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
    return f"{lines(total)}: {per_kind}" if per_kind else lines(total)


def render_cell(framework_name: str, blocks: list[Block], kinds: dict[Line, Kind]) -> str:
    """One framework's blocks for a concern, with its count of lines per kind."""
    figures = "".join(render_snippet(block.snippet, block.kind) for block in blocks)
    only_hidden = ""
    if all(block.kind != "idiom" for block in blocks):
        only_hidden = '<p class="only-hidden">No framework idiom here: the blocks are hidden.</p>'
    return (
        f'<div class="cell"><h3><span class="framework">{escape(framework_name)}</span>'
        f'<span class="count">{cell_count(kind_counts(blocks, kinds))}</span></h3>'
        f"{figures}{only_hidden}</div>"
    )


def render_snippet(snippet: Snippet, kind: Kind) -> str:
    """A highlighted snippet with line numbers, under its kind, path, name and line range."""
    lexer = get_lexer_by_name(snippet.language)
    highlighted = highlight(snippet.source, lexer, HtmlFormatter(nowrap=True))
    # Pygments closes every span at the end of a line, so each line can be a block of its own: a
    # wrapped line then continues indented past the line numbers.
    numbered = "".join(
        f'<span class="line"><span class="ln">{number}</span>{line}</span>'
        for number, line in enumerate(highlighted.rstrip("\n").split("\n"), snippet.first_line)
    )
    css_class: str = kind
    whose = ""
    if snippet.library:
        css_class, whose = f"{kind} library", " <em>(the framework's own code, not counted)</em>"
    label = f'<span class="kind kind-{kind}">{escape(KINDS[kind])}</span>'
    return (
        f'<figure class="{css_class}"><figcaption>{label}<code>{escape(snippet.path)}</code> '
        f"<strong>{escape(snippet.name)}</strong> {line_range(snippet)}{whose}</figcaption>"
        f'<pre class="hl">{numbered}</pre></figure>'
    )


def line_range(snippet: Snippet) -> str:
    """Where a snippet is in its file, and how long: "lines 41\u201353, 13 lines"."""
    if snippet.first_line == snippet.last_line:
        return f"line {snippet.first_line}"
    return f"lines {snippet.first_line}\u2013{snippet.last_line}, {lines(snippet.line_count)}"
