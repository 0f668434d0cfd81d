"""The mask predictor: a small network that ranks a clip's frames and bands by how much a model's
decision depends on them, learned from the best-mask search of other clips, so that a region of
interest can be chosen without the label at test time.

Input: the clip's log-mel spectrogram (64 bands, 25 ms windows every 10 ms, at the search's rate).
Output: one logit per time unit and per frequency band of the mask search's grids (100 ms frames and
32 mel bands by default). Three dilated 1-D convolutions over time (receptive field 0.29 s) feed a
per-frame head pooled to the time units; the band head reads the time-averaged features beside the
clip's mean log-mel. About 40 k parameters; a 5 s clip costs about a millisecond on one core.

Targets, from a clip's rows in the mask table: for each axis, every percentage whose best region
keeps the clip correct votes for the units of that region; a unit's target is its share of those
votes. Units inside the smallest correct region get every vote, units only inside the 90 % region
one. Clips with no correct row on an axis contribute nothing to that axis's loss.

For test fold k the predictor is trained on the mask tables and clips of the other folds only
(:func:`train_mask_predictor` refuses test-fold rows) and seeded: the same tables give the same
weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

N_MELS, WIN_S, HOP_S = 64, 0.025, 0.010


@dataclass(frozen=True)
class PredictorSettings:
    """Architecture and training of the mask predictor (``mask_predictor`` in the config)."""

    channels: int = 48
    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 0.003
    weight_decay: float = 0.0001
    seed: int = 0


def log_mel(samples: np.ndarray, sample_rate: int):
    """(N_MELS, frames) log-mel power of one clip as a float32 torch tensor (torchaudio, centred frames)."""
    import torch

    n_fft = 1 << (round(WIN_S * sample_rate) - 1).bit_length()
    transform = _mel_transform(sample_rate, n_fft)
    with torch.no_grad():
        power = transform(torch.as_tensor(np.asarray(samples, dtype=np.float32)))
    return torch.log(power + 1e-6)


_TRANSFORMS: dict = {}


def _mel_transform(sample_rate: int, n_fft: int):
    import torchaudio

    key = (sample_rate, n_fft)
    if key not in _TRANSFORMS:
        _TRANSFORMS[key] = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, win_length=round(WIN_S * sample_rate),
            hop_length=round(HOP_S * sample_rate), n_mels=N_MELS, power=2.0)
    return _TRANSFORMS[key]


def _network(channels: int, n_bands: int):
    import torch
    from torch import nn

    class MaskPredictorNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv1d(N_MELS, channels, 5, padding=2), nn.ReLU(),
                nn.Conv1d(channels, channels, 5, padding=4, dilation=2), nn.ReLU(),
                nn.Conv1d(channels, channels, 5, padding=8, dilation=4), nn.ReLU(),
            )
            self.time_head = nn.Conv1d(channels, 1, 1)
            self.band_head = nn.Linear(channels + N_MELS, n_bands)

        def forward(self, mel, frames_per_unit: int, n_units: int):
            """mel: (batch, N_MELS, frames) standardised -> (time logits (batch, n_units), band logits)."""
            features = self.body(mel)
            frame_logits = self.time_head(features)  # (batch, 1, frames)
            padded = nn.functional.pad(frame_logits, (0, max(0, n_units * frames_per_unit - frame_logits.shape[-1])),
                                       mode="replicate")
            time_logits = padded[..., : n_units * frames_per_unit].reshape(mel.shape[0], n_units, frames_per_unit)
            pooled = torch.cat([features.mean(dim=-1), mel.mean(dim=-1)], dim=1)
            return time_logits.mean(dim=-1), self.band_head(pooled)

    return MaskPredictorNet()


def region_units(start: float, end: float, axis: str, band_edges_hz: Sequence[float] | None = None) -> tuple[int, int]:
    """A mask-table region as unit indices [first, last): time regions are in frames already,
    frequency regions in Hz (the nearest band edges of the search's grid)."""
    if axis == "time":
        return round(float(start)), round(float(end))
    if band_edges_hz is None:
        raise ValueError("frequency regions (Hz) need the search's band edges")
    edges = np.asarray(band_edges_hz, dtype=np.float64)
    return int(np.argmin(np.abs(edges - start))), int(np.argmin(np.abs(edges - end)))


def unit_targets(rows: pd.DataFrame, axis: str, n_units: int, band_edges_hz: Sequence[float] | None = None
                 ) -> np.ndarray | None:
    """Soft targets of one clip on one axis from its mask-table rows (see module doc), or None when
    no region on that axis keeps the clip correct."""
    correct = rows[(rows["axis"] == axis) & rows["correct_masked"]]
    if correct.empty:
        return None
    votes = np.zeros(n_units)
    for row in correct.itertuples(index=False):
        first, last = region_units(row.region_start, row.region_end, axis, band_edges_hz)
        votes[first:last] += 1
    return votes / len(correct)


def oracle_units(rows: pd.DataFrame, axis: str, n_units: int, band_edges_hz: Sequence[float] | None = None
                 ) -> np.ndarray | None:
    """The units of one clip's smallest correct region on ``axis`` (the oracle mask), or None."""
    correct = rows[(rows["axis"] == axis) & rows["correct_masked"]]
    if correct.empty:
        return None
    best = correct.sort_values(["percentage", "score_masked"], ascending=[True, False], kind="stable").iloc[0]
    keep = np.zeros(n_units, dtype=bool)
    first, last = region_units(best.region_start, best.region_end, axis, band_edges_hz)
    keep[first:last] = True
    return keep


class MaskPredictor:
    """A trained predictor: :meth:`scores` gives a clip's time-unit and band logits."""

    def __init__(self, net, *, mean, std, sample_rate: int, time_frame_ms: float, band_edges_hz: Sequence[float],
                 settings: PredictorSettings):
        self.net, self.mean, self.std = net.eval(), mean, std
        self.sample_rate, self.time_frame_ms, self.settings = sample_rate, time_frame_ms, settings
        self.band_edges_hz = np.asarray(band_edges_hz, dtype=np.float64)
        self.n_bands = len(self.band_edges_hz) - 1

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def n_time_units(self, n_samples: int) -> int:
        return max(1, math.ceil(n_samples / round(self.sample_rate * self.time_frame_ms / 1000)))

    def scores(self, samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """(time-unit scores, band scores) of one clip at the predictor's rate (higher: keep first)."""
        import torch

        if sample_rate != self.sample_rate:
            raise ValueError(f"the mask predictor works at {self.sample_rate} Hz, the clip is at {sample_rate} Hz")
        mel = (log_mel(samples, sample_rate) - self.mean[:, None]) / self.std[:, None]
        with torch.no_grad():
            time_logits, band_logits = self.net(mel[None], _frames_per_unit(self.time_frame_ms),
                                                self.n_time_units(len(samples)))
        return time_logits[0].numpy().astype(np.float64), band_logits[0].numpy().astype(np.float64)

    def unit_scores(self, grid, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Scores of the units of another grid (a filter's): a time frame takes the score of the
        predictor's time unit holding its centre, a band that of the predictor's band holding its
        centre frequency. A clip at another rate is resampled to the predictor's for scoring."""
        n_samples = len(samples)
        if sample_rate != self.sample_rate:
            import librosa

            samples = librosa.resample(np.asarray(samples, dtype=np.float32), orig_sr=sample_rate,
                                       target_sr=self.sample_rate, res_type="soxr_hq")
        time_scores, band_scores = self.scores(samples, self.sample_rate)
        if grid.axis == "time":
            n = grid.n_units(n_samples, sample_rate)
            centres_ms = (np.arange(n) + 0.5) * grid.frame_ms
            return time_scores[np.minimum((centres_ms // self.time_frame_ms).astype(int), len(time_scores) - 1)]
        edges = grid.edges(sample_rate)
        centres = (edges[:-1] + edges[1:]) / 2
        index = np.clip(np.searchsorted(self.band_edges_hz, centres, side="right") - 1, 0, self.n_bands - 1)
        return band_scores[index]

    def state(self) -> dict[str, Any]:
        """Everything :func:`load_mask_predictor` needs (a torch.save-able dict)."""
        return {"state_dict": self.net.state_dict(), "mean": self.mean, "std": self.std,
                "sample_rate": self.sample_rate, "time_frame_ms": self.time_frame_ms,
                "band_edges_hz": self.band_edges_hz.tolist(), "settings": asdict(self.settings)}


def _frames_per_unit(time_frame_ms: float) -> int:
    frames = time_frame_ms / 1000 / HOP_S
    if abs(frames - round(frames)) > 1e-9 or frames < 1:
        raise ValueError(f"the mask search's frame_ms ({time_frame_ms}) must be a whole multiple of {HOP_S * 1000:g} ms "
                         "for the mask predictor")
    return round(frames)


def load_mask_predictor(path) -> MaskPredictor:
    """A predictor saved with ``torch.save(predictor.state(), path)``."""
    import torch

    return mask_predictor_from_state(torch.load(path, map_location="cpu", weights_only=False))


def mask_predictor_from_state(state: Mapping[str, Any]) -> MaskPredictor:
    """The predictor a saved state (:meth:`MaskPredictor.state`, plus any extra keys) describes."""
    settings = PredictorSettings(**state["settings"])
    net = _network(settings.channels, len(state["band_edges_hz"]) - 1)
    net.load_state_dict(state["state_dict"])
    return MaskPredictor(net, mean=state["mean"], std=state["std"], sample_rate=state["sample_rate"],
                         time_frame_ms=state["time_frame_ms"], band_edges_hz=state["band_edges_hz"],
                         settings=settings)


def training_examples(clips: pd.DataFrame, masks: pd.DataFrame, waves: Mapping[str, np.ndarray] | None, *,
                      sample_rate: int, time_frame_ms: float, band_edges_hz: Sequence[float]) -> list[dict]:
    """(log-mel, time targets, band targets) of every clip with a correct region on some axis; the
    samples come from ``waves`` (clip id -> samples) or, when None, from the clips' ``path``."""
    from acom.io import read_audio

    paths = dict(zip(clips["clip_id"], clips["path"])) if waves is None else {}
    examples = []
    by_clip = dict(tuple(masks.groupby("clip_id", sort=False)))
    frame_len = round(sample_rate * time_frame_ms / 1000)
    for clip_id in sorted(clips["clip_id"]):
        rows = by_clip.get(clip_id)
        if rows is None:
            continue
        if waves is None:
            samples, rate = read_audio(paths[clip_id])
            if rate != sample_rate:
                raise ValueError(f"{paths[clip_id]}: {rate} Hz, the mask search and its predictor work at {sample_rate} Hz")
        else:
            samples = waves[clip_id]
        n_time = max(1, math.ceil(len(samples) / frame_len))
        time_target = unit_targets(rows, "time", n_time)
        band_target = unit_targets(rows, "freq", len(band_edges_hz) - 1, band_edges_hz)
        if time_target is None and band_target is None:
            continue
        examples.append({"clip_id": clip_id, "mel": log_mel(samples, sample_rate), "time": time_target,
                         "band": band_target, "n_time": n_time})
    return examples


def train_mask_predictor(clips: pd.DataFrame, masks: pd.DataFrame, waves: Mapping[str, np.ndarray] | None = None, *,
                         test_fold: int, sample_rate: int, time_frame_ms: float, band_edges_hz: Sequence[float],
                         settings: PredictorSettings = PredictorSettings()) -> MaskPredictor:
    """Train the predictor for ``test_fold`` on ``clips`` (manifest rows: clip_id, fold, path),
    their mask table rows and samples (``waves``: clip id -> samples at ``sample_rate``; None: read
    from the clips' paths). ``time_frame_ms`` and ``band_edges_hz`` are the mask search's grids at
    ``sample_rate``. Rows or clips of the test fold are refused, not skipped: the caller must not
    hand them in."""
    import torch

    for name, table in (("clips", clips), ("masks", masks)):
        leaked = table[table["fold"] == test_fold]
        if len(leaked):
            raise ValueError(f"{name}: {len(leaked)} rows of test fold {test_fold} (e.g. clip "
                             f"{leaked['clip_id'].iloc[0]}) handed to the predictor's training")
    unknown = sorted(set(masks["clip_id"]) - set(clips["clip_id"]))
    if unknown:
        raise ValueError(f"masks: {len(unknown)} clips (e.g. {unknown[0]}) are not among the training clips")
    n_bands = len(band_edges_hz) - 1
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    examples = training_examples(clips, masks, waves, sample_rate=sample_rate, time_frame_ms=time_frame_ms,
                                 band_edges_hz=band_edges_hz)
    if not examples:
        raise ValueError(f"no training clip of test fold {test_fold} has a region that keeps it correct")
    stacked = torch.cat([e["mel"] for e in examples], dim=1)
    mean, std = stacked.mean(dim=1), stacked.std(dim=1).clamp_min(1e-3)
    net = _network(settings.channels, n_bands)
    optimiser = torch.optim.AdamW(net.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    per_unit = _frames_per_unit(time_frame_ms)
    # Equal-length clips batch together (ESC-50: all 5 s); others go in batches of their own length.
    groups: dict[int, list[dict]] = {}
    for example in examples:
        groups.setdefault(example["mel"].shape[1], []).append(example)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    net.train()
    for _ in range(settings.epochs):
        batches = [group[i: i + settings.batch_size] for group in groups.values()
                   for i in range(0, len(group), settings.batch_size)]
        for index in rng.permutation(len(batches)):
            batch = [batches[index][i] for i in rng.permutation(len(batches[index]))]
            mel = (torch.stack([e["mel"] for e in batch]) - mean[:, None]) / std[:, None]
            time_logits, band_logits = net(mel, per_unit, batch[0]["n_time"])
            loss = torch.zeros(())
            for logits, key in ((time_logits, "time"), (band_logits, "band")):
                has = [i for i, e in enumerate(batch) if e[key] is not None]
                if has:
                    target = torch.as_tensor(np.stack([batch[i][key] for i in has]), dtype=torch.float32)
                    loss = loss + loss_fn(logits[has], target).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return MaskPredictor(net, mean=mean, std=std, sample_rate=sample_rate, time_frame_ms=time_frame_ms,
                         band_edges_hz=band_edges_hz, settings=settings)


def frame_auc(scores: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> float:
    """ROC AUC of per-unit scores against per-unit oracle masks, pooled over clips (NaN if one class is absent)."""
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([np.asarray(t, dtype=bool) for t in truth]) if truth else np.zeros(0, bool)
    if y.size == 0 or y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.concatenate([np.asarray(s, dtype=np.float64) for s in scores])))


# --- quality on a held-out fold -------------------------------------------------------------------
RANKINGS = ("predicted", "energy", "random")
QUALITY_PERCENTAGES = (10, 20, 30, 40, 50)
QUALITY_COLUMNS = ["fold", "ranking", "axis", "frame_auc", "n_oracle_clips", "accuracy_unmasked",
                   *(f"accuracy_keep_{p}" for p in QUALITY_PERCENTAGES), "n_clips"]


def ranking_quality(clips: pd.DataFrame, masks: pd.DataFrame, predictor: MaskPredictor, *, grids: Mapping[str, Any],
                    embed, classifier, floor_gain: float, seed: int = 0,
                    percentages: Sequence[float] = QUALITY_PERCENTAGES) -> pd.DataFrame:
    """How well ``predictor`` ranks the units of a held-out fold's clips (manifest: clip_id, fold,
    target, path at the predictor's rate), against the energy ranking and a seeded random one.

    Per (ranking, axis): ``frame_auc``, the ROC AUC of the unit scores against the oracle mask (the
    smallest region of the fold's mask table that keeps a clip correct; clips without one are left
    out), pooled over clips; and ``accuracy_keep_<p>``, the share of clips the search's model and
    classifier still get right when only the top ``p`` % of units by that ranking are kept (the rest
    attenuated to ``floor_gain``, as in the search).
    """
    from acom.io import read_audio
    from acom.roi.grids import select_units
    from acom.roi.search import class_scores

    by_clip = dict(tuple(masks.groupby("clip_id", sort=False)))
    scores: dict[tuple[str, str], list] = {(r, a): [] for r in RANKINGS for a in grids}
    truths: dict[tuple[str, str], list] = {(r, a): [] for r in RANKINGS for a in grids}
    correct = {(r, a): np.zeros((len(clips), len(percentages)), dtype=bool) for r in RANKINGS for a in grids}
    unmasked = np.zeros(len(clips), dtype=bool)
    folds = set()
    for index, rec in enumerate(clips.sort_values("clip_id").itertuples(index=False)):
        folds.add(int(rec.fold))
        samples, rate = read_audio(rec.path)
        target = int(rec.target)
        unmasked[index] = class_scores(classifier, embed(samples[None, :]), target)[1][0] == target
        time_pred, band_pred = predictor.scores(samples, rate)
        rng = np.random.default_rng([seed, index])
        for axis, grid in grids.items():
            n_units = grid.n_units(len(samples), rate)
            ranked = {"predicted": time_pred if axis == "time" else band_pred,
                      "energy": grid.energy(samples, rate), "random": rng.random(n_units)}
            rows = by_clip.get(rec.clip_id)
            oracle = None if rows is None else oracle_units(rows, axis, n_units, predictor.band_edges_hz)
            for ranking, unit_score in ranked.items():
                if len(unit_score) != n_units:
                    raise ValueError(f"{rec.path}: the predictor gives {len(unit_score)} {axis} units, the "
                                     f"search's grid {n_units}: it was trained on other grids")
                if oracle is not None:
                    scores[ranking, axis].append(unit_score)
                    truths[ranking, axis].append(oracle)
                keep = np.stack([select_units(unit_score, p, "top") for p in percentages])
                predicted = class_scores(classifier, embed(grid.apply(samples, rate, keep, floor_gain)), target)[1]
                correct[ranking, axis][index] = predicted == target
    if len(folds) != 1:
        raise ValueError(f"ranking_quality scores one held-out fold at a time, got folds {sorted(folds)}")
    rows = []
    for (ranking, axis), outcome in correct.items():
        rows.append({"fold": next(iter(folds)), "ranking": ranking, "axis": axis,
                     "frame_auc": frame_auc(scores[ranking, axis], truths[ranking, axis]),
                     "n_oracle_clips": len(truths[ranking, axis]), "accuracy_unmasked": float(unmasked.mean()),
                     **{f"accuracy_keep_{p:g}": float(outcome[:, i].mean()) for i, p in enumerate(percentages)},
                     "n_clips": len(clips)})
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def summarize_quality(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Per (model, ranking, axis): the per-fold quality columns averaged over folds (clip-weighted
    accuracies; AUC the mean of the folds' AUCs), with the predictor's cost columns where present."""
    value_columns = [c for c in per_fold.columns if c.startswith("accuracy_") or c == "frame_auc"]
    extra = [c for c in ("n_parameters", "ms_per_clip", "train_s") if c in per_fold.columns]
    rows = []
    for (model, ranking, axis), group in per_fold.groupby(["model", "ranking", "axis"], sort=True):
        weights = group["n_clips"].to_numpy(np.float64)
        row = {"model": model, "ranking": ranking, "axis": axis, "n_folds": len(group),
               "n_clips": int(weights.sum()), "n_oracle_clips": int(group["n_oracle_clips"].sum())}
        for column in value_columns:
            values = group[column].to_numpy(np.float64)
            row[column] = float(np.nanmean(values)) if column == "frame_auc" else float(np.average(values, weights=weights))
        for column in extra:
            row[column] = float(group[column].mean())
        rows.append(row)
    return pd.DataFrame(rows)
