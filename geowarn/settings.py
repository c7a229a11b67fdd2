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
from geowarn.redact import MASK, is_secret_name, redact

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


#: Largest settings file read (bytes); settings files are a few kilobytes.
MAX_SETTINGS_BYTES = 4 << 20
#: Most values a YAML document may stand for once its aliases are expanded (a small site YAML has
#: a few hundred): an "alias bomb" of a few hundred bytes would otherwise expand to billions.
MAX_YAML_NODES = 100_000
#: Deepest nesting of sections accepted.
MAX_NESTING = 64

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only: no Python objects); duplicate keys are checked before it runs."""


def _key_text(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _check_yaml(root: yaml.Node, origin: str) -> None:
    """Refuse duplicate keys, recursive aliases, deep nesting and documents expanding past :data:`MAX_YAML_NODES`.

    Walks the node graph once: a node reached again through an alias is not walked again, but its
    expanded size counts each time it is used, so the check costs the size of the file, not of its expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # (node, key path, children done?) - iterative post-order, no recursion limit
    stack: list[tuple[yaml.Node, tuple[str, ...], bool]] = [(root, (), False)]
    while stack:
        node, path, done = stack.pop()
        ident = id(node)
        if done:
            on_path.discard(ident)
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[ident] = total
            if total > MAX_YAML_NODES:
                raise ConfigError(
                    f"{origin}: its aliases (*name) expand to more than {MAX_YAML_NODES:,} values; a settings file "
                    "needs far fewer: write the values out, or use fewer aliases"
                )
            continue
        if ident in sizes:
            continue
        if ident in on_path:
            raise ConfigError(f"{origin}: line {node.start_mark.line + 1}: an alias refers to itself; remove it")
        if len(path) > MAX_NESTING:
            raise ConfigError(f"{origin}: line {node.start_mark.line + 1}: nested deeper than {MAX_NESTING} levels")
        on_path.add(ident)
        stack.append((node, path, True))
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(node, path, origin)
            for key, value in node.value:
                stack.append((key, path, False))
                stack.append((value, (*path, _key_text(key) or "?"), False))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, str(i)), False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_duplicates(node: yaml.MappingNode, path: tuple[str, ...], origin: str) -> None:
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if key.tag == _MERGE_TAG:
            continue  # "<<: *defaults" merges keys that the mapping's own keys may override
        text = _key_text(key)
        if text is None:
            continue
        line = key.start_mark.line + 1
        if text in seen:
            where = ".".join((*path, text))
            raise ConfigError(
                f"{origin}: line {line}: key '{where}' appears twice (first on line {seen[text]}); "
                "remove one of them: only one value can hold"
            )
        seen[text] = line


def parse_yaml(text: str, origin: str) -> Any:
    """The data of one YAML document, read safely.

    Plain data only (PyYAML's safe loader); duplicate keys, recursive aliases and alias expansion past
    :data:`MAX_YAML_NODES` are refused before anything is built, so a hostile file is rejected at once.

    Raises:
        ConfigError: naming ``origin``, the line and the problem.

    """
    try:
        loader = _SafeLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({_clip(' '.join(str(exc).split()))}); fix the file") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml(node, origin)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())  # the parser's multi-line pointer, on one line
        raise ConfigError(f"{origin}: not valid YAML ({_clip(where)}); fix the syntax") from None
    except RecursionError:
        raise ConfigError(f"{origin}: nested too deeply to be a settings file; fix the file") from None
    finally:
        loader.dispose()


def _no_duplicate_pairs(origin: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in pairs:
            if key in data:
                raise ConfigError(f"{origin}: key {key!r} appears twice in one object; remove one of them")
            data[key] = value
        return data

    return hook


def parse_json(text: str, origin: str) -> Any:
    """The data of a JSON text; duplicate keys in an object are refused.

    Raises:
        ConfigError: naming ``origin`` and the problem.

    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_pairs(origin))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{origin}: not valid JSON ({exc}); fix the syntax") from None
    except RecursionError:
        raise ConfigError(f"{origin}: nested too deeply to be a settings file; fix the file") from None


def read_text_limited(path: Path, max_bytes: int = MAX_SETTINGS_BYTES) -> str:
    """The UTF-8 text of a settings file, refusing files over ``max_bytes``.

    Raises:
        ConfigError: the file cannot be read, is too large, or is not UTF-8 text.

    """
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc}); check the path") from None
    if len(data) > max_bytes:
        raise ConfigError(
            f"{path}: larger than {max_bytes:,} bytes, too large for a settings file; check that it is the right file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def read_mapping(path: Path) -> dict[str, Any]:
    """The mapping at the top of the YAML (or, for ``*.json``, JSON) file ``path``; an empty file is ``{}``.

    Every settings file of geowarn is read here: at most :data:`MAX_SETTINGS_BYTES`, duplicate keys
    refused, YAML through :func:`parse_yaml` (safe, alias expansion bounded).

    Raises:
        ConfigError: the file cannot be read, is too large, does not parse, or does not hold a mapping.

    """
    text = read_text_limited(path)
    is_json = Path(path).suffix.lower() == ".json"
    loaded = parse_json(text, str(path)) if is_json else parse_yaml(text, str(path))
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of settings at the top level, got {type(loaded).__name__}; "
            "write one 'key: value' per line"
        )
    return loaded


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        secret = any(is_secret_name(str(part)) for part in loc[-1:])
        shown = MASK if secret else _shown(first.get("input"))
        value = "" if first["type"] == "missing" else f" value {shown}:"
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
    text = redact(repr(value))
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
