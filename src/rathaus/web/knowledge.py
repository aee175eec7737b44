"""Knowledge pages: collections, uploads with progress per document, document titles, test retrieval, the
cited passage."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.api.knowledge_api import original_response, read_uploads, store_uploads
from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.knowledge import collections
from rathaus.knowledge.models import Collection, Document, DocumentStatus, Passage
from rathaus.knowledge.retrieval import DEFAULT_MODE, MODES
from rathaus.routing.clearance import RANK
from rathaus.store.tenancy import get_or_404
from rathaus.web.forms import CheckedForm
from rathaus.web.pages import PagePrincipal, page_translator, render

router = APIRouter(prefix="/knowledge", include_in_schema=False)
WORKING = (DocumentStatus.queued, DocumentStatus.parsing, DocumentStatus.embedding)


def _documents(session: Any, collection: Collection) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "filename": d.filename,
            "title": d.title,
            "status": d.status.value,
            "progress": round(d.progress * 100),
            "error": d.error,
            "error_code": d.error_code,
            "passages": d.chunk_count,
            "data_class": d.data_class,
            "working": d.status in WORKING,
        }
        for d in collections.documents(session, collection)
    ]


def _collection_rows(services: Any, principal: Any) -> list[dict[str, Any]]:
    with services.db.session(principal.tenant_id) as session:
        rows = []
        for c in collections.listing(session, principal):
            documents = collections.documents(session, c)
            ready = sum(d.status == DocumentStatus.ready for d in documents)
            rows.append({"name": c.name, "title": c.title, "documents": len(documents), "ready": ready})
        return rows


@router.get("")
def collections_page(request: Request, principal: PagePrincipal, services: ServicesDep) -> HTMLResponse:
    """The collections the person may see; builders create new ones here."""
    return render(request, "knowledge_list.html", collections=_collection_rows(services, principal))


@router.post("", response_model=None)
def create_collection(
    request: Request, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> Response:
    """Create a collection from the form."""
    name = str(form.get("name") or "").strip()
    title = str(form.get("title") or "").strip()[:200]
    try:
        with services.db.session(principal.tenant_id) as session:
            new = collections.NewCollection(name, title or name)
            collections.create(session, principal, new, services.settings.embedding_model)
    except (ValueError, Conflict) as exc:
        t = page_translator(request)
        error = t("knowledge.create_failed", reason=exc)
        rows = _collection_rows(services, principal)
        values = {"name": name, "title": title}
        return render(request, "knowledge_list.html", 422, collections=rows, error=error, values=values)
    return RedirectResponse(f"/knowledge/{quote(name)}", status_code=303)


def _collection_context(services: Any, principal: Any, name: str) -> dict[str, Any]:
    with services.db.session(principal.tenant_id) as session:
        collection = collections.find(session, principal, name)
        documents = _documents(session, collection)
        return {
            "collection": {
                "name": collection.name,
                "title": collection.title,
                "data_class": collection.data_class,
            },
            "documents": documents,
            "working": any(d["working"] for d in documents),
            "higher_classes": [c for c, rank in RANK.items() if rank > RANK.get(collection.data_class, 0)],
        }


@router.get("/{name}")
def collection_page(
    name: str,
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    q: str = "",
    mode: str = "hybrid",
    renamed: str = "",
) -> HTMLResponse:
    """A collection's documents with their progress, the upload form and the test retrieval panel."""
    context = _collection_context(services, principal, name)
    renamed_title = next((d["title"] for d in context["documents"] if d["id"] == renamed), None)
    hits: list[Any] = []
    if q.strip():
        chosen = mode if mode in MODES else DEFAULT_MODE
        hits = services.knowledge.search(principal, [name], q[:2000], 5, chosen)
    can_change = principal.has_role(Role.builder)
    return render(
        request,
        "knowledge_collection.html",
        **context,
        hits=hits,
        q=q,
        mode=mode,
        modes=MODES,
        can_change=can_change,
        renamed_title=renamed_title,
    )


