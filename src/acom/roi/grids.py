"""Region-of-interest masks: which frames (time axis) or frequency bands (frequency axis) of a clip
to keep, and how to attenuate the rest without introducing clicks.

Masks are defined in physical units so a mask found at one sample rate applies at another: time
masks in frames of ``frame_ms`` milliseconds (or seconds), frequency masks in Hz. The same
functions serve the ROI filters (:mod:`acom.filters`) and the best-mask search (:mod:`acom.roi.search`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import librosa
import numpy as np

if TYPE_CHECKING:
    import torch

SELECTIONS = ("top", "contiguous")
BAND_SCALES = ("mel", "linear")


# --- unit selection (shared by both axes) -------------------------------------------------------
def units_to_keep(n_units: int, percentage: float) -> int:
    """How many of ``n_units`` frames or bands ``percentage`` % keeps: rounded half up, at least 1."""
    if not 0 < percentage <= 100:
        raise ValueError(f"percentage must be in (0, 100], got {percentage}")
    return int(min(n_units, max(1, math.floor(percentage * n_units / 100 + 0.5))))


def select_units(scores: np.ndarray, percentage: float, selection: str) -> np.ndarray:
    """Boolean keep-mask over units: the ``percentage`` % highest-scoring units (``top``), or the
    contiguous window of that many units with the highest total score (``contiguous``).

    Ties go to the earlier unit / window, so the choice is deterministic.
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = units_to_keep(len(scores), percentage)
    keep = np.zeros(len(scores), dtype=bool)
    if selection == "top":
        keep[np.argsort(-scores, kind="stable")[:k]] = True
    elif selection == "contiguous":
        sums = np.convolve(scores, np.ones(k), mode="valid")
        start = int(np.argmax(sums))
        keep[start:start + k] = True
    else:
        raise ValueError(f"unknown selection {selection!r}; known: {list(SELECTIONS)}")
    return keep


def window_starts(n_units: int, width: int, stride: int) -> list[int]:
    """Start units of contiguous windows of ``width`` units on a ``stride`` grid; the last window
    (ending at the last unit) is added when the grid misses it, so every unit is covered."""
    if not 1 <= width <= n_units:
        raise ValueError(f"window of {width} units does not fit in {n_units}")
    starts = list(range(0, n_units - width + 1, max(1, int(stride))))
    if starts[-1] != n_units - width:
        starts.append(n_units - width)
    return starts


# --- time axis ------------------------------------------------------------------------------------
def frame_length(sample_rate: int, frame_ms: float) -> int:
    """Samples per ROI frame at ``sample_rate``."""
    length = round(sample_rate * frame_ms / 1000)
    if length < 1:
        raise ValueError(f"frame_ms={frame_ms} is shorter than one sample at {sample_rate} Hz")
    return int(length)


def n_frames(n_samples: int, frame_len: int) -> int:
    """ROI frames covering ``n_samples`` (the last one may be partial)."""
    return max(1, math.ceil(n_samples / frame_len))


def frame_energy(samples: np.ndarray, frame_len: int) -> np.ndarray:
    """Mean square of each ROI frame (the last, partial frame over the samples it has)."""
    samples = np.asarray(samples, dtype=np.float64)
    count = n_frames(len(samples), frame_len)
    padded = np.zeros(count * frame_len)
    padded[: len(samples)] = samples**2
    lengths = np.full(count, frame_len, dtype=np.float64)
    lengths[-1] = len(samples) - (count - 1) * frame_len
    return padded.reshape(count, frame_len).sum(axis=1) / lengths


def frames_to_samples(keep_frames: np.ndarray, frame_len: int, n_samples: int) -> np.ndarray:
    """Per-sample keep-mask from a per-frame one."""
    return np.repeat(np.asarray(keep_frames, dtype=bool), frame_len)[:n_samples]


def seconds_to_samples(start_s: float, end_s: float, sample_rate: int, n_samples: int) -> np.ndarray:
    """Per-sample keep-mask of the interval [start_s, end_s)."""
    keep = np.zeros(n_samples, dtype=bool)
    keep[max(0, round(start_s * sample_rate)): min(n_samples, round(end_s * sample_rate))] = True
    return keep


