"""Sign in and out: a throttled login form with its own CSRF cookie, HttpOnly SameSite session cookies."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from geowarn.dashboard.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    BadFormError,
    Context,
    context,
    safe_next,
)
from geowarn.dashboard.sessions import SESSION_LIFETIME, end_session, same_token, start_session
from geowarn.store.users import authenticate

router = APIRouter()


def _secure(request: Request) -> bool:
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def _login_page(request: Request, next_path: str, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    page: Response = request.app.state.templates.TemplateResponse(
        request,
        "login.html",
        {"user": None, "csrf_token": token, "next": next_path, "error": error},
        status_code=status,
    )
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/login")
    return page


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in page."""
    return _login_page(request, safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (throttled per address and name) and start a session."""
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise BadFormError()
    state = request.app.state
    client = request.client.host if request.client else "?"
    wait = state.throttle.retry_after(client, username)
    if wait > 0:
        return _login_page(request, safe_next(next), f"Too many failed sign-ins; try again in {wait:.0f} s.", 429)
    user = authenticate(state.store, username, password)
    if user is None:
        state.throttle.failed(client, username)
        return _login_page(request, safe_next(next), "Wrong user name or password.", 401)
    state.throttle.succeeded(client, username)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        start_session(state.store, user),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, ctx: Annotated[Context, Depends(context)], csrf_token: Annotated[str, Form(max_length=200)]
) -> Response:
    """End this session."""
    ctx.check_form(csrf_token)
    end_session(ctx.store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
