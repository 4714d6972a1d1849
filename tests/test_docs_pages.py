"""Documentation: GET /openapi.json and Swagger UI at GET /docs, with every asset served locally."""

import re

import httpx2

from tests.contract import describe

# The URLs a page loads by itself: scripts, stylesheets and icons.
ASSET_URL = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


def test_openapi_json_is_an_openapi_document(client: httpx2.Client) -> None:
    """GET /openapi.json: 200, application/json, an OpenAPI 3 document of the books API."""
    response = client.get("/openapi.json")
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json", describe(response)
    document = response.json()
    assert document["openapi"].startswith("3."), document["openapi"]
    assert {"/books", "/health"} <= set(document["paths"]), sorted(document["paths"])


def test_docs_is_swagger_ui_with_every_asset_served_here(client: httpx2.Client) -> None:
    """GET /docs: Swagger UI for /openapi.json, loading only assets that this server serves."""
    response = client.get("/docs")
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"].startswith("text/html"), describe(response)
    page = response.text
    assert "SwaggerUIBundle" in page
    assert "/openapi.json" in page
    assets = ASSET_URL.findall(page)
    # Django's static files carry a content hash in their names: swagger-ui-bundle.<hash>.js.
    assert any(re.search(r"/swagger-ui-bundle(\.[0-9a-f]+)?\.js$", url) for url in assets), assets
    assert any(url.endswith(".css") for url in assets), assets
    for url in assets:
        # A path on this server, not another host ("//cdn..." or "https://...").
        assert re.match(r"/[^/]", url), url
        asset = client.get(url)
        assert asset.status_code == 200, describe(asset)
        assert asset.content, url
