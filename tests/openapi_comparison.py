"""Compare the OpenAPI document a framework generates with the canonical one, per operation.

Both documents are first reduced to what a client relies on: for every operation its parameters
(name, location, required, schema), its request body (required, media types, schema), its
responses (status codes, headers, media types, schemas) and its security requirement, with every
$ref resolved. Then the two are diffed, and each difference is one line naming the operation.

Deliberately not compared, and why:
- Prose and naming: summary, description, title, example(s), tags, operationId, component names
  and security scheme names. Each framework names things its own way; clients do not depend on it.
- The name of a path parameter (`{id}`, `{book_id}`): it never appears on the wire, so paths are
  matched with their parameters replaced by position.
- HEAD and OPTIONS everywhere: each app answers both for every route without an operation of its
  own (FastAPI's in one middleware), and the generators leave such automatic methods out by
  design. Both methods are checked in the contract suite and by the canonical document's validation.
- The documentation routes (/openapi.json, /docs): each tool leaves its own routes out of the
  document it generates.
- `format` (int64, ...): where it matters, the schemas carry the explicit minimum and maximum.
- `readOnly` / `writeOnly`: the generators that share one schema between reading and writing mark
  direction with them; the canonical document has separate request and response schemas.
- `additionalProperties` in responses: a response body is built by the server from a fixed model;
  that it has no other keys is checked by the contract suite. In request bodies it is compared.
- Response headers beyond their name, whether they are required and their type: the exact form of
  Link, Location and Allow is the canonical document's (its patterns) and the contract suite's.
- `null` as a type of an optional query or header parameter: pydantic says "optional" that way,
  but a query string or a header cannot carry a null.
- The case of a header parameter's name (`If-Match`, `if-match`): HTTP header names are
  case-insensitive, and generators spell them as the framework's own header lookup does.
"""

import re
from typing import Any

