"""The terminal view: one concern's three cells, one after another."""

import textwrap

from pygments import highlight
from pygments.formatters import TerminalFormatter
from pygments.lexers import get_lexer_by_name

from sidebyside.extract import Snippet, lines
from sidebyside.mapping import FRAMEWORKS, Row, own_line_count

WIDTH = 100


def render_row(row: Row, color: bool) -> str:
    """A concern as text: its title and note, then each framework's snippets."""
    concern = row.concern
    parts = [f"{concern.title} [{concern.id}]", textwrap.fill(concern.note, WIDTH), ""]
    for framework, name in FRAMEWORKS.items():
        snippets = row.cells[framework]
        heading = f"== {name}: {lines(own_line_count(snippets))} "
        parts += [heading.ljust(WIDTH, "="), ""]
        parts += [render_snippet(snippet, color) for snippet in snippets]
    return "\n".join(parts)


def render_snippet(snippet: Snippet, color: bool) -> str:
    """A snippet under its path, name and line range; highlighted when color is on."""
    where = f"{snippet.path}:{snippet.first_line}"
    if snippet.last_line != snippet.first_line:
        where += f"-{snippet.last_line}"
    caption = f"-- {where} {snippet.name} ({lines(snippet.line_count)})"
    if snippet.library:
        caption += ", the framework's own code"
    source = snippet.source
    if color:
        lexer = get_lexer_by_name(snippet.language)
        source = highlight(source, lexer, TerminalFormatter()).rstrip("\n")
    return f"{caption}\n{source}\n"
