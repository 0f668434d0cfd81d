"""Audio Spectrogram Transformer (Gong et al., 2021) through Hugging Face ``transformers``.

Default checkpoint: ``MIT/ast-finetuned-audioset-10-10-0.4593`` (AudioSet, mAP 0.459), loaded with
``ASTForAudioClassification`` and its ``ASTFeatureExtractor``. The ``weights`` key takes a hub id
(fetched through transformers' own cache, so ``HF_HOME``, ``HF_HUB_OFFLINE`` and friends apply) or a
local directory in the ``save_pretrained`` layout (``config.json``, the weights and the feature
extractor's ``preprocessor_config.json``), read with ``local_files_only``. Loading is strict: a
tensor transformers would have to initialise randomly (missing, unexpected or mis-shaped) is an error.

Input: 16 kHz mono. The feature extractor computes a 128-bin Kaldi fbank (25 ms Hann windows, 10 ms
hop), zero-pads it at the end, or crops it to its first frames, to ``max_length`` frames (the fixed
length; padding happens on the fbank, before the (x + 4.27) / (2 x 4.57) normalisation), and
normalises it. ``max_length`` 1024 (10.24 s) is the published input; a shorter one (512 frames =
5.12 s covers a 5 s ESC-50 clip at about half the cost) keeps the checkpoint's weights and crops its
time position embeddings around their centre, as the AST authors do for shorter inputs (a longer one
interpolates them); ``metadata`` then records it. Embedding: the pooled output (mean of the CLS and
distillation tokens after the final layer norm), ``hidden_size`` (768) dimensions. Predictions:
sigmoid of the classifier's logits (AudioSet is multi-label), labels from ``config.id2label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from acom.checkpoints import resolve_device
from acom.models import AST_DEFAULT_HUB_ID, AST_WEIGHTS_HELP, is_local_source
from acom.models.base import (
    FrameOutput,
    ModelOutput,
    autocast_context,
    autocast_dtype,
    autocast_name,
    batched_frames,
    batched_outputs,
    frames_covering,
)

DEFAULT_HUB_ID = AST_DEFAULT_HUB_ID
SAMPLE_RATE = 16000
PUBLISHED_MAX_LENGTH = 1024
#: One 25 ms Kaldi frame: the shortest clip the feature extractor accepts.
MIN_SAMPLES = 400
#: The feature extractor's fbank frame shift (Kaldi's default 10 ms).
FRAME_SHIFT_SECONDS = 0.01
#: Tokens before the patch tokens in transformers' ``ASTEmbeddings``: CLS and distillation.
SPECIAL_TOKENS = 2


def _where_to_get(config_key: str, source: str) -> str:
    return AST_WEIGHTS_HELP.format(hub=DEFAULT_HUB_ID if is_local_source(source) else source, entry=config_key)


def load_pretrained(source: str, *, revision: str | None = None, config_key: str = "models.ast"):
    """(model, feature extractor) from a hub id or a ``save_pretrained`` directory, in eval mode.

    ``ASTForAudioClassification`` unless the checkpoint's config lists only ``ASTModel`` (no head).
    Every failure (no network and no cache, missing or corrupt files, tensors that would be left at
    random) is a ``ValueError`` naming ``<config_key>.weights`` and the source.
    """
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification, ASTModel

    key = f"{config_key}.weights"
    local = is_local_source(source)
    if local:
        path = Path(source).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"AST checkpoint directory not found (or not a directory): {path} ({key}); "
                                    f"{_where_to_get(config_key, source)}")
        source = str(path)
    options: dict[str, Any] = {"local_files_only": True} if local else {"revision": revision}
    what = f"local directory {source}" if local else f"hub id {source!r}"
    try:
        config = ASTConfig.from_pretrained(source, **options)
        heads = set(config.architectures or ["ASTForAudioClassification"])
        cls = ASTModel if heads == {"ASTModel"} else ASTForAudioClassification
        model, info = cls.from_pretrained(source, config=config, dtype=torch.float32, output_loading_info=True,
                                          **options)
        extractor = ASTFeatureExtractor.from_pretrained(source, **options)
    except Exception as err:
        damaged = "a file there is missing, truncated or corrupt (save the directory again); " if local else ""
        raise ValueError(f"could not load AST from {what} ({key}): {type(err).__name__}: {err}; {damaged}"
                         f"{_where_to_get(config_key, source)}") from err
    problems = {name: sorted(map(str, info.get(name) or ())) for name in ("missing_keys", "unexpected_keys",
                                                                         "mismatched_keys", "error_msgs")}
    if any(problems.values()):
        found = "; ".join(f"{name}: {values[:5]}" for name, values in problems.items() if values)
        raise ValueError(f"AST checkpoint from {what} ({key}) does not match its config ({found}): refusing to "
                         "leave tensors at random")
    return model.eval(), extractor


def random_model(overrides: Mapping[str, Any], *, max_length: int, seed: int):
    """(model, feature extractor) with seeded random weights: the test option ``init: random``.

    ``ASTConfig`` defaults are the published architecture (768 x 12 layers, 128 mel bins) with 527
    outputs; ``overrides`` may shrink it (``hidden_size``, ``num_hidden_layers``, ...). The global
    RNG state is restored afterwards.
    """
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    unknown = sorted(set(overrides) - set(ASTConfig().to_dict()) - {"num_labels"})
    if unknown:
        raise ValueError(f"unknown ASTConfig keys {unknown}")
    if "max_length" in overrides and int(overrides["max_length"]) != max_length:
        raise ValueError("its max_length must equal the entry's max_length (set max_length instead)")
    config = ASTConfig(**{"num_labels": 527, **overrides, "max_length": max_length})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ASTForAudioClassification(config)
    extractor = ASTFeatureExtractor(num_mel_bins=config.num_mel_bins, max_length=max_length,
                                    sampling_rate=SAMPLE_RATE)
    return model.eval(), extractor


def time_patches(config, max_length: int) -> tuple[int, int]:
    """(frequency, time) patch grid of ``config`` for inputs of ``max_length`` frames. The patch tokens
    (after the ``SPECIAL_TOKENS``) are in frequency-major order: token ``f * time + t`` (transformers'
    ``ASTPatchEmbeddings`` transposes the (time, mel) input to (mel, time) before its convolution
    and flattens the (frequency, time) output grid)."""
    freq = (config.num_mel_bins - config.patch_size) // config.frequency_stride + 1
    time = (max_length - config.patch_size) // config.time_stride + 1
    return freq, time


def adapt_max_length(model, max_length: int) -> str:
    """Resize the position embeddings of ``model`` (AST with or without head) to ``max_length``
    frames in place, as the AST authors' code does: the time axis is cropped around its centre when
    shorter, bilinearly interpolated when longer (the frequency axis, 128 bins, is unchanged).
    Returns what was done, for the metadata."""
    base = getattr(model, "audio_spectrogram_transformer", model)
    config = model.config
    if max_length == config.max_length:
        return "as trained"
    freq, old_t = time_patches(config, config.max_length)
    _, new_t = time_patches(config, max_length)
    if new_t < 1:
        raise ValueError(f"max_length {max_length} is shorter than one patch ({config.patch_size} frames)")
    pos = base.embeddings.position_embeddings.data
    tokens, grid = pos[:, :SPECIAL_TOKENS], pos[:, SPECIAL_TOKENS:].reshape(1, freq, old_t, -1)
    if new_t <= old_t:
        start = old_t // 2 - new_t // 2
        grid = grid[:, :, start : start + new_t]
        how = f"time position embeddings cropped {old_t}->{new_t} around the centre"
    else:
        grid = torch.nn.functional.interpolate(grid.permute(0, 3, 1, 2), size=(freq, new_t), mode="bilinear")
        grid = grid.permute(0, 2, 3, 1)
        how = f"time position embeddings interpolated {old_t}->{new_t}"
    new = torch.cat([tokens, grid.reshape(1, freq * new_t, -1)], dim=1).contiguous()
    base.embeddings.position_embeddings = torch.nn.Parameter(new, requires_grad=False)
    config.max_length = max_length
    return how


class ASTAudioModel:
    """Frozen AST as an :class:`acom.models.base.AudioModel`: (B, samples) float32 at 16 kHz ->
    pooled embeddings and, with a head, sigmoid probabilities. Clips are padded/cropped to
    ``max_length`` fbank frames by the feature extractor (see the module docstring).

    Frame embeddings: the final (layer-normed) hidden states of the patch tokens, averaged over
    the frequency patches of each time patch, ``hidden_size`` dimensions, one frame per
    ``time_stride`` fbank frames (``hop_seconds`` = ``time_stride`` x 10 ms = 0.1 s for the published
    config). Time patch ``t`` covers fbank frames ``[t * time_stride, t * time_stride + patch_size)``,
    so its centre is ``t * hop + 87.5 ms`` for the published config. Frames beyond the clip's duration
    (computed on the padding) are dropped; a clip longer than ``max_length`` frames is cropped
    by the extractor, so at most ``time_patches`` frames come back. Self-attention mixes the whole
    clip into every frame.
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        model,
        extractor,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        autocast: str | None = "none",
        metadata: Mapping[str, str | int | float] | None = None,
    ) -> None:

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(extractor.sampling_rate) != SAMPLE_RATE:
            raise ValueError(f"the feature extractor expects {extractor.sampling_rate} Hz, not {SAMPLE_RATE}")
        if extractor.max_length != model.config.max_length or extractor.num_mel_bins != model.config.num_mel_bins:
            raise ValueError(f"feature extractor ({extractor.max_length} frames x {extractor.num_mel_bins} bins) "
                             f"does not match the model ({model.config.max_length} x {model.config.num_mel_bins})")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.extractor = extractor
        self.batch_size = int(batch_size)
        self.has_head = hasattr(model, "classifier")
        self.embedding_dim = int(model.config.hidden_size)
        self.frame_dim = self.embedding_dim
        self.hop_seconds = int(model.config.time_stride) * FRAME_SHIFT_SECONDS
        self.num_classes = int(model.config.num_labels) if self.has_head else None
        id2label = model.config.id2label or {}
        self.labels = [str(id2label.get(i, f"class_{i}")) for i in range(self.num_classes)] if self.has_head else None
        self.autocast = autocast_dtype(autocast, self.device)
        self.metadata: dict[str, str | int | float] = {
            "model": "ast",
            "max_length": int(model.config.max_length),
            "clip_seconds": round(0.01 * (model.config.max_length - 1) + 0.025, 3),
            "padding": "fbank zero-padded at the end / cropped to max_length frames",
            "embedding": "pooled output (mean of CLS and distillation tokens)",
            "autocast": autocast_name(self.autocast),
            **(metadata or {}),
        }

    def features(self, waveforms: np.ndarray) -> torch.Tensor:
        """(B, max_length, num_mel_bins) normalised fbank from the feature extractor, on the device."""
        inputs = self.extractor(list(waveforms), sampling_rate=SAMPLE_RATE, return_tensors="pt")
        return inputs["input_values"].to(self.device)

    @property
    def base(self):
        """The ``ASTModel`` (without the classification head)."""
        return self.model.audio_spectrogram_transformer if self.has_head else self.model

    def forward_batch(self, input_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(pooled embeddings, logits or None) for one batch of features (under inference_mode)."""
        with autocast_context(self.autocast):
            pooled = self.base(input_values).pooler_output
            logits = self.model.classifier(pooled) if self.has_head else None
        return pooled.float(), None if logits is None else logits.float()

    def frame_batch(self, input_values: torch.Tensor) -> torch.Tensor:
        """(B, T', hidden_size) frame embeddings for one batch of features (under inference_mode): the
        last hidden state's patch tokens on their (frequency, time) grid (see :func:`time_patches`),
        averaged over frequency; all ``T'`` time patches of ``max_length``, padding included."""
        with autocast_context(self.autocast):
            hidden = self.base(input_values).last_hidden_state
        freq, time = time_patches(self.model.config, input_values.shape[1])
        grid = hidden[:, SPECIAL_TOKENS:].float().reshape(hidden.shape[0], freq, time, hidden.shape[2])
        return grid.mean(dim=1)

    def _checked(self, waveforms: np.ndarray) -> np.ndarray:
        batch = np.asarray(waveforms, dtype=np.float32)
        if batch.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), got {batch.shape}")
        if batch.shape[0] and batch.shape[1] < MIN_SAMPLES:
            raise ValueError(f"AST needs at least {MIN_SAMPLES} samples (one 25 ms frame) per clip, "
                             f"got {batch.shape[1]}")
        return batch

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        batch = self._checked(waveforms)
        return batched_outputs(lambda start, stop: self.forward_batch(self.features(batch[start:stop])), batch.shape[0],
                               batch_size=self.batch_size, embedding_dim=self.embedding_dim,
                               num_classes=self.num_classes)

    def frame_embed(self, waveforms: np.ndarray) -> FrameOutput:
        batch = self._checked(waveforms)
        return batched_frames(lambda start, stop: self.frame_batch(self.features(batch[start:stop])), batch.shape[0],
                              batch_size=self.batch_size, frame_dim=self.frame_dim, hop_seconds=self.hop_seconds,
                              n_frames=frames_covering(batch.shape[1], SAMPLE_RATE, self.hop_seconds))


def build(params: Mapping[str, Any], *, cache_dir=None, config_key: str) -> ASTAudioModel:
    """The ``ast`` registry entry: the checkpoint named by ``weights`` (default the AudioSet model),
    loaded once, at ``max_length`` frames; or, only with ``init: random`` (a test option), seeded
    random weights of ``ASTConfig`` updated by ``config_overrides``. ``cache_dir`` is unused: AST
    reads transformers' own cache (``HF_HOME``)."""

    autocast_dtype(params.get("autocast"), "cpu", config_key=f"{config_key}.autocast")  # validate before loading
    init = params.get("init", "pretrained")
    max_length = int(params.get("max_length", PUBLISHED_MAX_LENGTH))
    overrides = dict(params.get("config_overrides") or {})
    metadata: dict[str, str | int | float] = {"init": init}
    if init == "random":
        seed = int(params.get("seed", 0))
        try:
            model, extractor = random_model(overrides, max_length=max_length, seed=seed)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{config_key}.config_overrides: {err}") from err
        metadata["seed"] = seed
    elif init == "pretrained":
        if overrides:
            raise ValueError(f"{config_key}.config_overrides applies only to init: random (a checkpoint's config "
                             "is fixed)")
        source = str(params.get("weights") or DEFAULT_HUB_ID)
        model, extractor = load_pretrained(source, revision=params.get("revision"), config_key=config_key)
        trained = int(model.config.max_length)
        metadata.update(weights=source, trained_max_length=trained,
                        position_embeddings=adapt_max_length(model, max_length))
        if params.get("revision"):
            metadata["revision"] = str(params["revision"])
        extractor.max_length = max_length
    else:
        raise ValueError(f"{config_key}.init: expected pretrained or random, got {init!r}")
    return ASTAudioModel(
        model, extractor, device=params.get("device", "auto"), batch_size=int(params.get("batch_size", 8)),
        autocast=params.get("autocast", "none"), metadata=metadata,
    )
