"""The codec stage for one fold: code every clip, keep its bitstream and decode, measure what it cost."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from acom.batching import equal_length_batches
from acom.conditions import codec_family
from acom.io import read_audio, write_flac
from acom.quality import MelDistance, correlation_lag, si_snr

log = logging.getLogger(__name__)

CODED_COLUMNS = [
    "clip_id", "fold", "target", "category", "codec", "nominal_kbps", "payload_bytes", "file_bytes",
    "duration_s", "actual_kbps", "container_kbps", "decode_length", "alignment_lag", "si_snr_db", "mel_distance",
    "path", "bitstream_path", "sample_rate",
]
# Lags searched when checking a decode's alignment: 128 ms covers every codec delay here (LAME's
# 1105 samples at 16 kHz is 69 ms, AAC's priming 64 ms).
ALIGNMENT_SEARCH_S = 0.128
# A clip's lag is recorded when its decode correlates with the input at least this much somewhere;
# below it (silence, noise substitution at very low rates) the peak's position means nothing.
LAG_MIN_PEAK = 0.3
# A fold stops when more than half of its clips with a recorded lag share one lag beyond a sample:
# a delay the codec did not remove shows in every clip. No single clip stops a job: periodic and
# tonal clips at low rates decode about as well, or better, a period away (water drops under Opus
# 6 kbps: +47 samples, 0.53 there and 0.42 at lag 0; chirping birds: +6, 0.72 and -0.46; crickets
# under Opus 8 kbps: +15, 0.93 and 0.58), which is no delay.
MAX_LAG_OK = 1


def _read_fold(clips: pd.DataFrame) -> tuple[list, list[np.ndarray]]:
    """The fold's manifest records in clip-id order and their samples."""
    records = list(clips.sort_values("clip_id").itertuples(index=False))
    return records, [read_audio(rec.path)[0] for rec in records]


def code_fold(clips: pd.DataFrame, codec, *, condition: str, nominal_kbps: float,
              out_dir: str | os.PathLike, batch_size: int = 16, workers: int = 1) -> pd.DataFrame:
    """Code every clip listed in ``clips`` (a fold manifest at the codec's rate: clip_id, fold,
    target, category, path, sample_rate) with ``codec`` (see :func:`acom.codecs.build_codec`).

    Writes ``<clip><ext>`` (the bitstream) and ``<clip>.flac`` (the decode) into ``out_dir`` and
    returns the codec manifest: bytes spent (payload and file), the bitrate actually spent
    (``actual_kbps`` = payload bits / duration; ``container_kbps`` the same with container overhead),
    the decode's length and its SI-SNR and log-mel distance to the input. Clips go to the codec in
    batches of equal length (``batch_size``); with ``workers`` > 1 the batches are coded on a thread
    pool, for codecs whose library releases the GIL (each clip's result does not depend on it).
    """
    wrong_rate = clips[clips["sample_rate"] != codec.sample_rate]
    if len(wrong_rate):
        rec = wrong_rate.iloc[0]
        raise ValueError(f"{rec.path}: sample rate {rec.sample_rate} Hz, the codec codes at {codec.sample_rate} Hz")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mel_distance = MelDistance(codec.sample_rate)
    records = list(clips.sort_values("clip_id").itertuples(index=False))

    def code_batch(batch: list[int]) -> list[dict]:
        waves = [read_audio(records[i].path)[0] for i in batch]
        coded = _code_clips(codec, [records[i] for i in batch], waves,
                            [out_dir / f"{records[i].clip_id}{codec.extension}" for i in batch], condition)
        return [_coded_row(records[i], reference, result, out_dir=out_dir, codec=codec, condition=condition,
                           nominal_kbps=nominal_kbps, mel_distance=mel_distance)
                for i, reference, result in zip(batch, waves, coded, strict=True)]

    lengths = [int(rec.frames) if hasattr(rec, "frames") else sf.info(rec.path).frames for rec in records]
    batches = list(equal_length_batches(lengths, batch_size))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = [row for batch_rows in pool.map(code_batch, batches) for row in batch_rows]
    else:
        rows = [row for batch in batches for row in code_batch(batch)]
    table = pd.DataFrame(rows, columns=CODED_COLUMNS).sort_values("clip_id").reset_index(drop=True)
    _check_fold_alignment(table, condition)
    log.info("%s: %d clips, mean %.2f kbps (nominal %g)", condition, len(table), table["actual_kbps"].mean(),
             nominal_kbps)
    return table


def _code_clips(codec, records: list, waves: list[np.ndarray], paths: list[Path], condition: str) -> list:
    """Code one batch: clips whose manifest row carries a ``bit_roi`` (a ``rendering: bits`` filter)
    through the codec's ``code_roi``, each with its region and floor bitrate; others in one batch."""
    rois = [getattr(rec, "bit_roi", None) for rec in records]
    if all(roi is None or (isinstance(roi, float) and np.isnan(roi)) for roi in rois):
        return codec.code_batch(waves, paths)
    if not hasattr(codec, "code_roi"):
        raise ValueError(f"{records[0].path}: the clips carry a region of interest for bit allocation "
                         f"(rendering: bits) but {condition}'s codec cannot allocate bits by region; "
                         "code them with a codec that can (evaluation.filter_codecs)")
    return [codec.code_roi(wave, path, [tuple(interval) for interval in json.loads(roi)], float(rec.floor_kbps))
            for rec, wave, path, roi in zip(records, waves, paths, rois, strict=True)]


