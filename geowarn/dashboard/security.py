"""Who is asking: the session cookie, roles, site rights, CSRF tokens and the security headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from geowarn import inputs
from geowarn.dashboard.sessions import SignedIn, find_session, same_token
from geowarn.errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from geowarn.api import Workspace
    from geowarn.dashboard.crack_cache import CrackCache
    from geowarn.store.db import Store

SESSION_COOKIE = "geowarn_session"
LOGIN_CSRF_COOKIE = "geowarn_login_csrf"
#: Everything is served from this origin: no inline script, no remote file.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NotSignedInError(Exception):
    """The request carries no valid session."""


class ForbiddenError(Exception):
    """The user's role does not allow this."""


class NotFoundError(Exception):
    """No such page for this user (also what a site without rights looks like: its existence is not revealed)."""


class BadFormError(Exception):
    """A form without the session's CSRF token."""


@dataclass(frozen=True)
class Context:
    """What a route needs: the workspace, its database and the signed-in user."""

    ws: Workspace
    store: Store
    signed: SignedIn
    crack_cache: CrackCache

    @property
    def username(self) -> str:
        return self.signed.user.username

    def site(self, site: str) -> str:
        """``site`` if it is a site id this user may see, else ``NotFoundError``."""
        try:
            slug = inputs.slug(site)
        except ValueError:
            raise NotFoundError() from None
        if not self.signed.user.may_see(slug):
            raise NotFoundError()
        try:
            self.ws.site(slug)
        except ConfigError:
            raise NotFoundError() from None
        return slug

    def cracks(self, site: str, survey: int) -> gpd.GeoDataFrame:
        """The cracks of ``site``'s survey ``survey`` (cached while the site's processed surveys stay the same)."""
        return self.crack_cache.cracks(site, survey)

    def visible_sites(self) -> list[str]:
        """Ids of the sites this user may see."""
        return [s.site for s in self.ws.sites() if self.signed.user.may_see(s.site)]

    def check_form(self, token: str | None) -> None:
        """Raise ``BadFormError`` unless ``token`` is this session's CSRF token."""
        if not same_token(token, self.signed.csrf_token):
            raise BadFormError()

    def require_acknowledge(self) -> None:
        """Raise ``ForbiddenError`` unless the user may acknowledge alerts."""
        if not self.signed.user.may_acknowledge:
            raise ForbiddenError()


def context(request: Request) -> Context:
    """The request's :class:`Context` (a FastAPI dependency); ``NotSignedInError`` without a valid session."""
    state = request.app.state
    signed = find_session(state.store, request.cookies.get(SESSION_COOKIE))
    if signed is None:
        raise NotSignedInError()
    return Context(state.workspace, state.store, signed, state.cracks)


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (never another site: no scheme, host or ``//``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
