"""The API's documentation: drf-spectacular's OpenAPI document and its Swagger UI page."""

from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from django_books.books.mixins import AllowHeaderMixin


class OpenAPIView(AllowHeaderMixin, SpectacularAPIView):
    """GET /openapi.json: the OpenAPI document drf-spectacular generates from the views."""

    # application/json, as the contract says (OpenApiJsonRenderer sends the OpenAPI media type).
    # A tuple, as DRF takes any sequence: drf-spectacular's attribute is typed as its list.
    renderer_classes = (OpenApiJsonRenderer2,)  # type: ignore[assignment]


class SwaggerUIView(AllowHeaderMixin, SpectacularSwaggerView):
    """GET /docs: Swagger UI, loading drf-spectacular-sidecar's assets from this server."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        """The HTML template for the page (GET, HEAD); JSON for OPTIONS' 204 and for problems."""
        if request.method in {"GET", "HEAD"}:
            return super().perform_content_negotiation(request, force)
        return JSONRenderer(), JSONRenderer.media_type
