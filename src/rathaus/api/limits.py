"""Request body limit: bodies over RATHAUS_MAX_REQUEST_BYTES (uploads: RATHAUS_MAX_UPLOAD_BYTES) get 413.

A refused body, like a client that leaves while sending one, is one line in the log: both are the
client's doing, not an error of the server.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rathaus.api.errors import error_response

logger = logging.getLogger(__name__)

UPLOAD_SUFFIXES = ("/documents", "/upload")  # the API's and the pages' document uploads


class BodyLimit:
    """ASGI middleware: checks Content-Length up front and counts streamed bodies as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes

    def limit(self, path: str) -> int:
        """Document uploads may be larger than other requests."""
        return self.upload_bytes if path.endswith(UPLOAD_SUFFIXES) else self.max_bytes

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit(scope["path"])
        logger.info("413: request body over %d bytes on %s %s", limit, scope["method"], scope["path"])
        message = f"The request body is larger than the limit of {limit} bytes."
        await error_response(scope["path"], 413, message, "request_too_large")(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        limit = self.limit(scope["path"])
        if length is not None and length.isdigit() and int(length) > limit:
            await self._reject(scope, receive, send)
            return
        received = 0
        responded = False

        async def counting_receive() -> Message:
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not responded:
                    # Answer 413 now and tell the app the client left, so it stops reading.
                    responded = True
                    await self._reject(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not responded:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except ClientDisconnect:
            # Raised where the app reads the body: after the 413 above, or when the client went away.
            if not responded:
                logger.info("client disconnected while sending %s %s", scope["method"], scope["path"])
