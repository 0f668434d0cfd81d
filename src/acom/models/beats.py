"""BEATs (Chen et al., 2022, https://arxiv.org/abs/2212.09058) from the official checkpoint files.

The official files (``BEATs_iter3_plus_AS2M.pt``, ``BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt``,
...; https://github.com/microsoft/unilm/tree/master/beats) are ``torch.save``d dicts
``{'cfg': {...}, 'model': state_dict}``; the AudioSet fine-tuned ones add a 527-class ``predictor``
and ``'label_dict'`` (output index -> AudioSet MID). This module is a compact re-implementation of
the official inference path whose modules carry the official names (``patch_embedding``,
``layer_norm``, ``post_extract_proj``, ``encoder.pos_conv.0.weight_g``/``weight_v``,
``encoder.layers.N.self_attn.{q,k,v,out}_proj``, ``relative_attention_bias``, ``grep_linear``,
``grep_a``, ``self_attn_layer_norm``, ``fc1``, ``fc2``, ``final_layer_norm``, ``encoder.layer_norm``,
``predictor``), so an official ``state_dict`` loads with ``strict=True``: a missing, extra or
mis-shaped tensor is an error, never a silent random initialisation.

Why not speechbrain's ``speechbrain.lobes.models.beats.BEATs`` (checked in speechbrain 1.0.3)? It
mirrors the official code and loads strictly, and it exposes the predictor, but: its forward without
``wav_lens`` raises ``UnboundLocalError`` (``padding_mask`` is never set); it ``torch.load``s the file
without ``map_location`` (tensors saved on GPU need a GPU) and without ``weights_only``; it builds the
positional convolution with the deprecated ``torch.nn.utils.weight_norm``; for ``layer_norm_first``
configurations it skips the encoder's final layer norm that the official code applies; and importing
it imports the speechbrain package (hyperpyyaml, sentencepiece, joblib, ...) for one helper. This file
is about 300 lines of inference code with no dependency beyond torch and torchaudio. Checked against
speechbrain 1.0.3's module on small random checkpoints in the official layout (DeepNorm + gated
relative bias as in the published files, with and without head): last-layer tokens within 2e-6,
probabilities within 2e-7.

Differences from the official code, none changing the result beyond float rounding: attention uses
``F.scaled_dot_product_attention`` with the (gated) relative position bias as an additive mask
(the official code's ``alpha = 32`` rescaling only guards fp16 overflow in its own matmul);
dropout, layer drop, gradient scaling and padding masks (training and ragged-batch features) are
left out, as every clip of a batch has the same length here; the clip-level logits are
``predictor(mean over tokens)`` instead of the mean over tokens of ``predictor`` (the same for a
linear layer).

Input: 16 kHz mono; Kaldi fbank as published (waveform x 2^15, 128 mel bins, 25 ms / 10 ms,
``(fbank - 15.41663) / (2 * 6.55582)``), 16 x 16 patches (8 frequency x T/16 time patches).
Fixed length: every clip is zero-padded at its end or cropped (its first samples kept) to
``clip_seconds`` (default 10 s, the AudioSet clip length; 5 s is a whole ESC-50 clip); ``None``
keeps each batch's own length (BEATs has no fixed-size position table). Embedding: the last
layer's output averaged over all tokens (time x frequency patches), ``encoder_embed_dim`` (768)
dimensions. Predictions (fine-tuned checkpoints only): sigmoid of the predictor's logits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as ta_kaldi
from torch import nn

from acom.audioset import labels_file, read_label_rows
from acom.checkpoints import resolve_device, unreadable_checkpoint
from acom.download import sha256_of, verify_sha256
from acom.models import BEATS_SOURCE_URL, BEATS_WEIGHTS_HELP
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

SOURCE_URL = BEATS_SOURCE_URL
SAMPLE_RATE = 16000
NUM_MEL_BINS = 128
FBANK_MEAN = 15.41663
FBANK_STD = 6.55582
FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
#: Shortest input giving one 16-frame patch row: 400 + 15 * 160 samples.
MIN_SAMPLES = 2800
DEFAULT_CLIP_SECONDS = 10.0
SUPPORTED_ACTIVATIONS = ("relu", "gelu", "gelu_accurate", "gelu_fast", "tanh", "linear")


@dataclass(frozen=True)
class BEATsConfig:
    """The architecture fields of an official checkpoint's ``cfg``; defaults are the official
    ``BEATsConfig`` defaults (``input_patch_size`` 16 as in every published file). Training-only
    keys (dropouts, layer drop, gradient decay) are accepted and ignored at inference."""

    input_patch_size: int = 16
    embed_dim: int = 512
    conv_bias: bool = False
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False
    deep_norm: bool = False
    conv_pos: int = 128
    conv_pos_groups: int = 16
    relative_position_embedding: bool = False
    num_buckets: int = 320
    max_distance: int = 1280
    gru_rel_pos: bool = False
    finetuned_model: bool = False
    predictor_class: int = 527

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> BEATsConfig:
        """The config from a checkpoint's ``cfg`` dict (unknown keys ignored, as the official
        ``BEATsConfig.update`` stores but never reads them); ``ValueError`` on an unusable one."""
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in cfg.items() if k in known})
        config.validate()
        return config

    def validate(self) -> None:
        if self.activation_fn not in SUPPORTED_ACTIVATIONS:
            raise ValueError(f"BEATs cfg: activation_fn {self.activation_fn!r} is not supported "
                             f"({list(SUPPORTED_ACTIVATIONS)})")
        if self.deep_norm and self.layer_norm_first:
            raise ValueError("BEATs cfg: deep_norm and layer_norm_first cannot both be set")
        if self.input_patch_size <= 0 or self.encoder_embed_dim % self.encoder_attention_heads:
            raise ValueError("BEATs cfg: input_patch_size must be positive and encoder_embed_dim divisible by "
                             "encoder_attention_heads")
        if self.encoder_embed_dim % self.conv_pos_groups:
            raise ValueError("BEATs cfg: encoder_embed_dim must be divisible by conv_pos_groups")


#: Architecture of the published iter3 / iter3+ checkpoints (their ``cfg`` always takes precedence
#: when a file is loaded); used for random-init runs at full size, e.g. speed benchmarks.
PUBLISHED_CFG: dict[str, Any] = {
    "input_patch_size": 16, "embed_dim": 512, "conv_bias": False, "encoder_layers": 12,
    "encoder_embed_dim": 768, "encoder_ffn_embed_dim": 3072, "encoder_attention_heads": 12,
    "activation_fn": "gelu", "layer_norm_first": False, "deep_norm": True, "conv_pos": 128,
    "conv_pos_groups": 16, "relative_position_embedding": True, "num_buckets": 320, "max_distance": 800,
    "gru_rel_pos": True, "finetuned_model": False, "predictor_class": 527,
}


# ----------------------------------------------------------------------------------------------
# Network (official module names)
# ----------------------------------------------------------------------------------------------


def _activation(name: str):
    """The official ``get_activation_fn`` choices used by the feed-forward block."""
    if name == "relu":
        return F.relu
    if name == "gelu":
        return lambda x: F.gelu(x.float()).type_as(x)
    if name in ("gelu_accurate", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "tanh":
        return torch.tanh
    return lambda x: x


class WeightNormConv1d(nn.Module):
    """Conv1d with ``weight = weight_g * weight_v / ||weight_v||`` (norm over every dim but the
    kernel dim 2): the parameters ``torch.nn.utils.weight_norm(conv, dim=2)`` saved in the official
    files, without that deprecated API."""

    def __init__(self, channels: int, kernel_size: int, groups: int) -> None:
        super().__init__()
        self.padding = kernel_size // 2
        self.groups = groups
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel_size))
        self.weight_v = nn.Parameter(torch.empty(channels, channels // groups, kernel_size))
        self.bias = nn.Parameter(torch.zeros(channels))
        nn.init.normal_(self.weight_v, mean=0.0, std=math.sqrt(4.0 / (kernel_size * channels)))
        with torch.no_grad():
            self.weight_g.copy_(torch.linalg.vector_norm(self.weight_v, dim=(0, 1), keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(self.weight_v, dim=(0, 1), keepdim=True)
        weight = self.weight_v * (self.weight_g / norm)
        return F.conv1d(x, weight.to(x.dtype), self.bias.to(x.dtype), padding=self.padding, groups=self.groups)


class SamePad(nn.Module):
    """Drop the extra last frame an even kernel with ``padding = k // 2`` produces."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.remove = 1 if kernel_size % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.remove] if self.remove else x