IGNORED_KEYS = frozenset(
    {"description", "summary", "title", "example", "examples", "tags", "operationId"}
    | {"format", "readOnly", "writeOnly", "deprecated", "discriminator"}
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Methods the generators leave out: each framework answers them on every route by itself
# (FastAPI through its middleware).
AUTOMATIC_METHODS = frozenset({"head", "options"})
DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs"})


class Resolver:
    """Follows local $refs (#/components/...) within one document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def __call__(self, node: Any) -> Any:
        """The node with its $ref followed, repeatedly."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node


def normalize_schema(schema: Any, resolve: Resolver, *, request: bool = False) -> Any:
    """A JSON Schema reduced to its constraints: refs resolved, prose dropped, unions flattened."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in IGNORED_KEYS or key.startswith("x-"):
            continue
        if key == "properties":
            result[key] = {
                name: normalize_schema(prop, resolve, request=request)
                for name, prop in value.items()
            }
        elif key in {"items", "additionalProperties"} and isinstance(value, dict):
            result[key] = normalize_schema(value, resolve, request=request)
        elif key in {"anyOf", "oneOf", "allOf"}:
            result[key] = [normalize_schema(branch, resolve, request=request) for branch in value]
        elif key == "required":
            result[key] = sorted(value)
        elif key == "const":
            result["enum"] = [value]
        elif key == "type":
            result[key] = sorted(value) if isinstance(value, list) else [value]
        else:
            result[key] = value
    if not request:
        result.pop("additionalProperties", None)
    return flatten(result)


def flatten(schema: dict[str, Any]) -> dict[str, Any]:
    """Say it one way: allOf of one schema is that schema; anyOf of bare types, a type list."""
    if len(schema.get("allOf", [])) == 1:
        (only,) = schema.pop("allOf")
        schema = {**only, **schema}
    branches = schema.get("anyOf", [])
    others = [branch for branch in branches if branch != {"type": ["null"]}]
    if branches and all(set(branch) == {"type"} for branch in branches):
        # {anyOf: [{type: string}, {type: null}]} is {type: [null, string]}.
        del schema["anyOf"]
        schema["type"] = sorted({kind for branch in branches for kind in branch["type"]})
    elif len(others) == 1 and len(branches) == 2:
        # {anyOf: [X, {type: null}]} is X with "null" among its types.
        del schema["anyOf"]
        schema = {**others[0], **schema, "type": sorted({*others[0].get("type", []), "null"})}
    return schema


def normalize_parameter(parameter: dict[str, Any], resolve: Resolver) -> dict[str, Any]:
    """A parameter's location, requiredness and schema."""
    schema = normalize_schema(parameter.get("schema", {}), resolve)
    if parameter["in"] in {"query", "header"} and not parameter.get("required", False):
        types = schema.get("type", [])
        if "null" in types and len(types) > 1:
            schema["type"] = [t for t in types if t != "null"]
    return {"required": parameter.get("required", False), "schema": schema}


def normalize_content(content: dict[str, Any], resolve: Resolver, *, request: bool) -> Any:
    """Media type -> normalized schema."""
    return {
        media_type: normalize_schema(body.get("schema", {}), resolve, request=request)
        for media_type, body in content.items()
    }


def normalize_response(response: dict[str, Any], resolve: Resolver) -> dict[str, Any]:
    """A response's headers (lower-cased names) and content."""
    response = resolve(response)
    headers = {}
    for name, header in response.get("headers", {}).items():
        header = resolve(header)
        headers[name.lower()] = {
            "required": header.get("required", False),
            "type": normalize_schema(header.get("schema", {}), resolve).get("type"),
        }
    return {
        "headers": headers,
        "content": normalize_content(response.get("content", {}), resolve, request=False),
    }


def security_of(operation: dict[str, Any], document: dict[str, Any]) -> list[list[str]]:
    """The operation's security requirements as the schemes' type and scheme, not their names."""
    requirements = operation.get("security", document.get("security", []))
    schemes = document.get("components", {}).get("securitySchemes", {})
    described = []
    for requirement in requirements:
        described.append(
            sorted(
                f"{schemes[name].get('type')} {schemes[name].get('scheme', '')}".strip()
                for name in requirement
            )
        )
    return sorted(described)


def path_key(path: str) -> str:
    """A path with its parameters replaced by position: /books/{book_id} -> /books/{0}."""
    counter = iter(range(100))
    return re.sub(r"\{[^}]+\}", lambda _: f"{{{next(counter)}}}", path)


def normalize_document(document: dict[str, Any], skip_methods: frozenset[str]) -> dict[str, Any]:
    """Every operation as 'METHOD /path' -> what a client relies on."""
    resolve = Resolver(document)
    operations = {}
    for path, item in document.get("paths", {}).items():
        if path in DOCUMENTATION_PATHS:
            continue
        path_parameters = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item or method in skip_methods:
                continue
            operation = item[method]
            parameters = {}
            for parameter in [*path_parameters, *operation.get("parameters", [])]:
                parameter = resolve(parameter)
                name = parameter["name"]
                if parameter["in"] == "path":
                    name = "{}"
                elif parameter["in"] == "header":
                    name = name.lower()
                parameters[f"{parameter['in']} {name}"] = normalize_parameter(parameter, resolve)
            normalized: dict[str, Any] = {"parameters": parameters}
            if "requestBody" in operation:
                body = resolve(operation["requestBody"])
                normalized["requestBody"] = {
                    "required": body.get("required", False),
                    "content": normalize_content(body.get("content", {}), resolve, request=True),
                }
            normalized["responses"] = {
                str(status): normalize_response(response, resolve)
                for status, response in operation.get("responses", {}).items()
            }
            normalized["security"] = security_of(operation, document)
            operations[f"{method.upper()} {path_key(path)}"] = normalized
    return operations


def differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every place where actual differs from expected, as 'where: canonical X, generated Y'."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(expected.keys() | actual.keys(), key=str):
            here = f"{where}.{key}" if where else str(key)
            if key not in actual:
                found.append(f"{here}: canonical {short(expected[key])}, generated has none")
            elif key not in expected:
                found.append(f"{here}: canonical has none, generated {short(actual[key])}")
            else:
                found.extend(differences(expected[key], actual[key], here))
        return found
    if expected != actual:
        return [f"{where}: canonical {short(expected)}, generated {short(actual)}"]
    return []


def short(value: Any, limit: int = 160) -> str:
    """A value for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare(canonical: dict[str, Any], generated: dict[str, Any], framework: str) -> list[str]:
    """Differences between the canonical and a framework's generated document, one per line."""
    expected = normalize_document(canonical, AUTOMATIC_METHODS)
    actual = normalize_document(generated, AUTOMATIC_METHODS)
    found = []
    for operation in sorted(expected.keys() | actual.keys()):
        if operation not in actual:
            found.append(f"{framework} {operation}: not in the generated document")
        elif operation not in expected:
            found.append(f"{framework} {operation}: not in the canonical document")
        else:
            found.extend(
                f"{framework} {operation}: {line}"
                for line in differences(expected[operation], actual[operation])
            )
    return found
