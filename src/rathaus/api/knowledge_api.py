"""REST API for knowledge (/api/collections): collections, document uploads with their progress, search."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

from rathaus.api.deps import PrincipalDep, ServicesDep, TenantSessionDep
from rathaus.api.errors import ApiError
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.files import FileStore
from rathaus.knowledge.ingest import UnsupportedType, Upload
from rathaus.knowledge.models import Collection, Document
from rathaus.knowledge.retrieval import DEFAULT_MODE, Hit, Mode
from rathaus.llm.catalogue import DataClass
from rathaus.services import Services

router = APIRouter(prefix="/api/collections", tags=["knowledge"])


class CollectionCreate(BaseModel):
    """A new collection."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=collections.NAME.pattern, description="Short name, e.g. 'satzungen'.")
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    data_class: DataClass = "intern"
    visibility: str = Field(default="tenant", pattern="^(private|team|tenant)$")


class CollectionPublic(BaseModel):
    """A collection as the API shows it."""

    id: str
    name: str
    title: str
    description: str
    data_class: str
    visibility: str
    embedding_model: str
    updated_at: datetime


class DocumentPublic(BaseModel):
    """A document with its ingestion state."""

    id: str
    filename: str
    title: str
    media_type: str
    size_bytes: int
    status: str
    progress: float
    error_code: str | None
    error: str | None
    pages: int | None
    passages: int
    data_class: str | None  # set where the document is more sensitive than its collection
    created_at: datetime


class DocumentUpdate(BaseModel):
    """What can be changed on a document: its title, as citations show it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="1 to 300 characters; spaces at the ends are dropped.")


class SearchBody(BaseModel):
    """A search in one collection."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    mode: Mode = DEFAULT_MODE


def _collection(c: Collection) -> CollectionPublic:
    return CollectionPublic(
        id=c.id, name=c.name, title=c.title, description=c.description, data_class=c.data_class,
        visibility=c.visibility, embedding_model=c.embedding_model, updated_at=c.updated_at,
    )  # fmt: skip


def _document(d: Document) -> DocumentPublic:
    return DocumentPublic(
        id=d.id, filename=d.filename, title=d.title, media_type=d.media_type, size_bytes=d.size_bytes,
        status=d.status.value, progress=d.progress, error_code=d.error_code, error=d.error, pages=d.pages,
        passages=d.chunk_count, data_class=d.data_class, created_at=d.created_at,
    )  # fmt: skip


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit with what a citation needs."""
    return {
        "passage_id": hit.passage_id,
        "document_id": hit.document_id,
        "document_title": hit.document_title,
        "filename": hit.filename,
        "heading": hit.heading,
        "page": hit.page,
        "text": hit.text,
        "score": round(hit.score, 6),
        "similarity": None if hit.similarity is None else round(hit.similarity, 4),
        "dense_rank": hit.dense_rank,
        "lexical_rank": hit.lexical_rank,
    }


async def read_uploads(items: Iterable[object], limit: int) -> list[Upload]:
    """The uploaded files of a multipart request; 413 for one over `limit` bytes.

    Empty parts without a name (a browser form sent without choosing a file) are left out.
    """
    uploads = []
    for item in items:
        if not isinstance(item, StarletteUploadFile):
            continue
        data = await item.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, f"'{item.filename}' is larger than {limit} bytes.", "request_too_large")
        if item.filename or data:
            uploads.append(Upload(item.filename or "", data))
    return uploads


async def store_uploads(
    services: Services, principal: Principal, collection: str, uploads: list[Upload]
) -> list[str]:
    """Keep the files and queue them for ingestion; 415 when a type cannot be read (nothing is kept then)."""
    try:
        return await run_in_threadpool(services.knowledge.upload, principal, collection, uploads)
    except UnsupportedType as exc:
        raise ApiError(415, str(exc), "unsupported_media_type") from None


def original_response(files: FileStore, document: Document) -> Response:
    """A download of the document's original file under its uploaded name."""
    data = files.read(document.tenant_id, document.id)
    disposition = f"attachment; filename*=UTF-8''{quote(document.filename, safe='')}"
    return Response(data, media_type=document.media_type, headers={"Content-Disposition": disposition})


@router.get("", operation_id="list_collections")
def list_collections(principal: PrincipalDep, session: TenantSessionDep) -> list[CollectionPublic]:
    """The collections the caller may see."""
    return [_collection(c) for c in collections.listing(session, principal)]


