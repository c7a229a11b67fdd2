"""Settings files: one reader and one error format for every YAML (and JSON) settings file.

Every stage keeps its settings in a pydantic model that rejects unknown keys; this module reads
the file and validates it. A problem is always reported on one line as::

    FILE: key 'a.b': value X: problem; fix

(``FILE: problem; fix`` when the file as a whole is wrong), one line per problem, so that a typo
in any settings file (detect, site, training, channels, scenario) reads the same way.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from geowarn.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = tuple[int | str, ...]

#: Longest rendering of an offending value in a message.
MAX_VALUE_CHARS = 80

_FIXES = (
    ("missing", "add it"),
    ("literal_error", "use one of the listed values"),
    ("union_tag", "use one of the listed values"),
    ("greater_than", "use a value in the allowed range"),
    ("less_than", "use a value in the allowed range"),
    ("too_short", "give at least one entry"),
    ("string_pattern", "use the pattern shown"),
    ("float", "give a number, e.g. 0.01"),
    ("int", "give a whole number, e.g. 10"),
    ("bool", "give true or false"),
    ("dict", "give a mapping of keys (a section)"),
    ("model", "give a mapping of keys (a section)"),
    ("list", "give a list, e.g. [a, b]"),
    ("tuple", "give a list, e.g. [a, b]"),
    ("string", "give a text value"),
    ("path", "give a file or folder path"),
    ("date", "give a date, e.g. 2026-05-01"),
)


class Settings(BaseModel):
    """Base of a stage's settings: frozen, and unknown keys are rejected (a typo never silently keeps a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_mapping(path: Path) -> dict[str, Any]:
    """The mapping at the top of the YAML (or, for ``*.json``, JSON) file ``path``; an empty file is ``{}``.

    Raises:
        ConfigError: the file cannot be read, does not parse, or does not hold a mapping.

    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc}); check the path") from exc
    try:
        loaded = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        kind = "JSON" if Path(path).suffix.lower() == ".json" else "YAML"
        where = " ".join(str(exc).split())  # the parser's multi-line pointer, on one line
        raise ConfigError(f"{path}: not valid {kind} ({where}); fix the syntax") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of settings at the top level, got {type(loaded).__name__}; "
            "write one 'key: value' per line"
        )
    return loaded


def validate(model: type[ModelT], data: Any, origin: str, *, docs: str | None = None, prefix: Loc = ()) -> ModelT:
    """``data`` validated as ``model``.

    Args:
        model: the settings model.
        data: the loaded mapping.
        origin: where the data comes from (a file path, ``command line``...), first on every line.
        docs: where every key is documented, offered as the fix when there is no better one.
        prefix: the keys above ``data`` in its file (e.g. ``("channels",)``), for the key paths.

    Raises:
        ConfigError: one line per problem, see the module docstring.

    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, origin, model, docs=docs, prefix=prefix)) from exc


def load(
    model: type[ModelT],
    path: Path | None,
    *,
    section: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    docs: str | None = None,
    overrides_from: str = "command line",
    none_given: bool = False,
) -> ModelT:
    """``defaults``, then the file ``path`` (optional; its ``section`` when it has one), then ``overrides``.

    ``None`` values in ``overrides`` mean "not given" and are skipped, unless ``none_given``;
    ``overrides_from`` says where the overrides come from in messages (``command line``).

    Raises:
        ConfigError: see :func:`read_mapping` and :func:`validate`.

    """
    data: dict[str, Any] = dict(defaults or {})
    prefix: Loc = ()
    if path is not None:
        loaded = read_mapping(path)
        if section is not None and section in loaded:
            loaded, prefix = loaded[section], (section,)
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path}: key '{section}': expected a mapping of settings; write 'key: value' lines")
        data.update(loaded)
    given = {k: v for k, v in (overrides or {}).items() if none_given or v is not None}
    data.update(given)
    origin = str(path) if path is not None else overrides_from
    if path is not None and given:
        origin += f" + {overrides_from}"
    return validate(model, data, origin, docs=docs, prefix=prefix)


