"""HTTP for people: projects, their keys (DSNs) and release files, under `/api/errors/`.

Changing anything needs `errors.manage`; reading needs `errors.read` (or `errors.manage`).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, JSONBody

from mindframe.sdk.http import RowId
from mindframe.sdk.i18n import N_

from .access import MANAGE, READ
from .dsn import dsn
from .projects import DuplicateProject, Project
from .service import ErrorTracker

PROJECT_EXISTS = N_("a project named {name} exists already")
NO_PROJECT = N_("there is no project {project_id}")
NO_ACTIVE_KEY = N_("project {project_id} has no active key {key}")
NO_FILE = N_("send the file as the multipart field 'file' (and its name as 'name')")
MAX_UPLOAD = 64 * 1024 * 1024


class NewProject(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    rate_limit: Annotated[int, msgspec.Meta(ge=0)] | None = None
    retention_days: Annotated[float, msgspec.Meta(gt=0)] | None = None
    max_events: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ProjectLimits(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    rate_limit: Annotated[int, msgspec.Meta(ge=0)] | None = None
    retention_days: Annotated[float, msgspec.Meta(gt=0)] | None = None
    max_events: Annotated[int, msgspec.Meta(ge=1)] | None = None


def base_url(tracker: ErrorTracker, request: Request) -> str:
    return tracker.settings.public_url or str(request.base_url)


async def describe(tracker: ErrorTracker, project: Project, request: Request) -> dict[str, Any]:
    keys = await tracker.projects.keys(project.id)
    active = [k for k in keys if k["active"]]
    url = base_url(tracker, request)
    return {
        "id": project.id,
        "name": project.name,
        "dsn": dsn(url, active[-1]["public_key"], project.id) if active else None,
        "builtin": project.builtin,
        "rate_limit": project.rate_limit,
        "retention_days": project.retention_days,
        "max_events": project.max_events,
        "created_at": project.created_at,
        "keys": [
            {
                "public_key": k["public_key"],
                "active": bool(k["active"]),
                "dsn": dsn(url, k["public_key"], project.id),
                "created_at": k["created_at"],
                "revoked_at": k["revoked_at"],
            }
            for k in keys
        ],
    }


def problem(status: int, template: str, tracker: ErrorTracker, **params: Any) -> HTTPException:
    return HTTPException(
        status_code=status, detail=tracker.ctx.gettext(template).format(**params), extra=params
    )


async def existing(tracker: ErrorTracker, project_id: int) -> Project:
    project = await tracker.projects.get(project_id)
    if project is None:
        raise problem(404, NO_PROJECT, tracker, project_id=project_id)
    return project


@post("/projects", status_code=201, guards=[MANAGE], summary="Create a project and its DSN")
async def create_project(
    data: JSONBody[NewProject], request: Request, error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    try:
        project, _ = await error_tracker.projects.create(
            data.name,
            rate_limit=data.rate_limit,
            retention_days=data.retention_days,
            max_events=data.max_events,
        )
    except DuplicateProject:
        raise problem(409, PROJECT_EXISTS, error_tracker, name=data.name) from None
    return await describe(error_tracker, project, request)


@get("/projects", guards=[READ], summary="Every project, with its DSN and keys")
async def list_projects(
    request: Request, error_tracker: NamedDependency[ErrorTracker]
) -> list[dict[str, Any]]:
    return [
        await describe(error_tracker, project, request)
        for project in await error_tracker.projects.all()
    ]


@get("/projects/{project_id:int}", guards=[READ], summary="A project, with its DSN and keys")
async def show_project(
    project_id: FromPath[RowId], request: Request, error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    return await describe(error_tracker, await existing(error_tracker, project_id), request)


@patch("/projects/{project_id:int}", guards=[MANAGE], summary="Change a project's limits")
async def change_project(
    project_id: FromPath[RowId],
    data: JSONBody[ProjectLimits],
    request: Request,
    error_tracker: NamedDependency[ErrorTracker],
) -> dict[str, Any]:
    await existing(error_tracker, project_id)
    project = await error_tracker.projects.change(project_id, msgspec.structs.asdict(data))
    assert project is not None
    return await describe(error_tracker, project, request)


@post(
    "/projects/{project_id:int}/keys",
    status_code=201,
    guards=[MANAGE],
    summary="Add a key (rotation: add one, move the SDKs to its DSN, revoke the old one)",
)
async def add_key(
    project_id: FromPath[RowId], request: Request, error_tracker: NamedDependency[ErrorTracker]
) -> dict[str, Any]:
    project = await existing(error_tracker, project_id)
    key = await error_tracker.projects.add_key(project_id)
    return {"public_key": key, "dsn": dsn(base_url(error_tracker, request), key, project.id)}


@delete(
    "/projects/{project_id:int}/keys/{public_key:str}",
    guards=[MANAGE],
    summary="Revoke a key: envelopes sent with it are refused from now on",
)
async def revoke_key(
    project_id: FromPath[RowId],
    public_key: FromPath[str],
    error_tracker: NamedDependency[ErrorTracker],
) -> None:
    if not await error_tracker.projects.revoke_key(project_id, public_key):
        raise problem(404, NO_ACTIVE_KEY, error_tracker, project_id=project_id, key=public_key)


@post(
    "/projects/{project_id:int}/releases/{release:str}/files",
    status_code=201,
    guards=[MANAGE],
    request_max_body_size=MAX_UPLOAD,
    summary="Upload a release file (a source map) for symbolication",
)
async def upload_file(
    project_id: FromPath[RowId],
    release: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    error_tracker: NamedDependency[ErrorTracker],
) -> dict[str, Any]:
    await existing(error_tracker, project_id)
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise problem(400, NO_FILE, error_tracker)
    name = str(data.get("name") or upload.filename or "")
    if not name:
        raise problem(400, NO_FILE, error_tracker)
    content = await upload.read()
    artifact_id = await error_tracker.artifacts.store(project_id, release, name, content)
    return {"id": artifact_id, "release": release, "name": name, "size": len(content)}


@get(
    "/projects/{project_id:int}/releases/{release:str}/files",
    guards=[READ],
    summary="The files uploaded for a release",
)
async def list_files(
    project_id: FromPath[RowId],
    release: FromPath[str],
    error_tracker: NamedDependency[ErrorTracker],
) -> list[dict[str, Any]]:
    await existing(error_tracker, project_id)
    return await error_tracker.artifacts.list(project_id, release)


ROUTES = [
    create_project,
    list_projects,
    show_project,
    change_project,
    add_key,
    revoke_key,
    upload_file,
    list_files,
]
