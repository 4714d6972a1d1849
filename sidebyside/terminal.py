"""The terminal view: one concern's three cells, one after another."""

import textwrap

from pygments import highlight
from pygments.formatters import TerminalFormatter
from pygments.lexers import get_lexer_by_name

from sidebyside.extract import lines
from sidebyside.mapping import FRAMEWORKS, KINDS, Block, Row, own_line_count

WIDTH = 100


def render_row(row: Row, color: bool) -> str:
    """A concern as text: its title and note, then each framework's blocks."""
    concern = row.concern
    parts = [f"{concern.title} [{concern.id}]", textwrap.fill(concern.note, WIDTH), ""]
    for framework, name in FRAMEWORKS.items():
        blocks = row.cells[framework]
        heading = f"== {name}: {lines(own_line_count(blocks))} "
        parts += [heading.ljust(WIDTH, "="), ""]
        parts += [render_block(block, color) for block in blocks]
    return "\n".join(parts)


def render_block(block: Block, color: bool) -> str:
    """A snippet under its kind, path, name and line range; highlighted when color is on."""
    snippet = block.snippet
    where = f"{snippet.path}:{snippet.first_line}"
    if snippet.last_line != snippet.first_line:
        where += f"-{snippet.last_line}"
    caption = f"-- [{KINDS[block.kind]}] {where} {snippet.name} ({lines(snippet.line_count)})"
    if snippet.library:
        caption += ", the framework's own code"
    source = snippet.source
    if color:
        lexer = get_lexer_by_name(snippet.language)
        source = highlight(source, lexer, TerminalFormatter()).rstrip("\n")
    return f"{caption}\n{source}\n"