def format_errors(
    exc: ValidationError, origin: str, model: type[BaseModel], *, docs: str | None = None, prefix: Loc = ()
) -> str:
    """One ``origin: key 'a.b': value X: problem; fix`` line per problem field of ``exc``."""
    grouped: dict[Loc, list[Any]] = {}
    sections: dict[Loc, type[BaseModel] | None] = {}
    for err in exc.errors():
        loc, section = _walk(model, tuple(err["loc"]))
        grouped.setdefault(loc, []).append(err)
        sections.setdefault(loc, section)
    lines = []
    for loc, errs in grouped.items():
        first = errs[0]
        message = " or ".join(dict.fromkeys(_message(e) for e in errs))
        fix = _fix(first, sections[loc], docs)
        where = ".".join(str(p) for p in (*prefix, *loc))
        if not where:
            lines.append(f"{origin}: {message}; {fix}")
            continue
        value = "" if first["type"] == "missing" else f" value {_shown(first.get('input'))}:"
        lines.append(f"{origin}: key '{where}':{value} {message}; {fix}")
    return "\n".join(lines)


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required, but missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _fix(err: Any, section: type[BaseModel] | None, docs: str | None) -> str:
    see = f"see {docs}" if docs else "see the documented example"
    kind = err["type"]
    if kind == "extra_forbidden":
        keys = ", ".join(_keys(section)) if section is not None else ""
        return "remove it or fix the spelling; " + (f"keys allowed here: {keys}" if keys else see)
    for prefix, fix in _FIXES:
        if kind.startswith(prefix):
            return fix
    return see


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _members(node: Any) -> list[Any]:
    """The types ``node`` stands for: Annotated and RootModel unwrapped, unions flattened, None dropped."""
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
        elif _is_model(node) and issubclass(node, RootModel):
            node = node.model_fields["root"].annotation
        else:
            break
    if get_origin(node) in (Union, types.UnionType):
        return [m for arg in get_args(node) if arg is not type(None) for m in _members(arg)]
    return [node]


def _tagged(member: Any, tag: str) -> bool:
    """Whether a union member is the one pydantic names ``tag`` (a discriminator value or a type label)."""
    if _is_model(member):
        for field in member.model_fields.values():
            if get_origin(field.annotation) is Literal and tag in get_args(field.annotation):
                return True
        return bool(member.__name__ == tag)
    return False


def _walk(model: type[BaseModel], loc: Loc) -> tuple[Loc, type[BaseModel] | None]:
    """``loc`` as the keys a user writes (pydantic's union labels dropped) and the model holding its last key."""
    kept: list[int | str] = []
    candidates: list[Any] = _members(model)
    holder: type[BaseModel] | None = model
    for part in loc:
        if part == "[key]":
            continue
        models = [c for c in candidates if _is_model(c)]
        owner = next((m for m in models if str(part) in m.model_fields), None)
        if owner is not None:
            kept.append(part)
            holder = owner
            candidates = _members(owner.model_fields[str(part)].annotation)
            continue
        containers = [c for c in candidates if get_origin(c) in (dict, list, tuple, set, frozenset)]
        if containers and (isinstance(part, int) or get_origin(containers[0]) is dict):
            kept.append(part)
            candidates = _members(get_args(containers[0])[-1]) if get_args(containers[0]) else []
            continue
        tagged = [c for c in candidates if isinstance(part, str) and _tagged(c, part)]
        if tagged or (len(candidates) > 1 and isinstance(part, str)) or (candidates and not models):
            candidates = tagged  # a union member's label, not a key: drop it
            continue
        kept.append(part)  # a key the model does not know (an unknown key)
        holder = models[0] if models else None
        candidates = []
    return tuple(kept), holder
