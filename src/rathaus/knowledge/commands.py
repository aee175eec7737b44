"""The work behind `rathaus ingest` and `rathaus reindex`, reporting progress through a callback."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import select

from rathaus.identity.principal import Principal
from rathaus.knowledge.ingest import Upload
from rathaus.knowledge.models import Collection, Document, DocumentStatus
from rathaus.knowledge.parsing import media_type
from rathaus.knowledge.service import Knowledge
from rathaus.store.base import utcnow

Report = Callable[[str, bool], None]  # a line of text; True when it replaces the previous progress line


def files_to_ingest(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files named or found in folders (sorted); and those named explicitly that cannot be read."""
    found: list[Path] = []
    refused: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and media_type(p.name))
        elif media_type(path.name):
            found.append(path)
        else:
            refused.append(path)
    return found, refused


def _bar(share: float, width: int = 24) -> str:
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)


def _run(knowledge: Knowledge, tenant_id: str, ids: list[str], names: list[str], report: Report) -> int:
    """Process documents one by one with a progress line each; returns how many failed."""
    failed = 0
    for number, (document_id, name) in enumerate(zip(ids, names, strict=True), start=1):
        prefix = f"[{number}/{len(ids)}] {name[:40]:40}"

        def progress(share: float, prefix: str = prefix) -> None:
            report(f"{prefix} {_bar(share)} {share:4.0%}", True)

        status = knowledge.process(tenant_id, document_id, progress)
        with knowledge.db.session(tenant_id) as session:
            document = session.get(Document, document_id)
            detail = (
                f"{document.chunk_count} Passagen / passages"
                if document is not None and status == DocumentStatus.ready
                else f"FEHLER / FAILED: {document.error if document else 'deleted'}"
            )
        failed += status != DocumentStatus.ready
        report(f"{prefix} {detail}", True)
        report("", False)
    return failed


def ingest(
    knowledge: Knowledge,
    principal: Principal,
    collection: str,
    files: list[Path],
    max_bytes: int,
    report: Report,
    source_urls: dict[str, str] | None = None,
) -> int:
    """Upload and ingest files now; returns how many failed (too large ones count as failed)."""
    from rathaus.knowledge import ingest as ingestion

    uploads: list[Upload] = []
    too_large = 0
    for path in files:
        if path.stat().st_size > max_bytes:
            report(f"{path}: FEHLER / FAILED: larger than {max_bytes} bytes", False)
            too_large += 1
            continue
        uploads.append(Upload(path.name, path.read_bytes(), (source_urls or {}).get(path.name)))
    ids = ingestion.accept(knowledge.db, principal, knowledge.files, collection, uploads)
    return too_large + _run(knowledge, principal.tenant_id, ids, [u.filename for u in uploads], report)


def reindex(knowledge: Knowledge, tenant_id: str | None, report: Report) -> int:
    """Read and embed every document again (after the embedding model or the parser changed)."""
    with knowledge.db.system_session() as session:
        query = select(Collection)
        if tenant_id is not None:
            query = query.where(Collection.tenant_id == tenant_id)
        targets = [(c.tenant_id, c.id, c.name) for c in session.scalars(query)]
    failed = 0
    for collection_tenant, collection_id, name in targets:
        with knowledge.db.session(collection_tenant) as session:
            rows = session.execute(
                select(Document.id, Document.filename)
                .where(Document.collection_id == collection_id)
                .order_by(Document.created_at)
            ).all()
            collection = session.get(Collection, collection_id)
            if collection is not None:
                collection.embedding_model = knowledge.embedding_model
                collection.updated_at = utcnow()
        report(f"{name}: {len(rows)} Dokumente / documents", False)
        failed += _run(knowledge, collection_tenant, [r[0] for r in rows], [r[1] for r in rows], report)
    return failed
