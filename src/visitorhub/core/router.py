"""crud_routes(resource, router): the list / get / create / update / delete routes of a Resource."""

# No `from __future__ import annotations` here: the generated endpoints annotate with local classes,
# which FastAPI must see as objects, not strings.

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from visitorhub.core.auth import require
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import (
    FieldsQuery,
    apply_sort,
    list_query_model,
    page_links,
    parse_fields,
    select_fields,
)
from visitorhub.core.resource import Resource
from visitorhub.core.schemas import ErrorEnvelope, data_envelope, list_envelope
from visitorhub.errors import NotFound

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in {
        400: "Bad request (malformed JSON, unknown sort/fields/filter name)",
        401: "Missing or invalid API key",
        403: "The key's scope does not allow this operation",
        404: "Not found",
        409: "Conflict with an existing record",
        422: "Validation error naming the field",
    }.items()
}

READ = [Depends(require("read"))]
WRITE = [Depends(require("write"))]


def with_path_params(
    func: Callable[..., Any], params: list[tuple[str, Any]], **annotations: Any
) -> Callable[..., Any]:
    """Give `func` (which takes **path) explicit path parameters, so FastAPI validates and documents them;
    `annotations` replace those of named parameters (models known only at run time)."""
    signature = inspect.signature(func)
    fixed = [
        p.replace(annotation=annotations.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    extra = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[annotation, Path(alias=name)]
        )
        for name, annotation in params
    ]
    func.__signature__ = signature.replace(parameters=fixed + extra)  # type: ignore[attr-defined]
    return func


def path_params(resource: Resource, item: bool) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = []
    if resource.parent:
        params.append((resource.parent.param, resource.parent.annotation))
    if item:
        assert resource.key
        params.append((resource.key, resource.key_annotation))
    return params


def check_parent(session: Session, resource: Resource, path: dict[str, Any]) -> None:
    parent = resource.parent
    if parent and session.get(parent.model, path[parent.param]) is None:
        raise NotFound(f"{parent.label} {path[parent.param]} does not exist.", field=parent.param)


def scoped(resource: Resource, stmt: Select[Any], path: dict[str, Any]) -> Select[Any]:
    if resource.parent:
        stmt = stmt.where(getattr(resource.model, resource.parent.column) == path[resource.parent.param])
    return stmt


def load_item(session: Session, resource: Resource, path: dict[str, Any]) -> Any:
    """The addressed record, or a 404 naming the parent or the key that does not exist."""
    check_parent(session, resource, path)
    assert resource.key
    stmt = scoped(resource, select(resource.model), path).where(
        getattr(resource.model, resource.key_column) == path[resource.key]
    )
    obj = session.scalars(stmt).first()
    if obj is None:
        raise NotFound(f"{resource.entity} {path[resource.key]} does not exist.", field=resource.key)
    return obj


def data_response(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"data": data}, status_code=status_code)


def list_response(request: Request, resource: Resource, rows: list[Any], query: Any) -> JSONResponse:
    """A page: `rows` holds up to limit + 1 records; the extra one only says that a next page exists."""
    fields = parse_fields(resource, query.fields)
    has_next = len(rows) > query.limit
    data = [select_fields(resource.service.represent(row), fields) for row in rows[: query.limit]]
    links = page_links(request.url, query.offset, query.limit, has_next)
    return JSONResponse({"data": data, "metadata": {"version": 1, "_links": links}})


def filtered(resource: Resource, stmt: Select[Any], query: BaseModel) -> Select[Any]:
    if resource.base_filter:
        stmt = resource.base_filter(stmt, query)
    for f in resource.filters:
        value = getattr(query, f.name)
        if value is not None:
            stmt = f.apply(stmt, value)
    return stmt


def crud_routes(resource: Resource, router: APIRouter) -> APIRouter:
    """Add the operations named in `resource.summaries` to `router` (after any custom routes)."""
    read_model = resource.read
    ops = resource.summaries

    def add(op: str, method: str, endpoint: Callable[..., Any], item: bool, **extra: Any) -> None:
        """Register one operation: path, summary, description, operation id and error docs from `resource`."""
        router.add_api_route(
            resource.item_path if item else resource.path,
            with_path_params(endpoint, path_params(resource, item), **extra.pop("annotations", {})),
            methods=[method],
            summary=ops[op],
            description=resource.descriptions.get(op, ""),
            operation_id=f"{op}_{resource.name}",
            tags=[resource.tag],
            responses=ERROR_RESPONSES,
            **extra,
        )

    if "list" in ops:
        query_model = list_query_model(resource)

        def list_items(request: Request, session: DbSession, query: Any, **path: Any) -> Response:
            check_parent(session, resource, path)
            stmt = filtered(resource, scoped(resource, select(resource.model), path), query)
            stmt = apply_sort(resource, stmt, query.sort)
            parse_fields(resource, query.fields)
            rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
            return list_response(request, resource, rows, query)

        add(
            "list",
            "GET",
            list_items,
            False,
            annotations={"query": Annotated[query_model, Query()]},
            response_model=list_envelope(read_model),
            dependencies=READ,
        )

    if "create" in ops:
        assert resource.create
        create_model = resource.create

        def create_item(session: DbSession, ctx: WriteCtx, body: Any, **path: Any) -> Response:
            check_parent(session, resource, path)
            values = body.model_dump()
            if resource.parent:
                values[resource.parent.column] = path[resource.parent.param]
            obj = resource.service.create(session, values, ctx)
            return data_response(resource.service.represent(obj), resource.create_status)

        add(
            "create",
            "POST",
            create_item,
            False,
            annotations={"body": Annotated[create_model, Body()]},
            response_model=data_envelope(read_model),
            status_code=resource.create_status,
            dependencies=WRITE,
        )

    if "get" in ops:

        def get_item(session: DbSession, query: Annotated[FieldsQuery, Query()], **path: Any) -> Response:
            obj = load_item(session, resource, path)
            fields = parse_fields(resource, query.fields)
            return data_response(select_fields(resource.service.represent(obj), fields))

        add("get", "GET", get_item, True, response_model=data_envelope(read_model), dependencies=READ)

    if "update" in ops:
        assert resource.update
        update_model = resource.update

        def update_item(session: DbSession, ctx: WriteCtx, body: Any, **path: Any) -> Response:
            obj = load_item(session, resource, path)
            resource.service.update(session, obj, body.model_dump(exclude_unset=True), ctx)
            return data_response(resource.service.represent(obj))

        add(
            "update",
            "PATCH",
            update_item,
            True,
            annotations={"body": Annotated[update_model, Body()]},
            response_model=data_envelope(read_model),
            dependencies=WRITE,
        )

    if "delete" in ops:

        def delete_item(session: DbSession, ctx: WriteCtx, **path: Any) -> Response:
            obj = load_item(session, resource, path)
            resource.service.delete(session, obj, ctx)
            return Response(status_code=204)

        add(
            "delete",
            "DELETE",
            delete_item,
            True,
            status_code=204,
            response_class=Response,
            dependencies=WRITE,
        )
    return router
