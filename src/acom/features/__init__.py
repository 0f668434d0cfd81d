"""Feature coding: a model's embeddings quantised and sent instead of the audio, as conditions on the
same measured-rate axis as the waveform codecs.

Each ``feature_codecs.<name>`` entry is one quantiser type at a list of ``budgets``; each budget is a
condition ``<name>_<budget>`` (``sq_4``, ``rvq_128``) whose ``actual_kbps`` is the bits a clip's
codes take divided by the clip's duration. Types (:mod:`.quantizers`):

- ``scalar``: uniform scalar quantisation of every dimension, ``budgets`` in bits per dimension
  (1-16), each dimension's range learned from the training folds;
- ``rvq``: residual vector quantisation, ``budgets`` in bits per clip: ``budget / codebook_bits``
  stages of k-means codebooks of ``2 ** codebook_bits`` centroids, each fit on the residuals the
  earlier stages leave;
- ``pq``: product quantisation, ``budgets`` in bits per clip: the dimensions split into
  ``budget / codebook_bits`` contiguous groups, one k-means codebook per group.

Codebooks and ranges for test fold k are learned from the embeddings of the other folds only, seeded
(:func:`acom.features.stage.quantize_folds`). Adding a type: a ``fit(train, budget, params, seed)``
function returning a :class:`~acom.features.quantizers.Quantizer` and one :class:`FeatureCodecSpec`
below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acom.registry import ConfigKey, Registry


@dataclass(frozen=True)
class FeatureCodecSpec:
    """One feature quantiser type: ``build`` is ``"module:function"`` called as
    ``function(train, budget, params, seed) -> Quantizer``; ``budget_unit`` what its budgets count."""

    type: str
    build: str
    description: str
    budget_unit: str
    budget_range: tuple[int, int]
    keys: Mapping[str, ConfigKey] = field(default_factory=dict)


_CODEBOOK_BITS = ConfigKey({"type": "integer", "minimum": 1, "maximum": 12}, 8,
                           "bits per codebook index (2 ** codebook_bits centroids per codebook)")
_ITERATIONS = ConfigKey({"type": "integer", "minimum": 1}, 50, "k-means iterations per codebook")

FEATURE_CODECS: Registry[FeatureCodecSpec] = Registry("feature_codec", (
    FeatureCodecSpec(type="scalar", build="acom.features.quantizers:fit_scalar",
                     description="uniform scalar quantisation per dimension, ranges from the training folds",
                     budget_unit="bits per dimension", budget_range=(1, 16)),
    FeatureCodecSpec(type="rvq", build="acom.features.quantizers:fit_rvq",
                     description="residual vector quantisation, k-means codebooks per stage",
                     budget_unit="bits per clip", budget_range=(1, 1_000_000),
                     keys={"codebook_bits": _CODEBOOK_BITS, "max_iter": _ITERATIONS}),
    FeatureCodecSpec(type="pq", build="acom.features.quantizers:fit_pq",
                     description="product quantisation, one k-means codebook per group of dimensions",
                     budget_unit="bits per clip", budget_range=(1, 1_000_000),
                     keys={"codebook_bits": _CODEBOOK_BITS, "max_iter": _ITERATIONS}),
))


def check_feature_codec_config(name: str, params: Mapping) -> list[str]:
    """Budgets a type cannot take: outside its range, or (vector types) not a whole number of codebooks."""
    spec, problems = FEATURE_CODECS[params["type"]], []
    low, high = spec.budget_range
    for budget in params.get("budgets", []):
        if not (isinstance(budget, int) and low <= budget <= high):
            problems.append(f"feature_codecs.{name}.budgets: {budget!r} is not a whole number of {spec.budget_unit} "
                            f"from {low} to {high}")
        elif "codebook_bits" in spec.keys:
            bits = int(params.get("codebook_bits", spec.keys["codebook_bits"].default))
            if budget % bits:
                problems.append(f"feature_codecs.{name}.budgets: {budget} bits per clip is not a whole number of "
                                f"{bits}-bit codebook indices (codebook_bits); use a multiple of {bits}")
    return problems
