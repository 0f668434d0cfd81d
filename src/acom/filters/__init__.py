"""The filter registry: what may be done to a clip before it is coded or embedded.

Filter types (one ``filters.<name>`` config entry each; the entry's name is the ``filter`` column of
every table):

- ``lowpass`` / ``highpass`` / ``bandpass`` (:mod:`.naive`): Butterworth filters applied forward and
  backward (zero phase, so onsets do not move; twice the order's attenuation).
- ``frame_roi`` / ``freq_roi`` (:mod:`.roi`): keep ``percentage`` % of the time frames or frequency
  bands, by ``energy``, a model's occlusion ``saliency`` or the mask predictor's scores
  (``predicted``), and attenuate the rest; time frames may instead render the dropped part as
  comfort noise or low-passed, or keep every sample and tell the codec where to spend its bits
  (``rendering: bits``, :mod:`acom.roi.render`).
- ``oracle_roi`` (:mod:`.roi`): apply each clip's best mask from the best-mask search.

Adding a filter type: a builder ``build(params, *, embed, masks, search_params, predictor) -> ClipFilter`` in a
module of this package and one :class:`FilterSpec` below; the config schema and checks follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from acom.registry import ConfigKey, Registry, resolve, with_defaults


@dataclass(frozen=True)
class FilteredClip:
    """One clip after a filter.

    samples: the filtered clip (float32, same length and rate as the input).
    axis: ``time`` / ``freq`` for ROI filters, ``none`` otherwise.
    kept_share: share of the ROI units kept (NaN for filters without units).
    bit_roi: for ``rendering: bits``, the region of interest as [start, end) seconds, which the codec
        codes at the condition's bitrate and the rest at ``floor_kbps``; None otherwise.
    floor_kbps: the bitrate outside ``bit_roi``.
    """

    samples: np.ndarray
    axis: str = "none"
    kept_share: float = float("nan")
    bit_roi: list[tuple[float, float]] | None = None
    floor_kbps: float | None = None


#: A filter for one clip: (clip id, samples, sample rate) -> FilteredClip.
ClipFilter = Callable[[str, np.ndarray, int], FilteredClip]


@dataclass(frozen=True)
class FilterSpec:
    """One filter type of the registry.

    build: ``"module:function"``, called as ``function(params, *, embed, masks, search_params, predictor)``.
    required: keys an entry of this type must set.
    model: which filters run a model: ``saliency`` (when ``score: saliency``: its embeddings score the
        units) or ``masks`` (always: the mask search of ``model`` gives the masks).
    """

    type: str
    build: str
    description: str
    keys: Mapping[str, ConfigKey] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    model: Literal["saliency", "masks"] | None = None


_HZ = {"type": "number", "exclusiveMinimum": 0}
_ORDER = ConfigKey({"type": "integer", "minimum": 1, "maximum": 16}, 8, "Butterworth order (applied twice)")
_ROI_KEYS = {
    "percentage": ConfigKey({"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                            description="share of frames or bands kept (%)"),
    "selection": ConfigKey({"type": "string", "enum": ["top", "contiguous"]}, "top",
                           "top: the best units anywhere; contiguous: the best window"),
    "score": ConfigKey({"type": "string", "enum": ["energy", "saliency", "predicted"]}, "energy",
                       "energy, the occlusion saliency of model, or the mask predictor trained on model's masks"),
    "model": ConfigKey({"type": "string"}, description="models.<name> that scores saliency, whose mask search "
                                                       "trains the predictor, or gives oracle masks"),
    "attenuation_db": ConfigKey({"type": ["number", "null"], "maximum": 0}, None,
                                "gain of the dropped part; null: zeroed"),
}
_TIME_KEYS = {
    "frame_ms": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 100.0, "length of one ROI frame"),
    "ramp_ms": ConfigKey({"type": "number", "minimum": 0}, 5.0, "raised-cosine fade into attenuated parts"),
    "rendering": ConfigKey({"type": "string", "enum": ["attenuate", "comfort_noise", "lowpass", "bits"]}, "attenuate",
                           "the dropped part: attenuated (attenuation_db), seeded comfort noise, low-passed, or "
                           "every sample kept and coded at floor_kbps (bit allocation inside the codec)"),
    "lowpass_hz": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 1000.0, "cutoff of rendering: lowpass"),
    "floor_kbps": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 6.0, "bitrate outside the ROI (rendering: bits)"),
    "seed": ConfigKey({"type": "integer", "minimum": 0}, 0, "comfort noise seed (per clip: seed and clip id)"),
}
_FREQ_KEYS = {
    "n_bands": ConfigKey({"type": "integer", "minimum": 2, "maximum": 512}, 32),
    "band_scale": ConfigKey({"type": "string", "enum": ["mel", "linear"]}, "mel"),
    "n_fft": ConfigKey({"type": "integer", "minimum": 32}, 1024),
    "hop_length": ConfigKey({"type": "integer", "minimum": 1}, 256),
    "fmax_hz": ConfigKey({"type": ["number", "null"], "exclusiveMinimum": 0}, None, "top band edge; null: Nyquist"),
}

FILTERS: Registry[FilterSpec] = Registry("filter", (
    *(FilterSpec(type=kind, build="acom.filters.naive:build", description=f"zero-phase Butterworth {kind}",
                 keys={"cutoff_hz": ConfigKey(_HZ), "order": _ORDER}, required=("cutoff_hz",))
      for kind in ("lowpass", "highpass")),
    FilterSpec(type="bandpass", build="acom.filters.naive:build", description="zero-phase Butterworth bandpass",
               keys={"low_hz": ConfigKey(_HZ), "high_hz": ConfigKey(_HZ), "order": _ORDER},
               required=("low_hz", "high_hz")),
    FilterSpec(type="frame_roi", build="acom.filters.roi:build", description="keep a share of the time frames",
               keys={**_ROI_KEYS, **_TIME_KEYS}, required=("percentage",), model="saliency"),
    FilterSpec(type="freq_roi", build="acom.filters.roi:build", description="keep a share of the frequency bands",
               keys={**_ROI_KEYS, **_FREQ_KEYS}, required=("percentage",), model="saliency"),
    FilterSpec(type="oracle_roi", build="acom.filters.roi:build_oracle",
               description="each clip's best mask from the mask search of model",
               keys={"model": _ROI_KEYS["model"]}, required=("model",), model="masks"),
))


def filter_model(params: Mapping[str, Any]) -> str | None:
    """The ``models.<name>`` a filter entry runs (saliency scores, oracle masks), or None."""
    spec = FILTERS[params["type"]]
    if spec.model == "masks" or (spec.model == "saliency" and params.get("score") == "saliency"):
        return params.get("model")
    return None


def filter_predictor(params: Mapping[str, Any]) -> str | None:
    """The ``models.<name>`` whose mask predictor scores a filter entry's units (``score: predicted``), or None."""
    if FILTERS[params["type"]].model == "saliency" and params.get("score") == "predicted":
        return params.get("model")
    return None


def allocates_bits(params: Mapping[str, Any]) -> bool:
    """Whether a filter entry leaves the clip whole and steers the codec's bits (``rendering: bits``)."""
    return params.get("rendering") == "bits"


def uses_masks(params: Mapping[str, Any]) -> bool:
    """Whether a filter entry applies the best masks of the mask search (``oracle_roi``)."""
    return FILTERS[params["type"]].model == "masks"


def build_filter(params: Mapping[str, Any], *, embed=None, masks=None, search_params=None,
                 predictor=None) -> ClipFilter:
    """The clip filter configured by ``params`` (a ``filters.<name>`` entry).

    ``embed`` is the model's embedder for saliency scores; ``masks`` the fold's mask table and
    ``search_params`` the ``mask_search`` entry whose grids the masks were found on (oracle);
    ``predictor`` the fold's :class:`acom.roi.predictor.MaskPredictor` (``score: predicted``).
    """
    spec = FILTERS[params["type"]]
    return resolve(spec.build)(with_defaults(params, spec), embed=embed, masks=masks, search_params=search_params,
                               predictor=predictor)
