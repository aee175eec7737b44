"""Knowledge collections and their documents: create, find, list, delete; visibility as for assistants.

Changing a collection (uploading, renaming or deleting documents) needs the role builder; a private
collection only its owner.
Deleting a document removes its original file, its passages and their vectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, event, select
from sqlalchemy.orm import Session

from rathaus.identity.directory import Conflict
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.identity.visibility import Forbidden, visible_to
from rathaus.knowledge.files import FileStore
from rathaus.knowledge.index import index_for
from rathaus.knowledge.models import Collection, Document, Passage
from rathaus.knowledge.titles import MAX_TITLE
from rathaus.routing.clearance import RANK, Part, as_data_class
from rathaus.store.base import utcnow
from rathaus.store.tenancy import NotFound, get_or_404

NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class NewCollection:
    """What a person fills in to create a collection."""

    name: str
    title: str
    description: str = ""
    data_class: str = "intern"
    visibility: str = "tenant"


def _visible(principal: Principal) -> ColumnElement[bool]:
    return visible_to(principal, Collection.visibility, Collection.owner_id)


def exposure(session: Session, names: list[str]) -> list[Part]:
    """What answering from these collections may bring into a prompt: each collection's data class, and
    each document marked more sensitive than its collection. Every collection of the tenant counts,
    whoever may see it; names that are no collection bring nothing."""
    if not names:
        return []
    found = {
        name: as_data_class(data_class)
        for name, data_class in session.execute(
            select(Collection.name, Collection.data_class).where(Collection.name.in_(names))
        )
    }
    parts = [Part("collection", found[name], name) for name in names if name in found]
    marked = session.execute(
        select(Collection.name, Document.title, Document.filename, Document.data_class)
        .join(Collection, Collection.id == Document.collection_id)
        .where(Collection.name.in_(names), Document.data_class.is_not(None))
        .order_by(Document.created_at)
    )
    for collection, title, filename, data_class in marked:
        marked_class = as_data_class(data_class or "")
        if RANK[marked_class] > RANK[found[collection]]:
            parts.append(Part("document", marked_class, title or filename))
    return parts


def check_can_change(principal: Principal, collection: Collection) -> None:
    """Raise Forbidden unless the caller may upload to or delete from the collection."""
    if not principal.has_role(Role.builder):
        raise Forbidden("changing knowledge collections needs the role 'builder'")
    if collection.visibility == "private" and collection.owner_id != principal.user_id:
        raise Forbidden("only its owner can change a private collection")


def create(session: Session, principal: Principal, new: NewCollection, embedding_model: str) -> Collection:
    """A new, empty collection."""
    if not principal.has_role(Role.builder):
        raise Forbidden("creating knowledge collections needs the role 'builder'")
    if not NAME.match(new.name):
        raise ValueError("the name may contain lowercase letters, digits and hyphens (e.g. 'satzungen')")
    if new.visibility == "private" and not principal.user_id:
        raise Forbidden("a private collection needs a person as owner; API keys cannot own one")
    if session.scalars(select(Collection.id).where(Collection.name == new.name)).first():
        raise Conflict(f"a collection named '{new.name}' already exists")
    collection = Collection(
        name=new.name,
        title=new.title.strip() or new.name,
        description=new.description.strip(),
        data_class=new.data_class,
        visibility=new.visibility,
        owner_id=principal.user_id,
        embedding_model=embedding_model,
        updated_at=utcnow(),
    )
    session.add(collection)
    session.flush()
    return collection


def listing(session: Session, principal: Principal) -> list[Collection]:
    """The collections the caller may see, by title."""
    return list(session.scalars(select(Collection).where(_visible(principal)).order_by(Collection.title)))


def find(session: Session, principal: Principal, name_or_id: str) -> Collection:
    """A collection the caller may see, by name or id; otherwise NotFound (never 403)."""
    found = session.scalars(
        select(Collection).where(
            (Collection.name == name_or_id) | (Collection.id == name_or_id), _visible(principal)
        )
    ).first()
    if found is None:
        raise NotFound("Collection", name_or_id)
    return found


def documents(session: Session, collection: Collection) -> list[Document]:
    """The collection's documents, newest first."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.collection_id == collection.id)
            .order_by(Document.created_at.desc(), Document.filename)
        )
    )


def document(session: Session, collection: Collection, document_id: str) -> Document:
    """One document of the collection."""
    found = get_or_404(session, Document, document_id)
    if found.collection_id != collection.id:
        raise NotFound("Document", document_id)
    return found


class TitleError(ValueError):
    """A document title that cannot be used; `code` is `title_empty` or `title_too_long`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def rename_document(session: Session, principal: Principal, document: Document, title: str) -> Document:
    """Give a document a new title; citations name it so from the next answer on (they read it when they
    are made). Raises TitleError for an empty title or one longer than MAX_TITLE characters."""
    collection = get_or_404(session, Collection, document.collection_id)
    check_can_change(principal, collection)
    cleaned = " ".join(title.split())
    if not cleaned:
        raise TitleError("title_empty", "the title must not be empty")
    if len(cleaned) > MAX_TITLE:
        raise TitleError("title_too_long", f"the title may have at most {MAX_TITLE} characters")
    document.title = cleaned
    document.updated_at = utcnow()
    session.flush()
    return document


def drop_passages(session: Session, document: Document) -> None:
    """Remove a document's passages and their vectors and terms from the index."""
    ids = list(session.scalars(select(Passage.id).where(Passage.document_id == document.id)))
    index_for(session).remove(session, ids)
    session.execute(delete(Passage).where(Passage.document_id == document.id))
    document.chunk_count = 0


def delete_document(session: Session, principal: Principal, files: FileStore, document: Document) -> None:
    """Delete a document: its passages, vectors and terms now, its original file when the session commits."""
    collection = get_or_404(session, Collection, document.collection_id)
    check_can_change(principal, collection)
    drop_passages(session, document)
    tenant_id, document_id = document.tenant_id, document.id
    session.delete(document)
    # the original goes only once the rows are gone for good: a failed commit keeps both
    event.listen(session, "after_commit", lambda _s: files.delete(tenant_id, document_id), once=True)


def delete_collection(
    session: Session, principal: Principal, files: FileStore, collection: Collection
) -> None:
    """Delete a collection with all its documents."""
    check_can_change(principal, collection)
    for item in documents(session, collection):
        delete_document(session, principal, files, item)
    session.delete(collection)


def document_texts(session: Session, document_ids: list[str]) -> dict[str, str]:
    """The full text of each document (its title and passages in order), for checks that need more than the
    passage found, such as which town a statute belongs to. Callers pass ids they may see."""
    texts: dict[str, list[str]] = {}
    titles = dict(
        session.execute(select(Document.id, Document.title).where(Document.id.in_(document_ids))).all()
    )
    rows = session.execute(
        select(Passage.document_id, Passage.text)
        .where(Passage.document_id.in_(document_ids))
        .order_by(Passage.document_id, Passage.ordinal)
    )
    for document_id, text in rows:
        texts.setdefault(document_id, [titles.get(document_id) or ""]).append(text)
    return {d: "\n".join(parts) for d, parts in texts.items()}


def sentence_vectors(session: Session, passage_ids: list[str]) -> dict[str, bytes]:
    """The packed sentence vectors stored with each passage (knowledge.sentences), where there are any.
    Callers pass ids they may see; the session's tenant bounds them too."""
    rows = session.execute(
        select(Passage.id, Passage.sentence_vectors).where(
            Passage.id.in_(passage_ids), Passage.sentence_vectors.is_not(None)
        )
    )
    return {passage_id: packed for passage_id, packed in rows if packed}
