"""The lines-per-kind table: on the page, in Markdown, and kept current in README.md."""

from pathlib import Path

from sidebyside.extract import REPO_ROOT
from sidebyside.mapping import FRAMEWORKS, KINDS, Kind

README_FILE = REPO_ROOT / "README.md"
# `python -m sidebyside page` rewrites what is between these lines of README.md.
START_MARKER = "<!-- lines-per-kind -->"
END_MARKER = "<!-- /lines-per-kind -->"


def share(count: int, total: int) -> str:
    """A count with its share of the total: "412 (38%)"."""
    return f"{count} ({round(100 * count / total) if total else 0}%)"


def table_rows(totals: dict[str, dict[Kind, int]], short: bool = False) -> list[list[str]]:
    """The table's text: a header row, then per package its name, each kind's lines, the total.
    Short, the header names each kind by its key (idiom, glue, docs), to fit a phone's width."""
    rows = [["package", *(KINDS if short else KINDS.values()), "total"]]
    for framework, name in FRAMEWORKS.items():
        counts = totals[framework]
        total = sum(counts.values())
        rows.append([name, *(share(counts[kind], total) for kind in KINDS), str(total)])
    return rows


def markdown_table(totals: dict[str, dict[Kind, int]]) -> str:
    """The table in Markdown, numbers right-aligned."""
    header, *body = table_rows(totals)
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


class MarkerError(ValueError):
    """README.md has one of the markers without the other, or in the wrong order."""


def with_table(text: str, table: str) -> str | None:
    """The text with the table between the markers; None if it has neither marker."""
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start == -1 and end == -1:
        return None
    if start == -1 or end == -1 or end < start:
        raise MarkerError(f"expected {START_MARKER}, then {END_MARKER}, each once")
    before = text[: start + len(START_MARKER)]
    return f"{before}\n{table}\n{text[end:]}"


def update_readme(readme: Path, table: str) -> bool:
    """Write the table between the README's markers; whether the file has them."""
    text = readme.read_text(encoding="utf-8")
    updated = with_table(text, table)
    if updated is None:
        return False
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return True
