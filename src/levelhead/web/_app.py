"""The app factory: the store, the guard, the routes of :mod:`levelhead.web._pages`,
:mod:`levelhead.web._review` and :mod:`levelhead.web._monitor`, and the packaged static files."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Route

from levelhead.errors import LevelheadError
from levelhead.store import open_store
from levelhead.web._context import Web
from levelhead.web._monitor import routes as monitor_routes
from levelhead.web._pages import routes as page_routes
from levelhead.web._review import routes as review_routes
from levelhead.web._security import Guard


def _closing(web: Web) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            web.close()
    return lifespan


def create_app(store_path: str, *, token: str | None = None) -> Starlette:
    """The web app over the store at ``store_path``.

    Args:
        store_path: The store file (it must exist: the app browses what runs stored, and
            writes review queues and labels into it).
        token: The access token every request must carry (``Authorization: Bearer``, or
            ``?token=`` once, which sets a cookie); None for none (a 127.0.0.1 bind).

    Raises:
        StoreNotFoundError: no store at ``store_path``.
        StoreError: the file is not a levelhead store.
    """
    guard = Guard(token)
    web = Web(open_store(store_path, create=False), guard)
    routes = [Route("/static/{name}", web.static, methods=["GET"]),
              *page_routes(web), *review_routes(web), *monitor_routes(web)]
    app = Starlette(routes=routes,
                    middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard.middleware)],
                    exception_handlers={HTTPException: web.error, LevelheadError: web.error},
                    lifespan=_closing(web))
    app.state.web = web
    return app
