"""Security headers on every response: a Content Security Policy, no framing, no MIME sniffing, and
referrers that leave this site without path or query.

The pages load scripts, styles and fonts from this site only (no inline code; KERN and htmx are vendored),
so their policy allows `'self'` and nothing else; inline `data:` images are KERN's icons. The policy holds
for the API's answers too, which are never meant to be documents. The interactive API documentation
(FastAPI's Swagger UI and ReDoc) loads its scripts from a CDN with an inline start script and gets a policy
of its own. The widget is not concerned: `/widget.js` runs inside the city's page under the city's policy,
and the widget API is read with CORS, which none of these headers restrict (no Cross-Origin-Resource-Policy
is sent, so the script can be embedded anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class SecurityHeaders:
    """ASGI middleware: adds the headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, api_docs_paths: Iterable[str | None] = ()) -> None:
        self.app = app
        self.api_docs_paths = frozenset(p for p in api_docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = API_DOCS_POLICY if scope["path"] in self.api_docs_paths else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