def _check_fold_alignment(table: pd.DataFrame, condition: str) -> None:
    """Raise if most clips of the fold share one lag beyond a sample (see MAX_LAG_OK)."""
    lags = table["alignment_lag"].dropna()
    if lags.empty:
        return
    counts = lags.value_counts()
    lag, count = float(counts.index[0]), int(counts.iloc[0])
    if abs(lag) > MAX_LAG_OK and count > len(lags) / 2:
        example = table.loc[table["alignment_lag"] == lag, "clip_id"].iloc[0]
        raise RuntimeError(f"{condition}: {count} of {len(lags)} clips decode {lag:+.0f} samples off their input "
                           f"(e.g. clip {example}): the codec's delay was not removed")


def _coded_row(rec, reference: np.ndarray, result, *, out_dir: Path, codec, condition: str, nominal_kbps: float,
               mel_distance: MelDistance) -> dict:
    """Check one clip's decode, write it as FLAC and measure it: its row of the codec manifest."""
    if result.decoded.shape != reference.shape:
        raise RuntimeError(f"{rec.path}: decode has {result.decoded.shape[0]} samples, "
                           f"input {reference.shape[0]}: the codec did not trim its delay")
    lag, peak, _ = correlation_lag(reference, result.decoded, max_lag=round(ALIGNMENT_SEARCH_S * codec.sample_rate))
    decoded_path = out_dir / f"{rec.clip_id}.flac"
    write_flac(decoded_path, result.decoded, codec.sample_rate)
    duration = reference.shape[0] / codec.sample_rate
    return {
        "clip_id": rec.clip_id, "fold": int(rec.fold), "target": int(rec.target),
        "category": rec.category, "codec": condition, "nominal_kbps": float(nominal_kbps),
        "payload_bytes": int(result.payload_bytes), "file_bytes": int(result.file_bytes),
        "duration_s": duration,
        "actual_kbps": result.payload_bytes * 8 / duration / 1000,
        "container_kbps": result.file_bytes * 8 / duration / 1000,
        "decode_length": int(result.decoded.shape[0]),
        # Lag of the decode's cross-correlation peak against the input (NaN: no clear peak).
        "alignment_lag": float(lag) if peak >= LAG_MIN_PEAK else float("nan"),
        "si_snr_db": si_snr(reference, result.decoded),
        "mel_distance": mel_distance(reference, result.decoded),
        "path": str(decoded_path),
        "bitstream_path": str(out_dir / f"{rec.clip_id}{codec.extension}"),
        "sample_rate": int(codec.sample_rate),
    }


MASKED_RATE_COLUMNS = ["clip_id", "fold", "axis", "percentage", "region_start", "region_end", "payload_bytes",
                      "actual_kbps"]


def code_masked_versions(clips: pd.DataFrame, masks: pd.DataFrame, codec, grids: dict, *, floor_gain: float,
                         batch_size: int = 16) -> pd.DataFrame:
    """What coding costs each clip under each of its searched masks.

    For every clip of a fold manifest at the codec's rate, the unmasked clip (axis ``none``,
    percentage 100) and every row of its mask table (axis, percentage, region) are coded with
    ``codec``; bitstreams go to a temporary folder and only the bits spent are kept.
    """
    rows = []
    records, waves = _read_fold(clips)
    by_clip = dict(tuple(masks.groupby("clip_id", sort=False)))
    with tempfile.TemporaryDirectory(prefix="acom-masked-") as tmp:
        for rec, wave in zip(records, waves):
            regions = by_clip.get(rec.clip_id)
            if regions is None:
                raise ValueError(f"{rec.path}: clip {rec.clip_id} has no rows in the mask table")
            versions = [({"axis": "none", "percentage": 100.0, "region_start": float("nan"),
                          "region_end": float("nan")}, wave)]
            for mask in regions.itertuples(index=False):
                versions.append(({"axis": mask.axis, "percentage": float(mask.percentage),
                                  "region_start": float(mask.region_start), "region_end": float(mask.region_end)},
                                 grids[mask.axis].apply_region(wave, codec.sample_rate, mask.region_start,
                                                               mask.region_end, floor_gain)))
            duration = wave.shape[0] / codec.sample_rate
            for start in range(0, len(versions), batch_size):
                chunk = versions[start:start + batch_size]
                paths = [Path(tmp) / f"{i}{codec.extension}" for i in range(len(chunk))]
                for (keys, _), result in zip(chunk, codec.code_batch([w for _, w in chunk], paths)):
                    rows.append({"clip_id": rec.clip_id, "fold": int(rec.fold), **keys,
                                 "payload_bytes": int(result.payload_bytes),
                                 "actual_kbps": result.payload_bytes * 8 / duration / 1000})
    return pd.DataFrame(rows, columns=MASKED_RATE_COLUMNS)


def codec_quality(manifests: pd.DataFrame) -> pd.DataFrame:
    """Rate-distortion table: one row per (filter, codec condition) with mean actual kbps, SI-SNR and
    log-mel distance over clips (``manifests`` is the concatenation of codec manifests with a
    ``filter`` column). SI-SNR of silent references (NaN) is left out of the mean."""
    grouped = manifests.groupby(["filter", "codec"], sort=True)
    table = grouped.agg(
        nominal_kbps=("nominal_kbps", "first"),
        actual_kbps=("actual_kbps", "mean"),
        container_kbps=("container_kbps", "mean"),
        si_snr_mean=("si_snr_db", "mean"),
        mel_distance_mean=("mel_distance", "mean"),
        n_clips=("clip_id", "size"),
    ).reset_index()
    table.insert(1, "codec_family", table["codec"].map(codec_family))
    return table.sort_values(["filter", "codec_family", "nominal_kbps"]).reset_index(drop=True)
