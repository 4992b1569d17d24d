"""resource_router(resource): the list / get / create / update / delete routes of a Resource, and what
every route shares (scopes, error documentation, operation ids, static-before-parameterised order)."""

# No `from __future__ import annotations` here: the generated endpoints annotate with local classes,
# which FastAPI must see as objects, not strings.

import copy
import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, get_args, get_origin

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query, Request, Response, params
from fastapi.dependencies.utils import get_typed_signature
from fastapi.routing import APIRoute
from fastapi.security import SecurityScopes
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from visitorhub.core.auth import require
from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import (
    FieldsQuery,
    apply_sort,
    list_query_model,
    parse_fields,
    select_fields,
)
from visitorhub.core.resource import Resource
from visitorhub.core.responses import one, page
from visitorhub.core.schemas import (
    HARDENED,
    INT64_MAX,
    INT64_MIN,
    ErrorEnvelope,
    HardenedModel,
    data_envelope,
    list_envelope,
)
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
ADMIN = [Depends(require("admin"))]


def operation_id(route: APIRoute) -> str:
    """The operationId generated clients name their methods after: the endpoint's name in camelCase
    (`revoke_api_key` -> `revokeApiKey`); generated routes are named from their resource and action."""
    return to_camel(route.name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


def route_order(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Routes with a literal segment before those with a parameter in the same place
    (`/visitors/details` before `/visitors/{visitorId}`), whatever order they were declared in."""

    def key(route: BaseRoute) -> tuple[bool, ...]:
        path: str = getattr(route, "path", "")
        return tuple(segment.startswith("{") for segment in path.split("/"))

    return sorted(routes, key=key)


# Parameters FastAPI fills from the connection rather than from the request's values.
_SPECIAL = (Request, Response, HTTPConnection, BackgroundTasks, SecurityScopes)


def _hardened_class(model: type[BaseModel]) -> type[BaseModel]:
    """A model class whose own fields are hardened: itself, or (for a plain BaseModel) a subclass with the
    same name that adds the hardening hook (what the endpoint receives is still an instance of `model`)."""
    if getattr(model, "__hardened__", False):
        return model
    found = _HARDENED_CLASSES.get(model)
    if found is None:
        found = type(model.__name__, (model, HardenedModel), {"__module__": model.__module__})
        found.__qualname__ = model.__qualname__
        _HARDENED_CLASSES[model] = found
    return found


_HARDENED_CLASSES: dict[type[BaseModel], type[BaseModel]] = {}


def _hardened_annotation(annotation: Any, default: Any) -> Any:
    """The annotation of a parameter FastAPI reads from the request, hardened; others unchanged."""
    if isinstance(default, params.Depends):
        return annotation
    base: Any = annotation
    metadata: tuple[Any, ...] = ()
    if get_origin(annotation) is Annotated:
        base, *rest = get_args(annotation)
        metadata = tuple(rest)
    if any(isinstance(item, params.Depends) or item is HARDENED for item in metadata):
        return annotation
    if isinstance(base, type) and issubclass(base, _SPECIAL):
        return annotation
    if isinstance(base, type) and issubclass(base, BaseModel):
        hardened = _hardened_class(base)
        return annotation if hardened is base else Annotated[(hardened, *metadata)] if metadata else hardened
    return Annotated[(base, *metadata, HARDENED)]


def _harden_documented_fields(annotation: Any) -> None:
    """The fields FastAPI documents a query (header, cookie) model with are its own copies of the model's
    fields (fastapi's get_cached_model_fields): give them the bounds the model validates with."""
    from fastapi._compat import get_cached_model_fields

    base, *metadata = get_args(annotation) if get_origin(annotation) is Annotated else (annotation,)
    if not (isinstance(base, type) and issubclass(base, BaseModel)):
        return
    if not any(isinstance(item, params.Query | params.Header | params.Cookie) for item in metadata):
        return
    for field in get_cached_model_fields(base):
        info = field.field_info
        if any(item is HARDENED for item in info.metadata):
            continue
        info = copy.copy(info)  # the model's own FieldInfo: left as it is
        info.metadata = [*info.metadata, HARDENED]
        field.field_info = info
        field.__post_init__()


def harden_endpoint(call: Callable[..., Any]) -> None:
    """Give `call` (an endpoint or a dependency) a signature whose request parameters are hardened
    (core/schemas.py): integers within int64 and storable text, whatever the parameter's type or its
    model's base class. FastAPI builds every route's validation from the signature."""
    if getattr(call, "__hardened_signature__", False):
        return
    signature = get_typed_signature(call)
    changed = [
        p.replace(annotation=_hardened_annotation(p.annotation, p.default))
        for p in signature.parameters.values()
    ]
    for parameter in changed:
        _harden_documented_fields(parameter.annotation)
    try:
        call.__signature__ = signature.replace(parameters=changed)  # type: ignore[attr-defined]
        call.__hardened_signature__ = True  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # a builtin or a slotted callable: nothing FastAPI reads from it
        pass


def _dependencies_of(call: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """The callables `call`'s parameters depend on (`= Depends(f)`, `Annotated[T, Depends(f)]`, `Depends()`)."""
    for parameter in get_typed_signature(call).parameters.values():
        annotation = parameter.annotation
        marks = [parameter.default]
        if get_origin(annotation) is Annotated:
            annotation, *metadata = get_args(annotation)
            marks += metadata
        for mark in marks:
            if isinstance(mark, params.Depends):
                dependency = mark.dependency or annotation
                if callable(dependency):
                    yield dependency


def harden_tree(call: Callable[..., Any]) -> None:
    """Harden `call` and every dependency below it (harden_endpoint), before FastAPI reads them."""
    stack, seen = [call], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        harden_endpoint(current)
        stack.extend(_dependencies_of(current))


class Router(APIRouter):
    """The router every part of the API declares its routes on. Each endpoint and dependency is hardened
    before FastAPI builds its route, and the route is named by operation_id, so that an app serves the
    routes as they are built: once per process, shared by every app (an app that included routers would
    build its own copy of every route on its first request, FastAPI 0.165: about 0.3 s for 180 routes)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("generate_unique_id_function", operation_id)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        for dependency in [*self.dependencies, *(kwargs.get("dependencies") or ())]:
            if dependency.dependency is not None:
                harden_tree(dependency.dependency)
        harden_tree(endpoint)
        super().add_api_route(path, endpoint, **kwargs)


def _resolve(schema: Any, components: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _response_fields(operation: dict[str, Any], components: dict[str, Any]) -> tuple[str, set[str]] | None:
    """Where the fields of a success response's `data` are (a JSON pointer) and their names."""
    for status, response in operation.get("responses", {}).items():
        if not str(status).startswith("2"):
            continue
        schema = _resolve(response.get("content", {}).get("application/json", {}).get("schema"), components)
        data = _resolve((schema or {}).get("properties", {}).get("data"), components) if schema else None
        if not isinstance(data, dict):
            continue
        if data.get("type") == "array":
            items = _resolve(data.get("items"), components)
            if isinstance(items, dict) and items.get("properties"):
                return "/data/0", set(items["properties"])
        elif data.get("properties"):
            return "/data", set(data["properties"])
    return None


def _path_params(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]


def int64_bounds(node: Any) -> None:
    """FastAPI's OpenAPI models hold `minimum`/`maximum` as floats, which turn the int64 bounds into 2**63
    (one past the largest int64): put the exact integers back, and say `format: int64`."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key, exact in (("minimum", INT64_MIN), ("maximum", INT64_MAX)):
                if isinstance(node.get(key), float) and node[key] == float(exact):
                    node[key] = exact
            if node.get("minimum") == INT64_MIN or node.get("maximum") == INT64_MAX:
                node.setdefault("format", "int64")
        for value in node.values():
            int64_bounds(value)
    elif isinstance(node, list):
        for value in node:
            int64_bounds(value)


def openapi_links(document: dict[str, Any]) -> dict[str, Any]:
    """Add OpenAPI links to `document`: from an operation whose success response carries a field (a create,
    a replace, a list) to every operation whose path parameters that field (and the first operation's own
    path parameters) fill, e.g. `createVisitor` -> `getVisitor` with `visitorId` from
    `$response.body#/data/visitorId`. Clients and the fuzzer's stateful phase follow them."""
    components = document.get("components", {}).get("schemas", {})
    operations = [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]

    found_in = {
        id(operation): _response_fields(operation, components) for _path, _method, operation in operations
    }
    # Fields that a write returns without being given them: a list links only the fields no write
    # makes (a delivery's id).
    written = {
        name
        for _path, method, operation in operations
        if method != "get" and found_in[id(operation)] is not None
        for name in found_in[id(operation)][1]  # type: ignore[index]
        if name not in _path_params(operation)
    }
    for path, method, source in operations:
        found = found_in[id(source)]
        if found is None or (method == "get" and not found[0].endswith("/0")):
            continue
        pointer, fields = found
        if method == "get":
            fields = fields - written
        own = set(_path_params(source))
        prefix = path.split("{", 1)[0].rstrip("/")
        links: dict[str, Any] = {}
        for target_path, _target_method, target in operations:
            names = _path_params(target)
            # A field fills a parameter of the same name when it is an id (visitorId, deliveryId), or
            # when the target lies under the source's path (a template's name, a centre's pcCode).
            related = target_path.startswith(prefix + "/") or target_path == path
            taken = [name for name in names if name in fields and (name.endswith("Id") or related)]
            if target is source or not taken:
                continue
            if not all(name in taken or name in own for name in names):
                continue
            links[target["operationId"]] = {
                "operationId": target["operationId"],
                "parameters": {
                    name: f"$response.body#{pointer}/{name}" if name in taken else f"$request.path.{name}"
                    for name in names
                },
            }
        if links:
            for status, response in source["responses"].items():
                if str(status).startswith("2"):
                    response["links"] = links
    return document


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
    parent = resource.parent_resource
    if parent is not None:
        params.append((parent.key or "", parent.key_type))
    if item:
        params.append((resource.key or "", resource.key_type))
    return params


def check_parent(session: Session, resource: Resource, path: dict[str, Any]) -> None:
    """404 naming the parent when the record the path hangs from does not exist."""
    parent = resource.parent_resource
    if parent is None:
        return
    value = path[parent.key or ""]
    stmt = select(getattr(parent.model, parent.key_attr)).where(
        getattr(parent.model, parent.key_attr) == value
    )
    if session.scalar(stmt) is None:
        raise NotFound(f"{parent.entity} {value} does not exist.", field=parent.key)


def scoped(resource: Resource, stmt: Select[Any], path: dict[str, Any]) -> Select[Any]:
    if resource.parent_attr:
        stmt = stmt.where(getattr(resource.model, resource.parent_attr) == path[resource.parent_field or ""])
    return stmt


def load_item(session: Session, resource: Resource, path: dict[str, Any]) -> Any:
    """The addressed record, or a 404 naming the parent or the key that does not exist."""
    check_parent(session, resource, path)
    key = path[resource.key or ""]
    stmt = scoped(resource, select(resource.model), path).where(
        getattr(resource.model, resource.key_attr) == key
    )
    obj = session.scalars(stmt).first()
    if obj is None:
        raise NotFound(f"{resource.entity} {key} does not exist.", field=resource.key)
    return obj


def filtered(resource: Resource, stmt: Select[Any], query: BaseModel) -> Select[Any]:
    attr = resource.soft_delete_attr
    if attr and not getattr(query, "includeDeleted", False):
        stmt = stmt.where(getattr(resource.model, attr).is_(None))
    if resource.base_filter:
        stmt = resource.base_filter(stmt, query)
    for f in resource.filters:
        value = getattr(query, f.name)
        if value is not None:
            stmt = f.apply(stmt, value)
    return stmt


def resource_router(resource: Resource) -> APIRouter:
    """The operations `resource.operations` names, documented from the catalogue."""
    router = Router()
    read_model = resource.read
    plural = _snake(resource.name)
    singular = _snake(resource.entity)

    def add(action: str, method: str, endpoint: Callable[..., Any], item: bool, **extra: Any) -> None:
        spec = resource.operations[action]
        docs = documented(spec) if isinstance(spec, int) else {"summary": spec}
        router.add_api_route(
            resource.item_path if item else resource.collection_path,
            with_path_params(endpoint, path_params(resource, item), **extra.pop("annotations", {})),
            methods=[method],
            name=f"{action}_{plural if action == 'list' else singular}",
            description=resource.descriptions.get(action, ""),
            tags=[resource.tag_name],
            responses=ERROR_RESPONSES,
            **docs,
            **extra,
        )

    if "list" in resource.operations:
        query_model = list_query_model(resource)

        def list_items(request: Request, session: DbSession, query: Any, **path: Any) -> Response:
            check_parent(session, resource, path)
            fields = parse_fields(resource, query.fields)
            stmt = filtered(resource, scoped(resource, select(resource.model), path), query)
            stmt = apply_sort(resource, stmt, query.sort)
            rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
            represent = resource.service.represent
            return page(request.url, rows, query, lambda row: select_fields(represent(row), fields))

        add(
            "list",
            "GET",
            list_items,
            False,
            annotations={"query": Annotated[query_model, Query()]},
            response_model=list_envelope(read_model),
            dependencies=READ,
        )

    if "create" in resource.operations:
        assert resource.create

        def create_item(session: DbSession, ctx: WriteCtx, body: Any, **path: Any) -> Response:
            check_parent(session, resource, path)
            values = body.model_dump()
            if resource.parent_attr:
                values[resource.parent_attr] = path[resource.parent_field or ""]
            obj = resource.service.create(session, values, ctx)
            return one(resource.service.represent(obj), resource.create_status)

        add(
            "create",
            "POST",
            create_item,
            False,
            annotations={"body": Annotated[resource.create, Body()]},
            response_model=data_envelope(read_model),
            status_code=resource.create_status,
            dependencies=WRITE,
        )

    if "get" in resource.operations:

        def get_item(session: DbSession, query: Annotated[FieldsQuery, Query()], **path: Any) -> Response:
            obj = load_item(session, resource, path)
            fields = parse_fields(resource, query.fields)
            return one(select_fields(resource.service.represent(obj), fields))

        add("get", "GET", get_item, True, response_model=data_envelope(read_model), dependencies=READ)

    if "update" in resource.operations:
        assert resource.update_schema

        def update_item(session: DbSession, ctx: WriteCtx, body: Any, **path: Any) -> Response:
            obj = load_item(session, resource, path)
            resource.service.update(session, obj, body.model_dump(exclude_unset=True), ctx)
            return one(resource.service.represent(obj))

        add(
            "update",
            "PATCH",
            update_item,
            True,
            annotations={"body": Annotated[resource.update_schema, Body()]},
            response_model=data_envelope(read_model),
            dependencies=WRITE,
        )

    if "delete" in resource.operations:

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