@router.post("", operation_id="create_collection", status_code=201)
def create_collection(
    body: CollectionCreate, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> CollectionPublic:
    """Create an empty collection (role builder)."""
    new = collections.NewCollection(body.name, body.title, body.description, body.data_class, body.visibility)
    return _collection(collections.create(session, principal, new, services.settings.embedding_model))


@router.get("/{collection}", operation_id="get_collection")
def get_collection(collection: str, principal: PrincipalDep, session: TenantSessionDep) -> CollectionPublic:
    """One collection, by id or name."""
    return _collection(collections.find(session, principal, collection))


@router.delete("/{collection}", operation_id="delete_collection", status_code=204)
def delete_collection(
    collection: str, principal: PrincipalDep, session: TenantSessionDep, services: ServicesDep
) -> None:
    """Delete a collection with its documents, passages, vectors and original files."""
    found = collections.find(session, principal, collection)
    collections.delete_collection(session, principal, services.knowledge.files, found)


@router.get("/{collection}/documents", operation_id="list_documents")
def list_documents(
    collection: str, principal: PrincipalDep, session: TenantSessionDep
) -> list[DocumentPublic]:
    """The collection's documents with status, progress and, for failed ones, the reason."""
    return [
        _document(d) for d in collections.documents(session, collections.find(session, principal, collection))
    ]


@router.post("/{collection}/documents", operation_id="upload_documents", status_code=202)
async def upload_documents(
    collection: str,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    files: list[UploadFile],
    source_url: Annotated[str | None, Form(max_length=500, pattern=r"^https?://")] = None,
    data_class: Annotated[DataClass | None, Form()] = None,
) -> JSONResponse:
    """Upload files (multipart, field `files`); they are ingested in the background (202).

    `source_url` (optional) is the official page the files come from: citizens' chatbots link there.
    `data_class` (optional) marks the files as more sensitive than their collection: models not cleared
    for that class never see their passages.

    A file type Rathaus cannot read refuses the whole upload (415); an upload over
    RATHAUS_MAX_UPLOAD_BYTES gets 413. A file that cannot be parsed fails on its own with a reason.
    """
    uploads = [
        replace(u, source_url=source_url, data_class=data_class)
        for u in await read_uploads(files, services.settings.max_upload_bytes)
    ]
    if not uploads:
        raise ApiError(422, "Send at least one file in the field 'files'.", "no_files", "files")
    ids = await store_uploads(services, principal, collection, uploads)
    documents = await run_in_threadpool(_documents_json, services, principal, collection, ids)
    return JSONResponse({"documents": documents}, status_code=202)


def _documents_json(
    services: Services, principal: Principal, collection: str, ids: list[str]
) -> list[dict[str, Any]]:
    """The documents `ids` of the collection as the API shows them."""
    with services.db.session(principal.tenant_id, read_only=True) as session:
        found = collections.find(session, principal, collection)
        return [_document(collections.document(session, found, i)).model_dump(mode="json") for i in ids]


@router.get("/{collection}/documents/{document_id}", operation_id="get_document")
def get_document(
    collection: str, document_id: str, principal: PrincipalDep, session: TenantSessionDep
) -> DocumentPublic:
    """One document with its ingestion state."""
    return _document(
        collections.document(session, collections.find(session, principal, collection), document_id)
    )


@router.patch("/{collection}/documents/{document_id}", operation_id="update_document")
def update_document(
    collection: str,
    document_id: str,
    body: DocumentUpdate,
    principal: PrincipalDep,
    session: TenantSessionDep,
) -> DocumentPublic:
    """Change a document's title; answers cite it by the new title from then on (422 `title_empty` or
    `title_too_long` otherwise)."""
    found = collections.document(session, collections.find(session, principal, collection), document_id)
    try:
        return _document(collections.rename_document(session, principal, found, body.title))
    except collections.TitleError as exc:
        raise ApiError(422, f"{str(exc).capitalize()}.", exc.code, "title") from None


@router.get("/{collection}/documents/{document_id}/original", operation_id="download_document")
def download_document(
    collection: str,
    document_id: str,
    principal: PrincipalDep,
    session: TenantSessionDep,
    services: ServicesDep,
) -> Response:
    """The original file as it was uploaded."""
    found = collections.document(session, collections.find(session, principal, collection), document_id)
    return original_response(services.knowledge.files, found)


@router.delete("/{collection}/documents/{document_id}", operation_id="delete_document", status_code=204)
def delete_document(
    collection: str,
    document_id: str,
    principal: PrincipalDep,
    session: TenantSessionDep,
    services: ServicesDep,
) -> None:
    """Delete a document: its passages, vectors and original file; it is found nowhere afterwards."""
    found = collections.document(session, collections.find(session, principal, collection), document_id)
    collections.delete_document(session, principal, services.knowledge.files, found)


@router.post("/{collection}/search", operation_id="search_collection")
async def search_collection(
    collection: str, body: SearchBody, principal: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    """The passages that answer the query best, with document, heading and page for citations."""
    hits = await run_in_threadpool(
        services.knowledge.search, principal, [collection], body.query, body.k, body.mode
    )
    return {"query": body.query, "mode": body.mode, "hits": [hit_json(h) for h in hits]}
