"""The command line: write the page, or print concerns in the terminal.

python -m sidebyside page [FILE]          write the page (default docs/compare.html), and the
                                          lines-per-kind table between README.md's markers
python -m sidebyside table                the lines-per-kind table, in Markdown
python -m sidebyside list                 the concerns, by id
python -m sidebyside compare ID [ID ...]  one concern's three cells, one after another
python -m sidebyside check-layout [FILE]  the page in headless Chromium at 1440 and 390 px
"""

import argparse
import os
import sys
from pathlib import Path

from sidebyside import terminal
from sidebyside.extract import REPO_ROOT
from sidebyside.mapping import load_concerns, project_kind_totals, resolve
from sidebyside.page import render_page
from sidebyside.table import README_FILE, MarkerError, markdown_table, update_readme

PAGE_FILE = REPO_ROOT / "docs" / "compare.html"


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status."""
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m sidebyside", description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    page = commands.add_parser("page", help="write the comparison page")
    page.add_argument("file", nargs="?", type=Path, default=PAGE_FILE)
    commands.add_parser("table", help="print the lines-per-kind table in Markdown")
    commands.add_parser("list", help="list the concerns")
    compare = commands.add_parser("compare", help="print concerns' cells in the terminal")
    compare.add_argument("ids", nargs="+", metavar="ID")
    compare.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    check = commands.add_parser("check-layout", help="check the page's layout in Chromium")
    check.add_argument("file", nargs="?", type=Path, default=PAGE_FILE)
    arguments = parser.parse_args(argv)

    if arguments.command == "check-layout":
        from sidebyside.layout import check_layout  # needs Playwright and Chromium, only here

        return check_layout(arguments.file)
    concerns = load_concerns()
    if arguments.command == "list":
        width = max(len(concern.id) for concern in concerns)
        for concern in concerns:
            print(f"{concern.id.ljust(width)}  {concern.title}")
        return 0
    if arguments.command == "table":
        print(markdown_table(project_kind_totals(resolve(concerns))))
        return 0
    if arguments.command == "page":
        rows = resolve(concerns)
        arguments.file.write_text(render_page(rows), encoding="utf-8")
        print(f"Wrote {os.path.relpath(arguments.file)}")
        try:
            if update_readme(README_FILE, markdown_table(project_kind_totals(rows))):
                print(f"Wrote the lines-per-kind table into {os.path.relpath(README_FILE)}")
        except MarkerError as error:
            print(f"{os.path.relpath(README_FILE)}: {error}", file=sys.stderr)
            return 1
        return 0

    by_id = {concern.id: concern for concern in concerns}
    unknown = [id for id in arguments.ids if id not in by_id]
    if unknown:
        parser.error(f"no concern {', '.join(unknown)}; `python -m sidebyside list` names them")
    color = arguments.color == "always" or (
        arguments.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    rows = resolve([by_id[id] for id in arguments.ids])
    try:
        print("\n\n".join(terminal.render_row(row, color) for row in rows))
    except BrokenPipeError:  # `... | head`: the reader has seen enough
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python's own advice for this case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
