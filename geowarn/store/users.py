"""Dashboard users: names, roles and argon2 password hashes in the workspace's database.

Passwords are hashed with argon2id (``argon2-cffi``, its recommended parameters) and never stored
or logged; a password that is not given is generated (``secrets``) and returned once to be shown.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from geowarn.errors import ConfigError
from geowarn.store.schema import ROLES, User, WebSession, utcnow

if TYPE_CHECKING:
    from geowarn.store.db import Store

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
#: Verified against when a name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY: list[str] = []


@dataclass(frozen=True)
class UserInfo:
    """A dashboard user (never the password or its hash); ``sites``: the site ids it may see, None for all."""

    username: str
    role: str
    created: str
    last_login: str | None
    sites: tuple[str, ...] | None = None


@dataclass(frozen=True)
class UserAdded:
    """A new user and, when none was given, the password generated for it (shown once)."""

    user: UserInfo
    generated_password: str | None


def hasher() -> PasswordHasher:
    """The argon2id hasher with the library's recommended parameters."""
    return PasswordHasher()


def check_username(name: str) -> str:
    """``name`` if it is a valid user name, else ``ConfigError``."""
    if not USERNAME.fullmatch(name or ""):
        raise ConfigError(
            f"user name {name[:80]!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else ``ConfigError``."""
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: not a role; use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """``password`` if long enough, else ``ConfigError``."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ConfigError(
            f"password (***, {len(password)} characters): too short or too long; "
            f"use {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, or omit it to have one generated"
        )
    return password


def check_sites(sites: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Site ids a user is limited to (None: every site), each a valid site id, else ``ConfigError``."""
    if sites is None:
        return None
    from geowarn import inputs

    checked = tuple(dict.fromkeys(inputs.entered("site id", s.strip(), inputs.slug) for s in sites))
    if not checked:
        raise ConfigError("sites: an empty list would let the user see nothing; name at least one site id or omit it")
    return checked


def site_list(text: str | None) -> tuple[str, ...] | None:
    """The site ids of a stored comma-separated list (None: every site)."""
    return None if text is None else tuple(s for s in text.split(",") if s)


def _info(user: User) -> UserInfo:
    return UserInfo(
        user.username,
        user.role,
        user.created_at.isoformat(timespec="seconds"),
        user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else None,
        site_list(user.sites),
    )


def add_user(
    store: Store, username: str, role: str, password: str | None = None, sites: list[str] | None = None
) -> UserAdded:
    """Create a user; without ``password`` one is generated and returned; ``sites``: the only sites it may see.

    Raises:
        ConfigError: a bad name, role or password, or the name is taken.

    """
    username, role, only = check_username(username), check_role(role), check_sites(sites)
    generated = None if password is not None else secrets.token_urlsafe(15)
    digest = hasher().hash(check_password(password if password is not None else str(generated)))
    taken = ConfigError(f"user {username!r} exists already; remove it first with: geowarn users remove {username}")
    try:
        with store.transaction() as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise taken
            user = User(
                username=username, role=role, password_hash=digest, sites=None if only is None else ",".join(only)
            )
            session.add(user)
            session.flush()
            return UserAdded(_info(user), generated)
    except IntegrityError:
        raise taken from None


def list_users(store: Store) -> list[UserInfo]:
    """Every user, by name."""
    with store.transaction() as session:
        return [_info(u) for u in session.scalars(select(User).order_by(User.username))]


def remove_user(store: Store, username: str) -> str:
    """Delete a user and sign out its sessions; returns a message.

    Raises:
        ConfigError: no such user.

    """
    with store.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ConfigError(f"user {username[:80]!r} does not exist; list them with: geowarn users list")
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        session.execute(delete(User).where(User.id == user.id))
    return f"user {username} removed; its sessions are signed out"


def count_users(store: Store) -> int:
    """How many users there are."""
    with store.transaction() as session:
        return len(session.scalars(select(User.id)).all())


@dataclass(frozen=True)
class Authenticated:
    """A user whose password was verified."""

    id: int
    username: str
    role: str
    sites: tuple[str, ...] | None = None

    def may_see(self, site: str) -> bool:
        """Whether this user may see site ``site``."""
        return self.sites is None or site in self.sites

    @property
    def may_acknowledge(self) -> bool:
        """Geologists and admins acknowledge alerts; viewers only look."""
        return self.role in ("geologist", "admin")


def authenticate(store: Store, username: str, password: str) -> Authenticated | None:
    """The user if ``password`` is theirs, else None (same work whether or not the name exists)."""
    ph = hasher()
    if not _DUMMY:
        _DUMMY.append(ph.hash(secrets.token_urlsafe(16)))
    with store.transaction() as session:
        user = session.scalar(select(User).where(User.username == username)) if USERNAME.fullmatch(username) else None
        try:
            ph.verify(user.password_hash if user else _DUMMY[0], password[:MAX_PASSWORD_CHARS])
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if ph.check_needs_rehash(user.password_hash):
            user.password_hash = ph.hash(password)
        user.last_login_at = utcnow()
        return Authenticated(user.id, user.username, user.role, site_list(user.sites))