def attenuation_gain(attenuation_db: float | None) -> float:
    """Linear gain of the attenuated part: 0 for ``None`` (zeroed), else 10^(dB/20) (dB <= 0)."""
    if attenuation_db is None:
        return 0.0
    if attenuation_db > 0:
        raise ValueError(f"attenuation_db must be <= 0 (a cut), got {attenuation_db}")
    return float(10 ** (attenuation_db / 20))


def time_gain(keep_samples: np.ndarray, floor_gain: float, ramp_len: int) -> np.ndarray:
    """Per-sample gain: 1 on kept samples, ``floor_gain`` elsewhere, with raised-cosine ramps of
    ``ramp_len`` samples laid on the attenuated side of every edge.

    Kept samples are never touched (gain exactly 1); the ramps stop a hard gate from clicking, which
    a codec would otherwise spend bits on and a model might hear. An attenuated sample's ramp value
    follows its distance to the nearest kept sample, found from the kept runs' edges alone (a mask
    has a few edges, a clip tens of thousands of samples).
    """
    keep_samples = np.asarray(keep_samples, dtype=bool)
    gain = np.where(keep_samples, 1.0, floor_gain)
    if ramp_len > 0 and keep_samples.any() and not keep_samples.all():
        n = len(keep_samples)
        edges = np.flatnonzero(np.diff(keep_samples.astype(np.int8)))
        distance = np.full(n, ramp_len + 1, dtype=np.int64)
        for edge in edges:  # keep changes between samples edge and edge + 1
            if keep_samples[edge]:  # a run ends at edge: samples after it, 1, 2, ... away
                stop = min(n, edge + 1 + ramp_len)
                np.minimum(distance[edge + 1:stop], np.arange(1, stop - edge), out=distance[edge + 1:stop])
            else:  # a run starts at edge + 1: samples before it
                start = max(0, edge + 1 - ramp_len)
                np.minimum(distance[start:edge + 1], np.arange(edge + 1 - start, 0, -1), out=distance[start:edge + 1])
        ramp = (distance <= ramp_len) & ~keep_samples
        shape = 0.5 * (1 + np.cos(np.pi * distance[ramp] / (ramp_len + 1)))
        gain[ramp] = floor_gain + (1 - floor_gain) * shape
    return gain


def apply_time_mask(samples: np.ndarray, keep_samples: np.ndarray, *, floor_gain: float,
                    ramp_len: int) -> np.ndarray:
    """``samples`` with everything outside ``keep_samples`` attenuated (see :func:`time_gain`)."""
    return (np.asarray(samples, dtype=np.float64) * time_gain(keep_samples, floor_gain, ramp_len)).astype(np.float32)


# --- frequency axis -------------------------------------------------------------------------------
def band_edges(n_bands: int, fmax: float, scale: str = "mel", fmin: float = 0.0) -> np.ndarray:
    """``n_bands + 1`` band edges in Hz from ``fmin`` to ``fmax``, equally spaced on the mel scale
    (librosa's Slaney mel, linear below 1 kHz) or in Hz."""
    if scale == "mel":
        edges = librosa.mel_frequencies(n_bands + 1, fmin=fmin, fmax=fmax)
        edges[[0, -1]] = fmin, fmax  # exact ends: the mel round trip is off by rounding
        return edges
    if scale == "linear":
        return np.linspace(fmin, fmax, n_bands + 1)
    raise ValueError(f"unknown band scale {scale!r}; known: {list(BAND_SCALES)}")


