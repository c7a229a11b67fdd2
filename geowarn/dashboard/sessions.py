"""Signed-in browsers: random cookie tokens stored as their sha256, a CSRF token each, login throttling."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from geowarn.store.schema import User, WebSession, utcnow
from geowarn.store.users import Authenticated, site_list

if TYPE_CHECKING:
    from geowarn.store.db import Store

#: How long a session lasts after sign-in.
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    """A valid session: its user and the CSRF token every form must carry."""

    user: Authenticated
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, user: Authenticated) -> str:
    """A new session for ``user``; returns the cookie token (only its sha256 is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.transaction() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                token_sha256=_digest(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


def find_session(store: Store, token: str | None) -> SignedIn | None:
    """The session of cookie ``token`` if it exists and has not expired."""
    if not token or len(token) > 200:
        return None
    with store.transaction() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_sha256 == _digest(token), WebSession.expires_at > utcnow())
        ).first()
        if found is None:
            return None
        web, user = found
        return SignedIn(Authenticated(user.id, user.username, user.role, site_list(user.sites)), web.csrf_token)


def end_session(store: Store, token: str | None) -> None:
    """Sign out the session of cookie ``token`` (nothing when there is none)."""
    if token:
        with store.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(given) and secrets.compare_digest(str(given).encode(), expected.encode())


class LoginThrottle:
    """At most ``attempts`` failed sign-ins per client address and per user name within ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, client: str, username: str) -> float:
        """Seconds until a sign-in may be tried again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                times[0] + self.window_s - now
                for key in (f"ip:{client}", f"user:{username.lower()}")
                if len(times := self._recent(key, now)) >= self.attempts
            ]
        return max(waits, default=0.0)

    def failed(self, client: str, username: str) -> None:
        """Count a failed sign-in."""
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{client}", f"user:{username.lower()}"):
                self._recent(key, now).append(now)

    def succeeded(self, client: str, username: str) -> None:
        """Forget the failures of this user name (the address keeps its count)."""
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
