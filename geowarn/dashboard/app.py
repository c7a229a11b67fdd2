"""The dashboard application: :func:`create_app` builds it over a workspace; :func:`serve` runs it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from geowarn.dashboard.crack_cache import CrackCache
from geowarn.dashboard.mapdata import LEVEL_COLOURS
from geowarn.dashboard.security import SECURITY_HEADERS, BadFormError, ForbiddenError, NotFoundError, NotSignedInError
from geowarn.dashboard.sessions import LoginThrottle
from geowarn.errors import ConfigError
from geowarn.tracking.change import CHANGE_COLOURS, CHANGE_MEANINGS, CHANGES

if TYPE_CHECKING:
    from geowarn.api import Workspace

log = logging.getLogger("geowarn.dashboard")
HERE = Path(__file__).parent
#: Paths answered with a status code rather than a redirect to the sign-in page.
_MACHINE_PREFIXES = ("/api/", "/tiles/")
_FILE_SUFFIXES = (".png", ".xml", ".gpkg", ".json", ".geojson")


def templates() -> Jinja2Templates:
    """The page templates (autoescaped), with the colours and change vocabulary."""
    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.globals.update(
        level_colours=LEVEL_COLOURS, change_colours=CHANGE_COLOURS, change_meanings=CHANGE_MEANINGS, changes=CHANGES
    )
    return found


def _machine(request: Request) -> bool:
    path = request.url.path
    return path.startswith(_MACHINE_PREFIXES) or path.endswith(_FILE_SUFFIXES)


def _page(request: Request, status: int, title: str, message: str) -> Response:
    if _machine(request):
        return JSONResponse({"error": message}, status_code=status)
    page = request.app.state.templates.TemplateResponse(
        request, "error.html", {"title": title, "message": message, "user": None}, status_code=status
    )
    return page  # type: ignore[no-any-return]


def _install_error_pages(app: FastAPI) -> None:
    """Every error is a short page (or JSON for data routes), never a stack trace."""

    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, exc: NotSignedInError) -> Response:
        if _machine(request) or request.method != "GET":
            return JSONResponse({"error": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        return _page(request, 403, "Not allowed", "Your role does not allow this; ask an admin for the geologist role.")

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return _page(request, 404, "Not found", "There is no such page, or you have no rights to it.")

    @app.exception_handler(BadFormError)
    async def bad_form(request: Request, exc: BadFormError) -> Response:
        return _page(
            request, 403, "Form expired", "The form was not sent from this session; reload the page and retry."
        )

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> Response:
        return _page(request, 400, "Bad request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _page(request, exc.status_code, "Error", str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("dashboard request failed: %s %s", request.method, request.url.path)
        return _page(request, 500, "Internal error", "Something went wrong on the server; it has been logged.")


def create_app(ws: Workspace, *, secure_cookies: bool = False, throttle: LoginThrottle | None = None) -> FastAPI:
    """The dashboard over ``ws``.

    Args:
        ws: the workspace (its database holds the users and sessions).
        secure_cookies: mark cookies ``Secure`` (behind TLS); they are anyway when the request came by https.
        throttle: the sign-in limiter (default: 5 failures per address or name in 5 minutes).

    """
    from geowarn.dashboard.routes import auth, data, pages

    app = FastAPI(title="geowarn dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workspace = ws
    app.state.store = ws._dir.store
    app.state.templates = templates()
    app.state.secure_cookies = secure_cookies
    app.state.throttle = throttle or LoginThrottle()
    app.state.cracks = CrackCache(ws)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(GZipMiddleware, minimum_size=1024)
    _install_error_pages(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(data.router)
    return app


def serve(ws: Workspace, host: str = "127.0.0.1", port: int = 8000, *, secure_cookies: bool = False) -> None:
    """Run the dashboard with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(ws, secure_cookies=secure_cookies),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        server_header=False,
    )
