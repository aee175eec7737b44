"""The event loop never waits for the database.

An `async def` endpoint runs on the server's one event loop. If it opens a database session there, a
request that waits for SQLite's write lock stops every other request, including the one that holds the lock
and needs the loop to commit: under mixed load (`rathaus bench soak`) the server stood still. Database work
in async endpoints goes through `run_in_threadpool`; this test reads the code of every async endpoint.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rathaus

PACKAGES = ("api", "web")
SESSION_CALLS = frozenset({"session", "system_session"})


def _calls_outside_threadpool(function: ast.AsyncFunctionDef) -> list[str]:
    """Database sessions opened, or a `session` used, in the async function itself (not handed to a
    thread, not in a nested function that runs elsewhere)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and node is not function:
            return  # nested functions run where they are called (a thread, a stream)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("run_in_threadpool"):
            return  # its arguments run in a worker thread
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_CALLS
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
        if isinstance(node, ast.Name) and node.id == "session" and isinstance(node.ctx, ast.Load):
            found.append(f"line {node.lineno}: uses `session`")
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in function.body:
        visit(statement)
    return found


def test_async_endpoints_leave_the_database_to_worker_threads() -> None:
    root = Path(rathaus.__file__).parent
    offences = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.AsyncFunctionDef):
                    offences += [
                        f"{path.relative_to(root)} {node.name} {o}" for o in _calls_outside_threadpool(node)
                    ]
    assert not offences, "database work on the event loop:\n" + "\n".join(offences)


def test_the_check_finds_a_session_opened_on_the_event_loop() -> None:
    code = """
async def upload(services, principal):
    ids = await run_in_threadpool(store, services)
    with services.db.session(principal.tenant_id) as session:
        return find(session)
"""
    (function,) = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.AsyncFunctionDef)]
    assert _calls_outside_threadpool(function) == [
        "line 4: services.db.session()",
        "line 5: uses `session`",
    ]