def relative_position_buckets(length: int, num_buckets: int, max_distance: int) -> torch.Tensor:
    """(length, length) bucket of key position minus query position: bidirectional T5-style
    buckets, exact below ``num_buckets // 4``, logarithmic up to ``max_distance`` (official code)."""
    positions = torch.arange(length, dtype=torch.long)
    relative = positions[None, :] - positions[:, None]
    half = num_buckets // 2
    buckets = (relative > 0).to(torch.long) * half
    relative = relative.abs()
    max_exact = half // 2
    is_small = relative < max_exact
    large = max_exact + (
        torch.log(relative.float() / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)
    ).to(torch.long)
    large = torch.minimum(large, torch.full_like(large, half - 1))
    return buckets + torch.where(is_small, relative, large)


class MultiheadAttention(nn.Module):
    """Self-attention with the official parameter names, optional relative position bias
    (``relative_attention_bias``, shared by all layers) and its GRU-like gate (``grep_linear``,
    ``grep_a``)."""

    def __init__(self, embed_dim: int, num_heads: int, *, has_relative_attention_bias: bool, num_buckets: int,
                 gru_rel_pos: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(num_buckets, num_heads)
        self.gru_rel_pos = gru_rel_pos
        if gru_rel_pos:
            self.grep_linear = nn.Linear(self.head_dim, 8)
            self.grep_a = nn.Parameter(torch.ones(1, num_heads, 1, 1))

    def forward(self, x: torch.Tensor, position_bias: torch.Tensor | None) -> torch.Tensor:
        """x (B, L, C); position_bias (1, H, L, L) or None."""
        batch, length, channels = x.shape
        q = self.q_proj(x).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        bias = None
        if position_bias is not None:
            bias = position_bias
            if self.gru_rel_pos:
                gates = torch.sigmoid(self.grep_linear(q).view(batch, self.num_heads, length, 2, 4).sum(-1))
                gate_a, gate_b = gates.chunk(2, dim=-1)
                bias = (gate_a * (gate_b * self.grep_a - 1.0) + 2.0) * position_bias
            bias = bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, channels))


