"""What an assistant document names outside itself, checked before it is saved, and what a builder may pick.

An assistant names knowledge collections and, with the model choice "profile", a model of the catalogue.
Saving through the form, the YAML tab or the API runs the same check (`registry.save`): a collection that
does not exist or that the person may not see, or a model the catalogue does not list, is reported at its
field and nothing is saved. Another tenant's collection and an invisible one answer alike, so the check
says nothing about what exists beyond the person's view.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rathaus.assistants.spec import AssistantSpec
from rathaus.formats.documents import Problem
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.models import Document, DocumentStatus
from rathaus.llm.catalogue import Catalogue, UnknownModel
from rathaus.routing.clearance import Exposure
from rathaus.store.tenancy import NotFound


@dataclass(frozen=True)
class CollectionChoice:
    """A collection as the builder's picker offers it.

    `usable` is False when no chat model of the catalogue is cleared for everything the collection holds
    (its data class, and documents marked more sensitive): an assistant could never answer from it.
    """

    name: str
    title: str
    data_class: str
    ready_documents: int
    usable: bool


def choices(session: Session, principal: Principal, catalogue: Catalogue) -> list[CollectionChoice]:
    """The collections the person may attach to an assistant (those they may see), by title."""
    found = collections.listing(session, principal)
    ready = dict(
        session.execute(
            select(Document.collection_id, func.count())
            .where(Document.status == DocumentStatus.ready)
            .group_by(Document.collection_id)
        ).all()
    )
    chat_models = [p for p in catalogue.profiles() if p.can("chat")]
    result = []
    for collection in found:
        exposure = Exposure(tuple(collections.exposure(session, [collection.name])))
        usable = any(not exposure.uncleared(p) for p in chat_models)
        result.append(
            CollectionChoice(
                collection.name,
                collection.title,
                collection.data_class,
                int(ready.get(collection.id, 0)),
                usable,
            )
        )
    return result


def problems(
    session: Session, principal: Principal, catalogue: Catalogue, spec: AssistantSpec
) -> list[Problem]:
    """Every reference of the document that does not resolve for this person, at its field (empty: all do).

    Codes: `unknown_collection` (limit: the name), `unknown_model` (limit: the model id).
    """
    found: list[Problem] = []
    for index, name in enumerate(spec.spec.knowledge):
        try:
            collections.find(session, principal, name)
        except NotFound:
            found.append(
                Problem(
                    f"spec.knowledge.{index}",
                    f"there is no knowledge collection '{name}', or you may not use it",
                    code="unknown_collection",
                    limit=name,
                )
            )
    model = spec.spec.model
    if model.mode == "profile" and model.profile:
        try:
            catalogue.get(model.profile)
        except UnknownModel:
            found.append(
                Problem(
                    "spec.model.profile",
                    f"the model catalogue has no model '{model.profile}'",
                    code="unknown_model",
                    limit=model.profile,
                )
            )
    return found
