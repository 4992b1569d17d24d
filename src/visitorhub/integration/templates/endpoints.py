"""/integration: manage templates (admin), import rows through one (write), export rows shaped by one (read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.responses import listing, one
from visitorhub.core.router import ADMIN, ERROR_RESPONSES, READ, WRITE, Router
from visitorhub.core.schemas import ApiModel, DataEnvelope, ListEnvelope, MetaDataEnvelope
from visitorhub.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from visitorhub.integration.templates import service as template_service
from visitorhub.integration.templates.execution import ImportOptions, run_import
from visitorhub.integration.templates.export import InvalidCursor, export_page
from visitorhub.integration.templates.loaders import Format
from visitorhub.integration.templates.report import ImportReport
from visitorhub.integration.templates.service import TemplateRead
from visitorhub.integration.templates.spec import Template

MAX_TEMPLATE_BYTES = 1_000_000
MAX_IMPORT_ROWS = 100_000
MAX_EXPORT_LIMIT = 5000
MEDIA_TYPES: dict[str, Format] = {
    "application/json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "application/xml": "xml",
    "text/xml": "xml",
}

router = Router(prefix="/integration", tags=["integration"], responses=ERROR_RESPONSES)


class ImportRequest(ApiModel):
    simulate: bool = Field(False, description="Report what would be done; write nothing")
    verbose: bool = Field(False, description="Add one operation per entity touched to the report")
    stop_on_error: bool = Field(False, description="Stop at the first failing row; apply no later row")
    model: list[dict[str, Any]] = Field(
        max_length=MAX_IMPORT_ROWS, description="The rows, shaped as the template's outside names say"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _one_row(cls, value: Any) -> Any:
        """The seed sends `model: {...}`: a single object is one row."""
        return [value] if isinstance(value, dict) else value


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(
        None,
        description="Only rows created or changed after this instant: yyyyMMddHHmmss or ISO 8601 (UTC "
        "when no offset)",
    )
    cursor: str | None = Field(None, description="The cursor of the next page (from _links.next)")
    limit: int = Field(500, ge=1, le=MAX_EXPORT_LIMIT, description="Root records per page")


async def _template_text(request: Request) -> tuple[str, Format]:
    """The raw body of a PUT and its format, from the Content-Type."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(
            f"Send the template as application/json, application/yaml or application/xml, not "
            f"'{media_type or 'no Content-Type'}'."
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_TEMPLATE_BYTES:
            raise PayloadTooLarge(f"A template is at most {MAX_TEMPLATE_BYTES} bytes.")
    try:
        return bytes(body).decode("utf-8-sig"), fmt
    except UnicodeDecodeError:
        raise BadRequest("The template is not UTF-8 text.", code="invalid_encoding") from None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local $refs replaced by what they name (the template's models nest without
    cycles): the request body's schema stands alone, whatever the components are called."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def template_body_schema() -> dict[str, Any]:
    """A template as a PUT body (JSON or YAML): the Template model, but `name` may be left out (the URL's
    wins) and `builtin` is not the sender's to say."""
    schema = Template.model_json_schema()
    body: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    body["properties"].pop("builtin", None)
    body["required"] = [name for name in body.get("required", []) if name != "name"]
    body["title"] = "TemplateBody"
    return body


TemplateText = Annotated[tuple[str, Format], Depends(_template_text)]
TemplateName = Annotated[str, Path(max_length=100, description="The template's name")]


@router.get(
    "/templates",
    summary="List integration templates",
    dependencies=ADMIN,
    response_model=ListEnvelope[Template],
    description="Built-in (builtin: true, read-only) and saved templates, by name, with their entities.",
)
def list_templates(request: Request, session: DbSession) -> JSONResponse:
    return listing(request.url, [stored.summary() for stored in template_service.list_templates(session)])


@router.get(
    "/templates/{name}",
    summary="Read an integration template",
    dependencies=ADMIN,
    response_model=DataEnvelope[TemplateRead],
)
def get_template(session: DbSession, name: TemplateName) -> JSONResponse:
    return one(template_service.get_template(session, name).detail())


@router.put(
    "/templates/{name}",
    summary="Create or replace an integration template",
    dependencies=ADMIN,
    response_model=DataEnvelope[TemplateRead],
    responses={
        201: {"model": DataEnvelope[TemplateRead], "description": "Created"},
        413: {"description": "The template is larger than 1 MB"},
        415: {"description": "Content-Type is not JSON, YAML or XML"},
    },
    description="The body is the template as JSON (application/json), YAML (application/yaml) or the seed's "
    "XML form (application/xml). It is validated before it is saved: a 400 names the element at fault in "
    "`field`. 201 when created, 200 when replaced; built-in names are read-only (409).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": template_body_schema() if fmt != "xml" else {"type": "string"}}
                for media, fmt in sorted(MEDIA_TYPES.items())
            },
        }
    },
)
def put_template(session: DbSession, name: TemplateName, body: TemplateText) -> JSONResponse:
    text, fmt = body
    stored, created = template_service.put_template(session, name, text, fmt)
    return one(stored.detail(), 201 if created else 200)


@router.delete(
    "/templates/{name}",
    summary="Delete an integration template",
    dependencies=ADMIN,
    status_code=204,
    response_class=Response,
)
def delete_template(session: DbSession, name: TemplateName) -> Response:
    template_service.delete_template(session, name)
    return Response(status_code=204)


@router.post(
    "/{template}",
    summary="Import rows through a template",
    dependencies=WRITE,
    response_model=DataEnvelope[ImportReport],
    description="Each row of `model` feeds the template's entities; a row is applied entirely or not at all. "
    "`simulate` writes nothing, `verbose` lists the operations, `stopOnError` stops at the first failing row.",
)
def import_rows(
    session: DbSession, ctx: WriteCtx, template: Annotated[str, Path()], body: ImportRequest
) -> JSONResponse:
    spec = template_service.resolve(session, template)
    if spec.direction != "in":
        raise BadRequest(
            f"Template '{template}' is an export (out) template; import through an 'in' template.",
            field="template",
            code="wrong_direction",
        )
    options = ImportOptions(simulate=body.simulate, verbose=body.verbose, stop_on_error=body.stop_on_error)
    return one(run_import(session, spec, body.model, options, ctx).as_json())


@router.get(
    "/{template}",
    summary="Export rows shaped by a template",
    dependencies=READ,
    response_model=MetaDataEnvelope[list[dict[str, Any]]],
    description="Rows of an `out` template for the records created or changed after `since` (all without "
    "it), one page of `limit` root records at a time; follow `_links.next` until it is absent.",
)
def export_rows(
    request: Request,
    session: DbSession,
    template: Annotated[str, Path()],
    query: Annotated[ExportQuery, Query()],
) -> JSONResponse:
    spec = template_service.resolve(session, template)
    if spec.direction != "out":
        raise BadRequest(
            f"Template '{template}' is an import (in) template; export through an 'out' template.",
            field="template",
            code="wrong_direction",
        )
    since = None
    if query.since is not None:
        try:
            since = template_service.parse_since(query.since)
        except ValueError as exc:
            raise BadRequest(f"since: {exc}", field="since", code="invalid_date") from None
    try:
        rows, next_cursor = export_page(session, spec, since, query.cursor, query.limit)
    except InvalidCursor as exc:
        raise BadRequest(f"cursor: {exc}", field="cursor", code="invalid_cursor") from None
    return listing(request.url, rows, {"cursor": next_cursor} if next_cursor else None)