class TransformerSentenceEncoderLayer(nn.Module):
    """Post-LN (optionally DeepNorm-scaled residuals) or pre-LN transformer layer."""

    def __init__(self, cfg: BEATsConfig) -> None:
        super().__init__()
        dim = cfg.encoder_embed_dim
        self.self_attn = MultiheadAttention(
            dim, cfg.encoder_attention_heads, has_relative_attention_bias=cfg.relative_position_embedding,
            num_buckets=cfg.num_buckets, gru_rel_pos=cfg.gru_rel_pos,
        )
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, cfg.encoder_ffn_embed_dim)
        self.fc2 = nn.Linear(cfg.encoder_ffn_embed_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.activation = _activation(cfg.activation_fn)
        self.layer_norm_first = cfg.layer_norm_first
        self.deep_norm_alpha = math.pow(2 * cfg.encoder_layers, 1 / 4) if cfg.deep_norm else 1.0

    def forward(self, x: torch.Tensor, position_bias: torch.Tensor | None) -> torch.Tensor:
        if self.layer_norm_first:
            x = x + self.self_attn(self.self_attn_layer_norm(x), position_bias)
            return x + self.fc2(self.activation(self.fc1(self.final_layer_norm(x))))
        x = self.self_attn_layer_norm(x * self.deep_norm_alpha + self.self_attn(x, position_bias))
        return self.final_layer_norm(x * self.deep_norm_alpha + self.fc2(self.activation(self.fc1(x))))


class TransformerEncoder(nn.Module):
    """Convolutional position embedding, layer norm, transformer layers (official layout)."""

    def __init__(self, cfg: BEATsConfig) -> None:
        super().__init__()
        dim = cfg.encoder_embed_dim
        self.pos_conv = nn.Sequential(
            WeightNormConv1d(dim, cfg.conv_pos, cfg.conv_pos_groups), SamePad(cfg.conv_pos), nn.GELU()
        )
        self.layers = nn.ModuleList([TransformerSentenceEncoderLayer(cfg) for _ in range(cfg.encoder_layers)])
        if cfg.relative_position_embedding:
            # One bias table for all layers, as in the official code (saved under every layer's name).
            for layer in self.layers[1:]:
                layer.self_attn.relative_attention_bias = self.layers[0].self_attn.relative_attention_bias
        self.layer_norm = nn.LayerNorm(dim)
        self.layer_norm_first = cfg.layer_norm_first
        self.relative_position_embedding = cfg.relative_position_embedding
        self.num_buckets = cfg.num_buckets
        self.max_distance = cfg.max_distance

    def position_bias(self, length: int, device: torch.device) -> torch.Tensor | None:
        """(1, H, L, L) relative position bias, computed once and shared by every layer."""
        if not self.relative_position_embedding:
            return None
        buckets = relative_position_buckets(length, self.num_buckets, self.max_distance).to(device)
        return self.layers[0].self_attn.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        bias = self.position_bias(x.shape[1], x.device)
        for layer in self.layers:
            x = layer(x, bias)
        return self.layer_norm(x) if self.layer_norm_first else x


class BEATs(nn.Module):
    """Normalised fbank (B, frames, 128) -> (last-layer tokens (B, N, D), logits (B, C) or None)."""

    def __init__(self, cfg: BEATsConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.post_extract_proj = (
            nn.Linear(cfg.embed_dim, cfg.encoder_embed_dim) if cfg.embed_dim != cfg.encoder_embed_dim else None
        )
        self.patch_embedding = nn.Conv2d(
            1, cfg.embed_dim, kernel_size=cfg.input_patch_size, stride=cfg.input_patch_size, bias=cfg.conv_bias
        )
        self.encoder = TransformerEncoder(cfg)
        self.layer_norm = nn.LayerNorm(cfg.embed_dim)
        self.predictor = nn.Linear(cfg.encoder_embed_dim, cfg.predictor_class) if cfg.finetuned_model else None
        self._init_like_official(cfg)

    def _init_like_official(self, cfg: BEATsConfig) -> None:
        """fairseq's ``init_bert_params`` (and DeepNorm's scaled Xavier): only matters for
        ``init: random`` test models, which should still produce finite, non-degenerate outputs."""
        for module in self.encoder.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
        if cfg.deep_norm:
            beta = math.pow(8 * cfg.encoder_layers, -1 / 4)
            for layer in self.encoder.layers:
                attn = layer.self_attn
                for linear, gain in ((attn.k_proj, 1.0), (attn.v_proj, beta), (attn.q_proj, 1.0),
                                     (attn.out_proj, beta), (layer.fc1, beta), (layer.fc2, beta)):
                    nn.init.xavier_normal_(linear.weight, gain=gain)

    def forward(self, fbank: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if fbank.dim() != 3 or fbank.shape[1] < self.cfg.input_patch_size:
            raise ValueError(f"expected fbank of shape (batch, >= {self.cfg.input_patch_size} frames, "
                             f"{NUM_MEL_BINS}), got {tuple(fbank.shape)}")
        x = self.patch_embedding(fbank.unsqueeze(1))
        x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
        x = self.layer_norm(x)
        if self.post_extract_proj is not None:
            x = self.post_extract_proj(x)
        x = self.encoder(x)
        logits = self.predictor(x.mean(dim=1)) if self.predictor is not None else None
        return x, logits

    def token_grid(self, tokens: torch.Tensor) -> torch.Tensor:
        """Last-layer tokens (B, N, D) -> (B, time patches, frequency patches, D). The patch
        embedding's output (B, D, time, frequency) is flattened time-major, so token
        ``t * frequency_patches + f`` is time patch ``t``, frequency patch ``f``."""
        freq = NUM_MEL_BINS // self.cfg.input_patch_size
        return tokens.reshape(tokens.shape[0], tokens.shape[1] // freq, freq, tokens.shape[2])


def fbank_features(waveforms: torch.Tensor) -> torch.Tensor:
    """(B, samples) float in [-1, 1] at 16 kHz -> (B, frames, 128) normalised Kaldi fbank exactly as
    the official ``BEATs.preprocess`` (per clip: torchaudio's Kaldi fbank works on one signal)."""
    banks = [
        ta_kaldi.fbank(wave.unsqueeze(0) * 2**15, num_mel_bins=NUM_MEL_BINS, sample_frequency=SAMPLE_RATE,
                       frame_length=FRAME_LENGTH_MS, frame_shift=FRAME_SHIFT_MS)
        for wave in waveforms
    ]
    return (torch.stack(banks) - FBANK_MEAN) / (2 * FBANK_STD)


def fix_length(waveforms: np.ndarray, n_samples: int | None) -> np.ndarray:
    """Zero-pad each clip at its end, or crop it to its first ``n_samples``; None leaves it as is."""
    if n_samples is None or waveforms.shape[1] == n_samples:
        return waveforms
    if waveforms.shape[1] > n_samples:
        return waveforms[:, :n_samples]
    return np.pad(waveforms, ((0, 0), (0, n_samples - waveforms.shape[1])))


# ----------------------------------------------------------------------------------------------
# Checkpoints and labels
# ----------------------------------------------------------------------------------------------


def _where_to_get(config_key: str) -> str:
    return BEATS_WEIGHTS_HELP.format(entry=config_key)


#: Keys under which torch's newer ``parametrizations.weight_norm`` saves the positional convolution.
_PARAMETRIZED_KEYS = {
    "encoder.pos_conv.0.parametrizations.weight.original0": "encoder.pos_conv.0.weight_g",
    "encoder.pos_conv.0.parametrizations.weight.original1": "encoder.pos_conv.0.weight_v",
}


def read_checkpoint(
    path: str | os.PathLike | None, *, config_key: str, sha256: str | None = None
) -> tuple[BEATsConfig, dict[str, torch.Tensor], dict[int, str] | None]:
    """(config, state_dict, label_dict or None) from an official ``{'cfg', 'model'}`` file.

    Missing path or file, wrong checksum, unreadable pickle or another layout: ``FileNotFoundError``
    / ``ValueError`` naming ``<config_key>.weights`` and where the official files are. Loaded with
    ``weights_only=True`` (plain dicts and tensors, no pickled code) onto the CPU.
    """
    key = f"{config_key}.weights"
    if path is None:
        raise ValueError(f"{key} is not set and BEATs has no checksum-pinned download: {_where_to_get(config_key)}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"BEATs checkpoint not found: {path} ({key}); {_where_to_get(config_key)}")
    if sha256 is not None:
        verify_sha256(path, sha256)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise unreadable_checkpoint(path, err, key, fix=_where_to_get(config_key)) from err
    if not (isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("cfg"), Mapping)
            and isinstance(checkpoint.get("model"), Mapping) and checkpoint["model"]
            and all(isinstance(v, torch.Tensor) for v in checkpoint["model"].values())):
        raise ValueError(f"{path} ({key}): not an official BEATs checkpoint (a dict with 'cfg' and a 'model' "
                         f"state_dict); {_where_to_get(config_key)}")
    try:
        cfg = BEATsConfig.from_mapping(checkpoint["cfg"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path} ({key}): {err}") from err
    state = {_PARAMETRIZED_KEYS.get(k, k): v for k, v in checkpoint["model"].items()}
    labels = checkpoint.get("label_dict")
    label_dict = {int(i): str(mid) for i, mid in labels.items()} if isinstance(labels, Mapping) else None
    return cfg, state, label_dict


def build_network(
    cfg: BEATsConfig, state_dict: Mapping[str, torch.Tensor] | None, *, seed: int = 0, source: str = ""
) -> BEATs:
    """The network with ``state_dict`` loaded strictly, or seeded random weights when it is None
    (the global RNG state is restored afterwards); in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = BEATs(cfg)
    if state_dict is not None:
        try:
            network.load_state_dict(state_dict, strict=True)
        except RuntimeError as err:
            raise ValueError(f"{source}: the state_dict does not match its cfg (strict loading): {err}") from err
    return network.eval()


def head_labels(
    num_classes: int, label_dict: Mapping[int, str] | None, audioset: Sequence[tuple[str, str]] | None
) -> list[str] | None:
    """Display names of the predictor's outputs: through the checkpoint's index -> MID
    ``label_dict`` when it has one (a MID missing from the CSV keeps the MID), else the AudioSet
    CSV order for a 527-class head; None when neither applies."""
    names = dict(audioset) if audioset is not None else {}
    if label_dict is not None:
        if sorted(label_dict) != list(range(num_classes)):
            raise ValueError(f"label_dict covers indices {min(label_dict)}..{max(label_dict)}, "
                             f"not the head's 0..{num_classes - 1}")
        return [names.get(label_dict[i], label_dict[i]) for i in range(num_classes)]
    if audioset is not None and len(audioset) == num_classes:
        return [name for _, name in audioset]
    return None


# ----------------------------------------------------------------------------------------------
# AudioModel wrapper
# ----------------------------------------------------------------------------------------------


class BEATsModel:
    """Frozen BEATs as an :class:`acom.models.base.AudioModel`: (B, samples) float32 at 16 kHz ->
    ``encoder_embed_dim`` embeddings (mean of the last layer over tokens) and, with a head, sigmoid
    probabilities. Clips are padded/cropped to ``clip_seconds`` (see the module docstring).

    Frame embeddings: the last layer's tokens averaged over the frequency patches of each time
    patch, ``encoder_embed_dim`` dimensions, one frame per ``input_patch_size`` (16) fbank frames
    (``hop_seconds`` 0.16 s). They use the whole clip as given, never ``clip_seconds``; time patch
    ``t`` covers fbank frames ``[16 t, 16 t + 16)``, centred at ``t * hop + 87.5 ms``, and the
    network produces ``floor(fbank frames / 16)`` of them (a trailing partial patch is dropped: a
    10 s clip gives 62 frames, covering 9.935 s). Self-attention mixes the whole clip into every frame.
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        network: BEATs,
        *,
        labels: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        clip_seconds: float | None = DEFAULT_CLIP_SECONDS,
        autocast: str | None = "none",
        metadata: Mapping[str, str | int | float] | None = None,
    ) -> None:

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n_samples = None if clip_seconds is None else round(float(clip_seconds) * SAMPLE_RATE)
        if self.n_samples is not None and self.n_samples < MIN_SAMPLES:
            raise ValueError(f"clip_seconds must be at least {MIN_SAMPLES / SAMPLE_RATE} s, got {clip_seconds}")
        num_classes = network.cfg.predictor_class if network.predictor is not None else None
        if labels is not None and (num_classes is None or len(labels) != num_classes):
            raise ValueError(f"got {len(labels)} labels for a network with {num_classes or 'no'} output classes")
        self.device = resolve_device(device)
        self.network = network.to(self.device).eval()
        self.batch_size = int(batch_size)
        self.embedding_dim = network.cfg.encoder_embed_dim
        self.frame_dim = self.embedding_dim
        self.hop_seconds = network.cfg.input_patch_size * FRAME_SHIFT_MS / 1000
        self.num_classes = num_classes
        self.labels = list(labels) if labels is not None else None
        self.autocast = autocast_dtype(autocast, self.device)
        self.metadata: dict[str, str | int | float] = {
            "model": "beats",
            "clip_seconds": "variable" if clip_seconds is None else float(clip_seconds),
            "padding": "zero-pad at the end / crop to the first clip_seconds",
            "embedding": "mean over tokens of the last layer",
            "autocast": autocast_name(self.autocast),
            **(metadata or {}),
        }

    def tokens_batch(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(last-layer tokens, logits or None) for one batch on the device (under inference_mode); the
        fbank is computed in float32, the network under the configured autocast."""
        fbank = fbank_features(waveforms.float())
        with autocast_context(self.autocast):
            return self.network(fbank)

    def forward_batch(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(embeddings, logits or None) for one fixed-length batch on the device (under inference_mode)."""
        tokens, logits = self.tokens_batch(waveforms)
        return tokens.mean(dim=1).float(), None if logits is None else logits.float()

    def frame_batch(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, T', D) frame embeddings (tokens averaged over frequency) for one batch on the device
        (under inference_mode)."""
        tokens, _ = self.tokens_batch(waveforms)
        return self.network.token_grid(tokens.float()).mean(dim=2)

    def _batched(
        self, waveforms: np.ndarray, n_samples: int | None
    ) -> tuple[np.ndarray, Callable[[int, int], torch.Tensor]]:
        """The (B, samples) float32 batch fixed to ``n_samples`` (None: as given) and a function giving
        its clips [start, stop) on the device."""
        batch = np.asarray(waveforms, dtype=np.float32)
        if batch.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), got {batch.shape}")
        batch = fix_length(batch, n_samples)
        if batch.shape[0] and batch.shape[1] < MIN_SAMPLES:
            raise ValueError(f"BEATs needs at least {MIN_SAMPLES} samples ({MIN_SAMPLES / SAMPLE_RATE} s) per clip, "
                             f"got {batch.shape[1]}")
        return batch, lambda start, stop: torch.from_numpy(np.ascontiguousarray(batch[start:stop])).to(self.device)

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        batch, clips = self._batched(waveforms, self.n_samples)
        return batched_outputs(lambda start, stop: self.forward_batch(clips(start, stop)), batch.shape[0],
                               batch_size=self.batch_size, embedding_dim=self.embedding_dim,
                               num_classes=self.num_classes)

    def frame_embed(self, waveforms: np.ndarray) -> FrameOutput:
        batch, clips = self._batched(waveforms, None)
        return batched_frames(lambda start, stop: self.frame_batch(clips(start, stop)), batch.shape[0],
                              batch_size=self.batch_size, frame_dim=self.frame_dim, hop_seconds=self.hop_seconds,
                              n_frames=frames_covering(batch.shape[1], SAMPLE_RATE, self.hop_seconds))


def build(params: Mapping[str, Any], *, cache_dir: str | os.PathLike, config_key: str) -> BEATsModel:
    """The ``beats`` registry entry: an official checkpoint from ``weights`` (loaded once), or,
    only with ``init: random`` (a test option), seeded random weights of ``PUBLISHED_CFG`` updated
    by ``config_overrides``."""

    autocast_dtype(params.get("autocast"), "cpu", config_key=f"{config_key}.autocast")  # validate before loading
    init = params.get("init", "pretrained")
    overrides = dict(params.get("config_overrides") or {})
    seed = int(params.get("seed", 0))
    metadata: dict[str, str | int | float] = {"init": init}
    labels = None
    if init == "random":
        unknown = sorted(set(overrides) - {f.name for f in fields(BEATsConfig)})
        if unknown:
            raise ValueError(f"{config_key}.config_overrides: unknown BEATs cfg keys {unknown}")
        try:
            cfg = BEATsConfig.from_mapping({**PUBLISHED_CFG, **overrides})
        except ValueError as err:
            raise ValueError(f"{config_key}.config_overrides: {err}") from err
        network = build_network(cfg, None, seed=seed)
        metadata["seed"] = seed
    elif init == "pretrained":
        if overrides:
            raise ValueError(f"{config_key}.config_overrides applies only to init: random (a checkpoint's cfg is fixed)")
        weights = params.get("weights")
        cfg, state, label_dict = read_checkpoint(weights, config_key=config_key, sha256=params.get("sha256"))
        network = build_network(cfg, state, source=f"{weights} ({config_key}.weights)")
        path = Path(weights).expanduser()
        metadata.update(weights=path.name, weights_sha256=params.get("sha256") or sha256_of(path))
        if network.predictor is not None:
            labels = head_labels(cfg.predictor_class, label_dict,
                                 read_label_rows(labels_file(params.get("labels"), cache_dir=cache_dir)))
    else:
        raise ValueError(f"{config_key}.init: expected pretrained or random, got {init!r}")
    return BEATsModel(
        network, labels=labels, device=params.get("device", "auto"), batch_size=int(params.get("batch_size", 16)),
        clip_seconds=params.get("clip_seconds", DEFAULT_CLIP_SECONDS), autocast=params.get("autocast", "none"),
        metadata=metadata,
    )
