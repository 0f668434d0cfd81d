"""The registries own what the config may say: the schema's type enums and keys come from them, each
declared default fits its own schema, and every declared implementation exists."""

from __future__ import annotations

import inspect

import pytest
from jsonschema import Draft202012Validator

from acom.classification import CLASSIFIERS
from acom.codecs import CODECS
from acom.config import SECTIONS, load_schema
from acom.features import FEATURE_CODECS
from acom.filters import FILTERS
from acom.models import MODELS
from acom.registry import NO_DEFAULT, resolve

REGISTRIES = {"model": MODELS, "codec": CODECS, "filter": FILTERS, "classifier": CLASSIFIERS,
              "feature_codec": FEATURE_CODECS}


@pytest.mark.parametrize("definition", sorted(REGISTRIES))
def test_schema_types_and_keys_come_from_the_registry(definition):
    registry = REGISTRIES[definition]
    entry = load_schema()["$defs"][definition]
    assert entry["properties"]["type"]["enum"] == list(registry)
    for spec in registry.specs:
        assert set(spec.keys) <= set(entry["properties"]), spec.type


@pytest.mark.parametrize("registry", list(REGISTRIES.values()), ids=list(REGISTRIES))
def test_defaults_fit_their_schema_and_builders_exist(registry):
    for spec in registry.specs:
        for key, config_key in spec.keys.items():
            if config_key.default is not NO_DEFAULT:
                errors = list(Draft202012Validator(dict(config_key.schema)).iter_errors(config_key.default))
                assert not errors, f"{registry.kind} {spec.type}.{key}: default {config_key.default!r}: {errors}"
        assert callable(resolve(spec.build)), spec.build


def test_every_section_is_backed_by_a_registry():
    assert {registry.kind for registry, _ in SECTIONS.values()} == set(REGISTRIES)


def test_model_and_codec_specs_are_consistent():
    for spec in MODELS.specs:
        assert set(spec.files) <= set(spec.keys), spec.type
        assert spec.sample_rate or "sample_rate" in spec.keys, spec.type
        assert set(inspect.signature(resolve(spec.build)).parameters) >= {"params", "cache_dir", "config_key"}
    for spec in CODECS.specs:
        # A codec's bitrates are a range, modes, or (when they depend on its rate or mode) its check.
        assert [spec.kbps_range, spec.kbps_modes, spec.check].count(None) == 2, spec.type
        assert spec.default_rate in spec.sample_rates, spec.type
        assert set(inspect.signature(resolve(spec.build)).parameters) >= {"params", "kbps", "cache_dir", "full_codes_dir"}


def test_an_unknown_type_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown codec type 'mp9'; known: \['aac', 'encodec24', 'encodec48', 'lc3', 'mp3', 'opus', 'vorbis'\]"):
        CODECS["mp9"]
