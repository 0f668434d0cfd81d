"""What the model, codec, filter and classifier registries have in common: a type's config keys
(JSON schema, default, meaning), the lookup of a type by name, and the lazy import of its
implementation.

A registry holds light *specs*: plain data that the workflow reads while it plans the DAG (config
checks, the JSON schema's type enums and keys, sample rates, downloads), without importing torch,
scikit-learn or a codec library. Each spec names the function that builds its implementation as
``"module:function"``; that module is imported only when a job builds one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


#: A key without a default: absent from an entry unless the user sets it.
NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class ConfigKey:
    """One config key a type reads: its JSON schema, its default (filled into entries of that type
    that leave it out) and what it means (shown in schema error messages). ``checkpoint``: the key
    names or checks a checkpoint, so it means nothing beside ``init: random``."""

    schema: Mapping[str, Any]
    default: Any = NO_DEFAULT
    description: str = ""
    checkpoint: bool = False

    def json_schema(self) -> dict[str, Any]:
        schema = dict(self.schema)
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class Download:
    """An official file fetched into ``resources/`` and checked against its sha256 (``sha256_prefix``:
    only a prefix is published, as for EnCodec's checkpoints)."""

    url: str
    filename: str
    sha256: str | None = None
    sha256_prefix: str | None = None


class Spec(Protocol):
    type: str
    build: str
    keys: Mapping[str, ConfigKey]


S = TypeVar("S", bound=Spec)


@dataclass(frozen=True)
class Registry(Mapping[str, S], Generic[S]):
    """The specs of one kind of component (``kind``: "model", "codec", ...) by type name. Looking up
    an unknown type raises ``ValueError`` naming the known ones."""

    kind: str
    specs: tuple[S, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [spec.type for spec in self.specs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"{self.kind} types registered twice: {repeated}")

    def __getitem__(self, name: str) -> S:
        for spec in self.specs:
            if spec.type == name:
                return spec
        raise ValueError(f"unknown {self.kind} type {name!r}; known: {sorted(self)}")

    def __iter__(self) -> Iterator[str]:
        return iter(spec.type for spec in self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, name: object) -> bool:
        return any(spec.type == name for spec in self.specs)

    def key_schemas(self) -> dict[str, dict[str, Any]]:
        """Every type-specific key of every type with its JSON schema: what the config schema allows
        under an entry of this kind besides the common keys. A key two types share must mean the same
        (one schema), or the registry is inconsistent; only their ``enum`` may differ (Opus's and
        MP3's ``mode``), and then the schema allows the union and each type's own values are checked
        by the config check (:func:`enum_problem`)."""
        merged: dict[str, dict[str, Any]] = {}
        for spec in self.specs:
            for key, config_key in spec.keys.items():
                schema = dict(config_key.schema)
                if key in merged and "enum" in schema and "enum" in merged[key] and (
                        {k: v for k, v in merged[key].items() if k != "enum"}
                        == {k: v for k, v in schema.items() if k != "enum"}):
                    schema["enum"] = list(dict.fromkeys([*merged[key]["enum"], *schema["enum"]]))
                elif key in merged and merged[key] != schema:
                    raise ValueError(f"{self.kind} key {key!r} has different schemas in different types "
                                     f"({merged[key]} and {schema} in {spec.type}): give it one meaning")
                merged[key] = schema
        return merged


def enum_problem(spec: Spec, key: str, value: Any) -> str | None:
    """Why ``value`` is not one of the values ``spec``'s own ``key`` allows (None if it is, or if the
    key has no enum): the schema allows the union over the types sharing the key."""
    allowed = spec.keys[key].schema.get("enum") if key in spec.keys else None
    if allowed is None or value in allowed:
        return None
    return f"type {spec.type} takes {key} one of {allowed}, not {value!r}"


def type_defaults(spec: Spec) -> dict[str, Any]:
    """The defaults of a spec's keys (those that have one)."""
    return {key: config_key.default for key, config_key in spec.keys.items() if config_key.default is not NO_DEFAULT}


def with_defaults(params: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """``params`` (one config entry) with its type's defaults filled in where a key is absent."""
    return {**type_defaults(spec), **params}


def resolve(target: str) -> Any:
    """The object ``"package.module:name"`` names, importing its module."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"{target!r} is not a 'module:name' reference")
    return getattr(importlib.import_module(module), name)


def implementation_modules(specs: Iterable[Spec]) -> list[str]:
    """The modules that implement ``specs`` (for tests that import every implementation)."""
    return sorted({spec.build.partition(":")[0] for spec in specs})
