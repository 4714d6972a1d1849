"""Every response the contract suite sees must be one the canonical OpenAPI document describes.

`check_response` is attached to each test client as an httpx2 response hook (`attach`), so it runs
for every request of every contract test, in-process or against a live server. It finds the
operation by path template and method, then checks the status, the headers, the Content-Type and
the body against `shared_fixtures/openapi.yaml`. Body and header schemas are checked with
jsonschema (the reference implementation of JSON Schema); the rest is the document read directly:

- a path that matches no path template, or whose path parameters break their schemas (`/books/01`),
  is not a route: the only answer it has is `#/components/responses/NotFound`;
- a method not listed under a path has only `#/components/responses/MethodNotAllowed`, whose
  `Allow` header lists exactly the methods that are listed;
- `HEAD` is `GET` without a body: its status and headers come from the `HEAD` operation, its
  Content-Type from the `GET` response of the same status;
- the files of the Swagger UI page live where each framework puts them, outside the document.
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import yaml
from jsonschema import Draft202012Validator

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "shared_fixtures" / "openapi.yaml"
DOCUMENT: dict[str, Any] = yaml.safe_load(DOCUMENT_PATH.read_text())
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
# Response headers the contract gives a meaning to: one the document does not list is a failure.
CONTRACT_HEADERS = ("Location", "Allow", "WWW-Authenticate", "X-Total-Count", "Link", "ETag")
NOT_A_ROUTE = {"404": {"$ref": "#/components/responses/NotFound"}}
METHOD_NOT_ALLOWED = {"405": {"$ref": "#/components/responses/MethodNotAllowed"}}
# The files of the Swagger UI page: where they live, under one of these, is each framework's own
# and not part of the contract (CONTRACT.md, "Documentation"), so a 200 there is not the document's.
ASSET_PREFIXES = ("/static/", "/docs/")


class UndescribedResponse(AssertionError):
    """A response that the canonical document does not describe."""


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` ("#/components/...") to what it names."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@cache
def validator(schema_json: str) -> Draft202012Validator:
    """A validator for a schema of the document (OpenAPI 3.1 schemas are JSON Schema 2020-12).

    The document's components sit beside the schema, so its "#/components/..." references resolve.
    """
    return Draft202012Validator({**json.loads(schema_json), "components": DOCUMENT["components"]})


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    """What is wrong with the instance, one line per error, with where it is."""
    errors = validator(json.dumps(schema, sort_keys=True)).iter_errors(instance)
    return [f"{error.json_path}: {error.message}" for error in errors]


def typed_value(raw: str, schema: dict[str, Any]) -> Any:
    """Text from a path or header as the value its schema describes: an integer in plain digits."""
    if resolve(schema).get("type") == "integer" and re.fullmatch(r"0|[1-9][0-9]*", raw):
        return int(raw)
    return raw


def find_path_item(path: str) -> tuple[str, dict[str, Any]] | None:
    """The path template this path is a route of, and its path item; None when it is no route."""
    for template, item in DOCUMENT["paths"].items():
        parts = re.split(r"\{(\w+)\}", template)  # literal text and parameter names, alternating
        pattern = "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(parts)
        )
        match = re.fullmatch(pattern, path)
        if match is None:
            continue
        schemas = {
            resolve(parameter)["name"]: resolve(parameter)["schema"]
            for parameter in item.get("parameters", [])
        }
        if not any(
            schema_errors(schemas[name], typed_value(value, schemas[name]))
            for name, value in match.groupdict().items()
        ):
            return template, item
    return None


def documented_responses(method: str, path: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Where the document describes this request, its responses, and the path item (or {})."""
    found = find_path_item(path)
    if found is None:
        return "no route (info.description: 404)", NOT_A_ROUTE, {}
    template, item = found
    operation = item.get(method.lower())
    if operation is None:
        return f"{template}, {method} not listed (405)", METHOD_NOT_ALLOWED, item
    return f"{method} {template}", operation["responses"], item


def response_for_status(responses: dict[str, Any], status: int) -> dict[str, Any] | None:
    """The documented response for this status: exact code, then its class (4XX), then default."""
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return resolve(responses[key])
    return None


