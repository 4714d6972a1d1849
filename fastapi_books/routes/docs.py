"""GET /docs: Swagger UI for FastAPI's own /openapi.json, with every asset served by the app."""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

# The route name of the StaticFiles mount that serves Swagger UI's JavaScript, CSS and favicon.
SWAGGER_UI_ASSETS = "swagger-ui-assets"

router = APIRouter(tags=["docs"], include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def read_docs(request: Request) -> HTMLResponse:
    """Swagger UI, loading its assets from this app instead of FastAPI's default CDN."""

    def asset(name: str) -> str:
        return str(request.app.url_path_for(SWAGGER_UI_ASSETS, path=name))

    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=asset("swagger-ui-bundle.js"),
        swagger_css_url=asset("swagger-ui.css"),
        swagger_favicon_url=asset("favicon.png"),
        # No online validator badge: the page makes no request beyond this app.
        swagger_ui_parameters={"validatorUrl": None},
    )
