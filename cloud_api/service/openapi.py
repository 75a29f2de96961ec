"""OpenAPI 3.1 documents built from the pydantic models the handlers use.

Each service keeps one declarative list of its operations (method, path,
request model, response model, auth): cloud_api/openapi_routes.py and
gateway/openapi_routes.py. This module turns such a list into a document
whose `components.schemas` come from the same models that validate the wire
(`TypeAdapter.json_schemas`), so the document cannot drift from the checks.
tests/*/test_openapi_fuzz.py run schemathesis against the documents, which is
what keeps a list honest about its routes' answers.

Every operation may answer the shared error shape {"error": {"code", "message"}}
(cloud_api/service/web.py) for any 4xx.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, TypeAdapter

REF_TEMPLATE = "#/components/schemas/{model}"


class ErrorDetail(BaseModel):
    """code and message, and where an error has them its details beside (ServiceError.details: a refused
    look-up's `kind` and `receipt`, say), for programs to read instead of the message."""
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorBody(BaseModel):
    """What every error answer carries (cloud_api/service/web.py error_body)."""

    error: ErrorDetail


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter; `schema` is plain JSON Schema."""

    name: str
    where: Literal["path", "query", "header"]
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One route as its clients see it. `response` is any type pydantic can describe, or None for no body."""

    method: str
    path: str
    summary: str
    response: Any
    request: Any = None
    status: int = 200
    # The bearer scheme that opens it (a name from the document's `bearer` schemes), or None: open to all.
    auth: str | None = "bearer"
    parameters: tuple[Parameter, ...] = ()
    # Other answers than success and 4xx, e.g. {304: "the catalog has not changed"} (no body).
    other: dict[int, str] = field(default_factory=dict)
    # A 5xx this route gives by design (the box's catalog before it has arrived), with the error shape.
    server_errors: dict[int, str] = field(default_factory=dict)


def openapi_document(title: str, description: str, operations: list[Operation],
                     bearer: dict[str, str], version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`; `bearer` names each bearer-token scheme and says what it is."""
    inputs: list[tuple[Any, Literal["validation", "serialization"], TypeAdapter[Any]]] = [
        ("error", "serialization", TypeAdapter(ErrorBody))]
    for op in operations:
        if op.request is not None:
            inputs.append(((op.method, op.path, "request"), "validation", TypeAdapter(op.request)))
        if op.response is not None:
            inputs.append(((op.method, op.path, "response"), "serialization", TypeAdapter(op.response)))
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)
    error = _json_content(schemas[("error", "serialization")])

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        if op.auth is not None and op.auth not in bearer:
            raise ValueError(f"{op.method} {op.path}: no bearer scheme named {op.auth!r}")
        key = (op.method, op.path)
        success: dict[str, Any] = {"description": op.summary}
        if op.response is not None:
            success.update(_json_content(schemas[(key + ("response",), "serialization")]))
        responses: dict[str, Any] = {str(op.status): success}
        responses.update({str(status): {"description": text} for status, text in op.other.items()})
        responses["4XX"] = {"description": "refused: the error says why", **error}
        responses.update({str(status): {"description": text, **error} for status, text in op.server_errors.items()})
        operation: dict[str, Any] = {
            "operationId": _operation_id(op),
            "summary": op.summary,
            "parameters": [_parameter(p) for p in op.parameters],
            "responses": responses,
            "security": [{op.auth: []}] if op.auth else [],
        }
        if op.request is not None:
            operation["requestBody"] = {"required": True,
                                        **_json_content(schemas[(key + ("request",), "validation")])}
        paths.setdefault(op.path, {})[op.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {name: {"type": "http", "scheme": "bearer", "description": text}
                                for name, text in bearer.items()},
        },
    }


def openapi_route(path: str, document: dict[str, Any]) -> web.RouteDef:
    """GET `path` answers `document` (built once, when the routes are made)."""
    async def serve(_request: web.Request) -> web.Response:
        return web.json_response(document)
    return web.get(path, serve)


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _parameter(p: Parameter) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                                 "schema": p.schema}
    if p.description:
        parameter["description"] = p.description
    return parameter


def _operation_id(op: Operation) -> str:
    # GET /v1/shops/{shop_id}/reports/summary -> get_shops_shop_id_reports_summary
    words = op.path.replace(":", "/").replace("-", "_").replace("{", "").replace("}", "").split("/")
    return "_".join([op.method.lower(), *(w for w in words if w and w not in ("api", "v1"))])