@router.get("/{name}/documents")
def documents_fragment(
    name: str, request: Request, principal: PagePrincipal, services: ServicesDep
) -> HTMLResponse:
    """The documents table alone, polled while documents are being ingested."""
    context = _collection_context(services, principal, name)
    return render(request, "knowledge_documents.html", **context, can_change=principal.has_role(Role.builder))


@router.post("/{name}/upload", response_model=None)
async def upload(name: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm) -> Response:
    """Store the chosen files and start ingesting them; the page then shows their progress."""
    uploads = await read_uploads(form.getlist("files"), services.settings.max_upload_bytes)
    address = str(form.get("source_url") or "").strip()
    if address and (not re.fullmatch(r"https?://\S{1,490}", address)):
        raise ApiError(422, f"'{address[:100]}' is not a web address (https://…).", "invalid", "source_url")
    data_class = str(form.get("data_class") or "") or None
    if data_class is not None and data_class not in RANK:
        raise ApiError(422, f"'{data_class[:40]}' is not a data class.", "invalid", "data_class")
    uploads = [replace(u, source_url=address or None, data_class=data_class) for u in uploads]
    if uploads:
        await store_uploads(services, principal, name, uploads)
    return RedirectResponse(f"/knowledge/{quote(name)}", status_code=303)


@router.post("/{name}/documents/{document_id}/delete")
def delete_document(
    name: str, document_id: str, principal: PagePrincipal, services: ServicesDep, form: CheckedForm
) -> RedirectResponse:
    """Delete a document with its passages, vectors and original."""
    with services.db.session(principal.tenant_id) as session:
        document = collections.document(session, collections.find(session, principal, name), document_id)
        collections.delete_document(session, principal, services.knowledge.files, document)
    return RedirectResponse(f"/knowledge/{quote(name)}", status_code=303)


@router.post("/{name}/documents/{document_id}/title", response_model=None)
def rename_document(
    name: str,
    document_id: str,
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    form: CheckedForm,
) -> Response:
    """Give a document the title its citations show; an empty or too long title is shown at the field."""
    title = str(form.get("title") or "")
    try:
        with services.db.session(principal.tenant_id) as session:
            document = collections.document(session, collections.find(session, principal, name), document_id)
            collections.rename_document(session, principal, document, title)
    except collections.TitleError as exc:
        t = page_translator(request)
        context = _collection_context(services, principal, name)
        rename = {"id": document_id, "value": title, "error": t(f"knowledge.rename.{exc.code}")}
        return render(
            request,
            "knowledge_collection.html",
            422,
            **context,
            hits=[],
            q="",
            mode="hybrid",
            modes=MODES,
            can_change=principal.has_role(Role.builder),
            rename=rename,
        )
    return RedirectResponse(
        f"/knowledge/{quote(name)}?renamed={quote(document_id)}#documents", status_code=303
    )


@router.get("/passages/{passage_id}")
def passage_page(
    passage_id: str, request: Request, principal: PagePrincipal, services: ServicesDep
) -> HTMLResponse:
    """The document of a cited passage, all its passages in order, the cited one highlighted."""
    with services.db.session(principal.tenant_id) as session:
        cited = get_or_404(session, Passage, passage_id)
        document = get_or_404(session, Document, cited.document_id)
        collection = collections.find(session, principal, document.collection_id)  # visibility check
        passages = [
            {"id": p.id, "heading": p.heading, "page": p.page, "text": p.text, "cited": p.id == cited.id}
            for p in session.query(Passage)
            .filter(Passage.document_id == document.id)
            .order_by(Passage.ordinal)
        ]
        context: dict[str, Any] = {
            "document": {
                "id": document.id,
                "title": document.title or document.filename,
                "filename": document.filename,
            },
            "collection": {"name": collection.name, "title": collection.title},
            "passages": passages,
            "cited": {"heading": cited.heading, "page": cited.page},
        }
    return render(request, "knowledge_passage.html", **context)


@router.get("/{name}/documents/{document_id}/original")
def original(name: str, document_id: str, principal: PagePrincipal, services: ServicesDep) -> Response:
    """Download the original file."""
    with services.db.session(principal.tenant_id) as session:
        document = collections.document(session, collections.find(session, principal, name), document_id)
    return original_response(services.knowledge.files, document)