def problems(response: httpx2.Response) -> tuple[str, list[str]]:
    """Where the document describes the response's request, and all it finds wrong."""
    method, path = response.request.method, response.request.url.path
    if (
        method in {"GET", "HEAD"}
        and response.status_code == 200
        and path.startswith(ASSET_PREFIXES)
    ):
        return "a documentation asset", []
    where, responses, path_item = documented_responses(method, path)
    documented = response_for_status(responses, response.status_code)
    if documented is None:
        return where, [
            f"status {response.status_code} is not documented; it lists {sorted(responses)}"
        ]
    found = check_headers(response, documented, path_item)
    if method == "HEAD":
        if response.content:
            found.append("a HEAD response has a body")
        _, as_get, _ = documented_responses("GET", path)
        documented = response_for_status(as_get, response.status_code) or documented
    return where, found + check_content(response, documented, method)


def check_headers(
    response: httpx2.Response, documented: dict[str, Any], path_item: dict[str, Any]
) -> list[str]:
    """Required headers are there, present ones are valid, no contract header is undocumented."""
    found = []
    headers = {
        name.lower(): resolve(header) for name, header in documented.get("headers", {}).items()
    }
    for name, header in headers.items():
        if name not in response.headers:
            if header.get("required", False):
                found.append(f"the required header {name} is missing")
            continue
        value = typed_value(response.headers[name], header["schema"])
        found += [f"header {name}: {error}" for error in schema_errors(header["schema"], value)]
    for name in CONTRACT_HEADERS:
        if name.lower() in response.headers and name.lower() not in headers:
            found.append(f"the header {name} is not documented for this response")
    if "allow" in response.headers and path_item:
        listed = {method.upper() for method in path_item if method in METHODS}
        allowed = response.headers["allow"].split(", ")
        if sorted(allowed) != sorted(listed):
            found.append(f"Allow lists {allowed}; the path lists {sorted(listed)}")
    return found


def check_content(response: httpx2.Response, documented: dict[str, Any], method: str) -> list[str]:
    """The Content-Type is a documented media type, and the body is valid against its schema."""
    content = documented.get("content", {})
    content_type = response.headers.get("content-type")
    if not content:
        if content_type is not None or response.content:
            return [f"no body is documented, but it has Content-Type {content_type!r} and a body"]
        return []
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in content:
        return [f"Content-Type {content_type!r} is not documented; it lists {sorted(content)}"]
    if method == "HEAD" or "schema" not in content[media_type]:
        return []
    if media_type.endswith("json"):
        try:
            body = response.json()
        except ValueError:
            return [f"the body is not JSON: {response.text[:200]!r}"]
    else:
        body = response.text
    return [f"body {error}" for error in schema_errors(content[media_type]["schema"], body)]


CHECK_HOOK_NAME = "check_against_the_canonical_document"


def check_response(framework: str) -> Callable[[httpx2.Response], None]:
    """A response hook that fails on any response the canonical document does not describe."""

    def hook(response: httpx2.Response) -> None:
        response.read()
        where, found = problems(response)
        if found:
            request = response.request
            raise UndescribedResponse(
                f"{framework}: {request.method} {request.url.raw_path.decode()} -> "
                f"{response.status_code}: not as {DOCUMENT_PATH.name} describes it ({where}):\n  "
                + "\n  ".join(found)
            )

    hook.__name__ = CHECK_HOOK_NAME
    return hook


@contextmanager
def unchecked(client: httpx2.Client) -> Iterator[httpx2.Client]:
    """The client without its check against the document, for the block."""
    hooks = client.event_hooks
    client.event_hooks = {
        **hooks,
        "response": [hook for hook in hooks["response"] if hook.__name__ != CHECK_HOOK_NAME],
    }
    try:
        yield client
    finally:
        client.event_hooks = hooks


def attach(client: httpx2.Client, framework: str) -> httpx2.Client:
    """Check every response this client receives against the canonical document."""
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "response": [*hooks["response"], check_response(framework)]}
    return client
