"""What every page needs: the store (a connection per worker thread, so that the event loop never
waits on the disk and a slow page does not hold up the others: SQLite's WAL lets them read at
once), the templates, the packaged static files and the error page."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from levelhead.errors import LevelheadError, RunNotFoundError, StoreError
from levelhead.store import Store
from levelhead.web._security import Guard

T = TypeVar("T")

# The only files the app serves from disk: fixed names in the package, never a path from a
# request.
STATIC = {"levelhead.js": "text/javascript; charset=utf-8", "levelhead.css": "text/css; charset=utf-8"}


class Web:
    """What every page needs: the store, the templates and the guard."""

    def __init__(self, store: Store, guard: Guard) -> None:
        self.store = store
        self.guard = guard
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()
        self.templates = Environment(loader=PackageLoader("levelhead.web", "templates"),
                                     autoescape=select_autoescape(default=True,
                                                                  default_for_string=True),
                                     trim_blocks=True, lstrip_blocks=True)
        self._static = {name: (resources.files("levelhead.web") / "static" / name).read_bytes()
                        for name in STATIC}

    async def use(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` in the thread pool, on that thread's own connection to the store."""
        def call() -> T:
            store: Store | None = getattr(self._local, "store", None)
            if store is None:
                store = self._local.store = self.store.reopen()
                with self._lock:
                    self._opened.append(store)
            return fn(store)
        return await run_in_threadpool(call)

    def close(self) -> None:
        """Close every connection to the store."""
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
        self.store.close()

    def page(self, request: Request, template: str, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        """A rendered page (autoescaped) with the request's CSRF token at hand."""
        html = self.templates.get_template(template).render(
            csrf=getattr(request.state, "csrf", ""), request_path=request.url.path, **context)
        return HTMLResponse(html, status_code=status_code)

    async def static(self, request: Request) -> Response:
        """A packaged static file by its fixed name."""
        name = request.path_params["name"]
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return Response(self._static[name], media_type=STATIC[name],
                        headers={"Cache-Control": "no-cache"})

    async def error(self, request: Request, exc: Exception) -> Response:
        """A one-line error page: expected failures say what to do; HTTP errors their detail."""
        if isinstance(exc, HTTPException):
            status, text = exc.status_code, str(exc.detail)
        elif isinstance(exc, RunNotFoundError) or (isinstance(exc, StoreError)
                                                   and str(exc).startswith("no ")):
            status, text = 404, str(exc)
        elif isinstance(exc, LevelheadError):
            status, text = 400, str(exc)
        else:  # pragma: no cover - a bug: Starlette logs it
            raise exc
        return self.page(request, "error.html.j2", status_code=status, status=status, message=text)
