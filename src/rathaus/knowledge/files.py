"""Keeping the original files: under DATA_DIR/files/<tenant>/<document id>, never under the uploaded name.

The name a person uploaded is only shown (cleaned of paths and control characters); it never becomes part
of a path, so `../../etc/passwd` is just a strange display name.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from rathaus.store.base import new_id

ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME = 200


def display_name(uploaded: str) -> str:
    """The file's own name without any folder part, control characters or leading dots."""
    name = PureWindowsPath(PurePosixPath(uploaded or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        name = (
            (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix)
            if dot and len(suffix) <= 10
            else name[:MAX_NAME]
        )
    return name or "dokument"


class FileStore:
    """Originals on the local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, tenant_id: str, document_id: str) -> Path:
        if not ID.match(tenant_id) or not ID.match(document_id):
            raise ValueError("tenant and document ids are 32 hex characters")
        return self.root / tenant_id / document_id

    def save(self, tenant_id: str, document_id: str, data: bytes) -> None:
        """Write the original (atomically: a crash leaves no half file under the final name)."""
        path = self._path(tenant_id, document_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{new_id()}.part")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def read(self, tenant_id: str, document_id: str) -> bytes:
        """The original's bytes."""
        return self._path(tenant_id, document_id).read_bytes()

    def delete(self, tenant_id: str, document_id: str) -> None:
        """Remove the original if it is there."""
        self._path(tenant_id, document_id).unlink(missing_ok=True)
