"""Content negotiation that never looks at Accept."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class IgnoreAcceptNegotiation(DefaultContentNegotiation):
    """Always answer with the first renderer (JSON): Accept changes nothing, so there is no 406."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """The first renderer and its media type, whatever the request asks for."""
        return renderers[0], renderers[0].media_type