def bin_frequencies(sample_rate: int, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each one-sided STFT bin."""
    return np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)


def bin_bands(freqs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Band index of each STFT bin, -1 for bins outside the grid.

    Bands are half-open, edges[i] <= f < edges[i+1]; the Nyquist bin belongs to the top band when
    the grid reaches Nyquist (``freqs[-1]``). :func:`bin_gains_from_hz` follows the same rule, so a
    contiguous run of bands and its Hz range select the same bins.
    """
    index = np.searchsorted(edges, freqs, side="right") - 1
    index[(freqs < edges[0]) | (freqs >= edges[-1])] = -1
    nyquist = freqs[-1]
    if edges[-1] >= nyquist * (1 - 1e-9) and nyquist >= edges[0]:  # mel edges may miss Nyquist by rounding
        index[-1] = len(edges) - 2
    return index


def check_bands_resolved(edges: np.ndarray, sample_rate: int, n_fft: int) -> None:
    """``ValueError`` when some band holds no STFT bin: a mask could not express it."""
    index = bin_bands(bin_frequencies(sample_rate, n_fft), edges)
    counts = np.bincount(index[index >= 0], minlength=len(edges) - 1)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        band = int(empty[0])
        raise ValueError(f"band {band} ({edges[band]:.0f}-{edges[band + 1]:.0f} Hz) holds no STFT bin at "
                         f"{sample_rate} Hz with n_fft={n_fft}: use fewer bands or a larger n_fft")


def bin_gains_from_bands(keep_bands: np.ndarray, edges: np.ndarray, sample_rate: int, n_fft: int,
                         floor_gain: float) -> np.ndarray:
    """Per-bin gains, (bins,) or (K, bins) for a (n_bands,) or (K, n_bands) keep-mask: 1 for bins
    of kept bands, ``floor_gain`` for the others (and for bins outside the band grid)."""
    keep_bands = np.asarray(keep_bands, dtype=bool)
    index = bin_bands(bin_frequencies(sample_rate, n_fft), edges)
    keep = np.take(keep_bands, np.maximum(index, 0), axis=-1) & (index >= 0)
    return np.where(keep, 1.0, floor_gain)


def bin_gains_from_hz(ranges: Sequence[tuple[float, float]], sample_rate: int, n_fft: int,
                      floor_gain: float) -> np.ndarray:
    """Per-bin gain: 1 for bins in one of the [low, high) Hz ranges (the Nyquist bin too when a
    range reaches it), ``floor_gain`` for the others. Applies a mask found at one sample rate at
    another."""
    freqs = bin_frequencies(sample_rate, n_fft)
    keep = np.zeros(len(freqs), dtype=bool)
    for low, high in ranges:
        keep |= (freqs >= low) & (freqs < high)
        if high >= freqs[-1] >= low:
            keep[-1] = True
    return np.where(keep, 1.0, floor_gain)


# torch (the STFT) is imported where it is used: a time mask or a naive filter needs none of it.
def _window(n_fft: int) -> torch.Tensor:
    import torch

    return torch.hann_window(n_fft, dtype=torch.float64)


def stft(samples: np.ndarray, n_fft: int, hop_length: int) -> torch.Tensor:
    """Complex one-sided STFT (bins, frames) of a clip (Hann window, centred frames, float64)."""
    import torch

    x = torch.from_numpy(np.asarray(samples, dtype=np.float64))
    return torch.stft(x, n_fft, hop_length=hop_length, window=_window(n_fft), center=True, return_complex=True)


def istft(spectra: torch.Tensor, n_fft: int, hop_length: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft` for one spectrum (bins, frames) or a batch (B, bins, frames).

    With a Hann window and hop <= n_fft / 2 the overlap-add is exact, so an unmasked spectrum
    resynthesises the clip to float64 precision.
    """
    import torch

    out = torch.istft(spectra, n_fft, hop_length=hop_length, window=_window(n_fft), center=True, length=length)
    return out.numpy().astype(np.float32)


def check_stft(n_fft: int, hop_length: int) -> None:
    if hop_length > n_fft // 2:
        raise ValueError(f"hop_length={hop_length} > n_fft/2={n_fft // 2}: the Hann overlap-add would not "
                         f"reconstruct the clip")


def band_energy(spectrum: torch.Tensor, edges: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Mean power of each band over the clip, from an STFT (bins, frames)."""
    index = bin_bands(bin_frequencies(sample_rate, n_fft), edges)
    power = (spectrum.abs() ** 2).mean(dim=1).numpy()
    n_bands = len(edges) - 1
    inside = index >= 0
    total = np.bincount(index[inside], weights=power[inside], minlength=n_bands)
    count = np.bincount(index[inside], minlength=n_bands)
    return total / np.maximum(count, 1)


def apply_band_gains(samples: np.ndarray, gains: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """``samples`` with STFT bin ``b`` scaled by ``gains[..., b]``, resynthesised by inverse STFT.

    ``gains`` is (bins,) for one output or (K, bins) for K masked versions of the same clip (the
    STFT is computed once for all of them).
    """
    spectrum = stft(samples, n_fft, hop_length)
    import torch

    gains = torch.from_numpy(np.asarray(gains, dtype=np.float64))
    return istft(spectrum * gains[..., :, None], n_fft, hop_length, len(samples))


# --- the two axes as mask grids -----------------------------------------------------------------
@dataclass(frozen=True)
class TimeGrid:
    """ROI units on the time axis: frames of ``frame_ms``; attenuated parts fade over ``ramp_ms``.

    Regions are reported in frames (unit ``frame``); frame f spans [f, f+1) * frame_ms.
    """

    frame_ms: float = 100.0
    ramp_ms: float = 5.0
    axis = "time"
    unit = "frame"

    def frame_len(self, sample_rate: int) -> int:
        return frame_length(sample_rate, self.frame_ms)

    def n_units(self, n_samples: int, sample_rate: int) -> int:
        return n_frames(n_samples, self.frame_len(sample_rate))

    def energy(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        return frame_energy(samples, self.frame_len(sample_rate))

    def apply(self, samples: np.ndarray, sample_rate: int, keep_units: np.ndarray, floor_gain: float) -> np.ndarray:
        """Masked clip for a (n_units,) keep-mask, or (K, n) clips for a (K, n_units) one."""
        keep_units = np.asarray(keep_units, dtype=bool)
        frame_len, n = self.frame_len(sample_rate), len(samples)
        ramp_len = round(self.ramp_ms * sample_rate / 1000)
        rows = [apply_time_mask(samples, frames_to_samples(k, frame_len, n), floor_gain=floor_gain, ramp_len=ramp_len)
                for k in np.atleast_2d(keep_units)]
        return np.stack(rows) if keep_units.ndim == 2 else rows[0]

    def gain(self, n_samples: int, sample_rate: int, keep_units: np.ndarray, floor_gain: float = 0.0) -> np.ndarray:
        """The per-sample gain :meth:`apply` multiplies by (1 kept, ``floor_gain`` dropped, ramps between)."""
        keep = frames_to_samples(keep_units, self.frame_len(sample_rate), n_samples)
        return time_gain(keep, floor_gain, round(self.ramp_ms * sample_rate / 1000))

    def kept_seconds(self, keep_units: np.ndarray, n_samples: int, sample_rate: int) -> list[tuple[float, float]]:
        """The kept units as [start, end) intervals in seconds (runs of kept frames merged; the last
        frame ends with the clip)."""
        keep = np.asarray(keep_units, dtype=bool)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        duration = n_samples / sample_rate
        return [(float(start * self.frame_ms / 1000), float(min(end * self.frame_ms / 1000, duration)))
                for start, end in zip(edges[::2], edges[1::2])]

    def region(self, start: int, end: int, sample_rate: int) -> tuple[float, float]:
        """Units [start, end) as (region_start, region_end) in this grid's unit (frames)."""
        return float(start), float(end)

    def apply_region(self, samples: np.ndarray, sample_rate: int, region_start: float, region_end: float,
                     floor_gain: float) -> np.ndarray:
        """Keep frames [region_start, region_end) at any sample rate (the frames are converted to
        seconds, so a region found at 16 kHz applies at 24 kHz)."""
        keep = seconds_to_samples(region_start * self.frame_ms / 1000, region_end * self.frame_ms / 1000,
                                  sample_rate, len(samples))
        return apply_time_mask(samples, keep, floor_gain=floor_gain,
                               ramp_len=round(self.ramp_ms * sample_rate / 1000))


@dataclass(frozen=True)
class FreqGrid:
    """ROI units on the frequency axis: ``n_bands`` mel-spaced or linear bands from 0 Hz to
    ``fmax_hz`` (None: Nyquist), applied as an STFT mask and resynthesised by inverse STFT.

    Regions are reported in Hz (unit ``hz``).
    """

    n_bands: int = 32
    scale: str = "mel"
    n_fft: int = 1024
    hop_length: int = 256
    fmax_hz: float | None = None
    axis = "freq"
    unit = "hz"

    def edges(self, sample_rate: int) -> np.ndarray:
        fmax = sample_rate / 2 if self.fmax_hz is None else float(self.fmax_hz)
        if fmax > sample_rate / 2:
            raise ValueError(f"fmax_hz={fmax} is above the Nyquist frequency of {sample_rate} Hz audio")
        check_stft(self.n_fft, self.hop_length)
        edges = band_edges(self.n_bands, fmax, self.scale)
        check_bands_resolved(edges, sample_rate, self.n_fft)
        return edges

    def n_units(self, n_samples: int, sample_rate: int) -> int:
        return self.n_bands

    def energy(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        return band_energy(stft(samples, self.n_fft, self.hop_length), self.edges(sample_rate), sample_rate,
                           self.n_fft)

    def apply(self, samples: np.ndarray, sample_rate: int, keep_units: np.ndarray, floor_gain: float) -> np.ndarray:
        """Masked clip for a (n_bands,) keep-mask, or (K, n) clips for a (K, n_bands) one (one STFT).

        Many masks of one clip (K >= n_bands, the mask search) are sums of per-band parts: the inverse
        STFT is linear, so each masked clip is ``floor * x + (1 - floor) * sum of its kept bands' parts``
        with one inverse STFT per band instead of one per mask (equal to the direct resynthesis up to
        float64 rounding)."""
        keep_units = np.asarray(keep_units, dtype=bool)
        edges = self.edges(sample_rate)
        if keep_units.ndim == 2 and len(keep_units) >= self.n_bands:
            import torch

            spectrum = stft(samples, self.n_fft, self.hop_length)
            parts = torch.from_numpy(bin_gains_from_bands(np.eye(self.n_bands, dtype=bool), edges, sample_rate,
                                                          self.n_fft, 0.0))
            band_parts = torch.istft(spectrum * parts[:, :, None], self.n_fft, hop_length=self.hop_length,
                                     window=_window(self.n_fft), center=True, length=len(samples)).numpy()
            whole = istft(spectrum, self.n_fft, self.hop_length, len(samples)).astype(np.float64) if floor_gain else 0.0
            kept = keep_units.astype(np.float64) @ band_parts
            return (floor_gain * whole + (1.0 - floor_gain) * kept).astype(np.float32)
        gains = bin_gains_from_bands(keep_units, edges, sample_rate, self.n_fft, floor_gain)
        return apply_band_gains(samples, gains, n_fft=self.n_fft, hop_length=self.hop_length)

    def region(self, start: int, end: int, sample_rate: int) -> tuple[float, float]:
        """Bands [start, end) as their Hz range."""
        edges = self.edges(sample_rate)
        return float(edges[start]), float(edges[end])

    def apply_region(self, samples: np.ndarray, sample_rate: int, region_start: float, region_end: float,
                     floor_gain: float) -> np.ndarray:
        """Keep [region_start, region_end) Hz at any sample rate; content above the range (e.g. above
        the Nyquist frequency of the rate the region was found at) is attenuated too."""
        check_stft(self.n_fft, self.hop_length)
        gains = bin_gains_from_hz([(region_start, region_end)], sample_rate, self.n_fft, floor_gain)
        return apply_band_gains(samples, gains, n_fft=self.n_fft, hop_length=self.hop_length)


MaskGrid = TimeGrid | FreqGrid
AXES = ("time", "freq")


def grid_from_params(axis: str, params: Mapping[str, Any]) -> MaskGrid:
    """The mask grid of one axis from a config mapping (a filter entry or ``mask_search.<axis>``)."""
    if axis == "time":
        return TimeGrid(frame_ms=float(params.get("frame_ms", 100.0)), ramp_ms=float(params.get("ramp_ms", 5.0)))
    if axis == "freq":
        return FreqGrid(n_bands=int(params.get("n_bands", 32)), scale=params.get("band_scale", "mel"),
                        n_fft=int(params.get("n_fft", 1024)), hop_length=int(params.get("hop_length", 256)),
                        fmax_hz=params.get("fmax_hz"))
    raise ValueError(f"unknown ROI axis {axis!r}; known: {list(AXES)}")


def search_grids(search_params: Mapping[str, Any]) -> dict[str, MaskGrid]:
    """Both axes' grids of a ``mask_search`` config section (the grids its masks refer to)."""
    return {axis: grid_from_params(axis, search_params.get(axis, {})) for axis in AXES}
