"""EfficientAT ``mn04_as``: MobileNetV3 (width 0.4) AudioSet tagger, re-implemented in PyTorch.

A self-contained implementation of the network and its log-mel front end that loads the published
weights (``mn04_as_mAP_432.pt`` from the EfficientAT releases) with ``strict=True`` and reproduces
the original model's outputs. Input: mono waveforms at 32 kHz; outputs: 527 AudioSet logits
(sigmoid gives per-class probabilities) and a 384-d clip embedding (global average of the last
feature map).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio
from torch import nn

from acom.checkpoints import read_state_dict, resolve_device
from acom.download import download, verify_sha256

# The release's URL and checksum live in the registry, which the Snakefile reads without torch.
from acom.models import MN04_WEIGHTS, read_audioset_labels
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

WEIGHTS_CONFIG_KEY = "models.efficientat_mn04.weights"
SAMPLE_RATE = 32000
NUM_CLASSES = 527
EMBEDDING_DIM = 384
WIDTH_MULT = 0.4
BN_EPS = 0.001
BN_MOMENTUM = 0.01

# Front end (EfficientAT AugmentMelSTFT in eval mode).
N_MELS = 128
N_FFT = 1024
WIN_LENGTH = 800
HOP_LENGTH = 320
F_MIN = 0.0
F_MAX = 15000.0
PREEMPHASIS = 0.97
LOG_OFFSET = 1e-5
NORM_SHIFT = 4.5
NORM_SCALE = 5.0


@dataclass(frozen=True)
class BlockConfig:
    """One inverted-residual block of MobileNetV3-Large, in unscaled (width 1.0) channels."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    activation: str  # "RE" (ReLU) or "HS" (Hardswish)
    stride: int


# Standard MobileNetV3-Large rows (torchvision / EfficientAT), scaled by WIDTH_MULT at build time.
MOBILENETV3_LARGE: tuple[BlockConfig, ...] = (
    BlockConfig(16, 3, 16, 16, False, "RE", 1),
    BlockConfig(16, 3, 64, 24, False, "RE", 2),
    BlockConfig(24, 3, 72, 24, False, "RE", 1),
    BlockConfig(24, 5, 72, 40, True, "RE", 2),
    BlockConfig(40, 5, 120, 40, True, "RE", 1),
    BlockConfig(40, 5, 120, 40, True, "RE", 1),
    BlockConfig(40, 3, 240, 80, False, "HS", 2),
    BlockConfig(80, 3, 200, 80, False, "HS", 1),
    BlockConfig(80, 3, 184, 80, False, "HS", 1),
    BlockConfig(80, 3, 184, 80, False, "HS", 1),
    BlockConfig(80, 3, 480, 112, True, "HS", 1),
    BlockConfig(112, 3, 672, 112, True, "HS", 1),
    BlockConfig(112, 5, 672, 160, True, "HS", 2),
    BlockConfig(160, 5, 960, 160, True, "HS", 1),
    BlockConfig(160, 5, 960, 160, True, "HS", 1),
)
STEM_CHANNELS = 16
LAST_CONV_FACTOR = 6
HEAD_HIDDEN = 512
HEAD_DROPOUT = 0.2
SE_REDUCTION = 4


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (half up), at least ``min_value``
    (default ``divisor``), adding one ``divisor`` when rounding lost more than 10 %."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _scaled(channels: int, width_mult: float) -> int:
    return make_divisible(channels * width_mult, 8)


# ----------------------------------------------------------------------------------------------
# Front end
# ----------------------------------------------------------------------------------------------


def kaldi_mel_matrix(
    n_mels: int, n_fft: int, sample_rate: int, f_min: float, f_max: float
) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) Kaldi triangular mel banks with a zero column for the Nyquist bin."""
    result = torchaudio.compliance.kaldi.get_mel_banks(
        n_mels, n_fft, float(sample_rate), f_min, f_max, 100.0, -500.0, 1.0
    )
    banks = result[0] if isinstance(result, tuple) else result  # older versions also return centres
    banks = torch.nn.functional.pad(banks.to(torch.float32), (0, 1), mode="constant", value=0.0)
    if banks.shape != (n_mels, n_fft // 2 + 1):
        raise RuntimeError(f"unexpected mel bank shape {tuple(banks.shape)}")
    return banks


class MelFrontEnd(nn.Module):
    """Waveform (B, samples) at 32 kHz -> normalised log-mel (B, 128, frames).

    Pre-emphasis (valid convolution, one sample shorter), STFT (n_fft 1024, symmetric Hann of 800
    zero-padded to 1024, hop 320, centre reflect padding), power, Kaldi mel banks (0-15000 Hz),
    ``(log(mel + 1e-5) + 4.5) / 5``. A 5 s clip (160000 samples) gives 500 frames.
    """

    def __init__(
        self,
        *,
        sample_rate: int = SAMPLE_RATE,
        n_mels: int = N_MELS,
        n_fft: int = N_FFT,
        win_length: int = WIN_LENGTH,
        hop_length: int = HOP_LENGTH,
        f_min: float = F_MIN,
        f_max: float = F_MAX,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.register_buffer(
            "window", torch.hann_window(win_length, periodic=False, dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "mel_matrix", kaldi_mel_matrix(n_mels, n_fft, sample_rate, f_min, f_max), persistent=False
        )

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if waveforms.dim() != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), got {tuple(waveforms.shape)}")
        # Pre-emphasis x[t + 1] - 0.97 x[t], the original's conv1d with kernel [-0.97, 1]: the same float32
        # values (one product, one sum per sample), at a tenth of the cost of a one-channel conv1d.
        x = waveforms[:, 1:] - PREEMPHASIS * waveforms[:, :-1]
        spec = torch.stft(
            x,
            self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.mel_matrix, power)
        return (torch.log(mel + LOG_OFFSET) + NORM_SHIFT) / NORM_SCALE


# ----------------------------------------------------------------------------------------------
# Network
# ----------------------------------------------------------------------------------------------


def _activation(name: str) -> nn.Module:
    if name == "RE":
        return nn.ReLU(inplace=True)
    if name == "HS":
        return nn.Hardswish(inplace=True)
    raise ValueError(f"unknown activation {name!r}")


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm2d [+ activation]; keys ``0`` (conv) and ``1`` (BN)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = None,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels, out_channels, kernel, stride=stride, padding=(kernel - 1) // 2,
                groups=groups, bias=False,
            ),
            nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM),
        ]
        if activation is not None:
            layers.append(_activation(activation))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel SE: mean over (freq, time), fc1 -> ReLU -> fc2 -> sigmoid, rescale the input."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze_channels)
        self.fc2 = nn.Linear(squeeze_channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=(2, 3))
        scale = torch.sigmoid(self.fc2(torch.relu(self.fc1(scale))))
        return x * scale[:, :, None, None]


class ConcurrentSE(nn.Module):
    """EfficientAT's ``ConcurrentSEBlock`` with the single channel SE layer ``mn04_as`` uses
    (key ``conc_se_layers.0``); with one layer the max-fusion is the identity."""

    def __init__(self, channels: int, reduction: int = SE_REDUCTION) -> None:
        super().__init__()
        self.conc_se_layers = nn.ModuleList(
            [SqueezeExcitation(channels, make_divisible(channels // reduction, 8))]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conc_se_layers[0](x)


class InvertedResidual(nn.Module):
    """[1x1 expand] -> depthwise kxk -> [SE] -> 1x1 project, residual when shapes allow."""

    def __init__(self, cfg: BlockConfig, width_mult: float) -> None:
        super().__init__()
        in_ch = _scaled(cfg.in_channels, width_mult)
        exp_ch = _scaled(cfg.expanded, width_mult)
        out_ch = _scaled(cfg.out_channels, width_mult)
        self.use_residual = cfg.stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if exp_ch != in_ch:
            layers.append(ConvBNAct(in_ch, exp_ch, 1, activation=cfg.activation))
        layers.append(
            ConvBNAct(exp_ch, exp_ch, cfg.kernel, stride=cfg.stride, groups=exp_ch, activation=cfg.activation)
        )
        if cfg.use_se:
            layers.append(ConcurrentSE(exp_ch))
        layers.append(ConvBNAct(exp_ch, out_ch, 1, activation=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.use_residual else out


class MN04(nn.Module):
    """EfficientAT ``mn04_as``: log-mel (B, 1, 128, T) -> (logits (B, 527), embedding (B, 384))."""

    def __init__(
        self,
        *,
        width_mult: float = WIDTH_MULT,
        blocks: Sequence[BlockConfig] = MOBILENETV3_LARGE,
        num_classes: int = NUM_CLASSES,
    ) -> None:
        super().__init__()
        stem = _scaled(STEM_CHANNELS, width_mult)
        layers: list[nn.Module] = [ConvBNAct(1, stem, 3, stride=2, activation="HS")]
        layers.extend(InvertedResidual(cfg, width_mult) for cfg in blocks)
        last_in = _scaled(blocks[-1].out_channels, width_mult)
        last_out = LAST_CONV_FACTOR * last_in
        layers.append(ConvBNAct(last_in, last_out, 1, activation="HS"))
        self.features = nn.Sequential(*layers)
        self.embedding_dim = last_out
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(last_out, HEAD_HIDDEN),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=HEAD_DROPOUT, inplace=True),
            nn.Linear(HEAD_HIDDEN, num_classes),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision MobileNetV3 initialisation (uses the global torch RNG)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    @property
    def time_stride(self) -> int:
        """Mel frames per feature-map frame: the product of the time strides of the convolutions
        (32 for MobileNetV3: a ``T``-frame mel gives ``ceil(T / 32)`` feature-map frames)."""
        return math.prod(m.stride[1] for m in self.features.modules() if isinstance(m, nn.Conv2d))

    def feature_map(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel (B, 1, 128, T) -> last feature map (B, 384, F', T'), F' = 4, T' = ceil(T / 32)."""
        if mel.dim() != 4 or mel.shape[1] != 1:
            raise ValueError(f"expected mel of shape (batch, 1, mels, frames), got {tuple(mel.shape)}")
        return self.features(mel)

    def head(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, 527), embedding (B, 384)) from the last feature map: the embedding is its
        global average, the classifier pools it the same way."""
        return self.classifier(features), features.mean(dim=(2, 3))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.feature_map(mel))


# ----------------------------------------------------------------------------------------------
# Weights and labels
# ----------------------------------------------------------------------------------------------


def load_mn04_state(
    weights: str | os.PathLike | None,
    *,
    cache_dir: str | os.PathLike,
    sha256: str | None = MN04_WEIGHTS.sha256,
) -> dict[str, torch.Tensor]:
    """Load the ``mn04_as`` state_dict from ``weights``, or download it into ``cache_dir`` when
    ``weights`` is None. The sha256 is verified unless ``sha256=None``."""
    if weights is None:
        path = download(MN04_WEIGHTS.url, Path(cache_dir) / MN04_WEIGHTS.filename, sha256,
                        config_key=WEIGHTS_CONFIG_KEY)
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"EfficientAT mn04 weights not found: {path} (config key {WEIGHTS_CONFIG_KEY}); "
                f"download them from {MN04_WEIGHTS.url} or set the key to null to download into the cache"
            )
        if sha256 is not None:
            verify_sha256(path, sha256)
    return read_state_dict(path, config_key=WEIGHTS_CONFIG_KEY)


# ----------------------------------------------------------------------------------------------
# AudioModel wrapper
# ----------------------------------------------------------------------------------------------


def build_mn04(state_dict: Mapping[str, torch.Tensor] | None, *, seed: int = 0) -> MN04:
    """MN04 with ``state_dict`` loaded strictly, or seeded random weights when it is None
    (the global RNG state is restored afterwards)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MN04()
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def fuse_batch_norms(model: MN04) -> MN04:
    """``model`` (in eval mode) with every convolution's batch norm folded into the convolution's
    weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``): the same frozen function, a
    quarter faster on a CPU; outputs agree with the unfused network to about 1e-6."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for module in model.modules():
        if isinstance(module, ConvBNAct):
            module[0] = fuse_conv_bn_eval(module[0], module[1])
            module[1] = nn.Identity()
    return model


class EfficientATMN04:
    """Frozen ``mn04_as`` as an :class:`acom.models.base.AudioModel`: (B, samples) float32 at
    32 kHz -> 384-d embeddings and 527 AudioSet probabilities.

    Frame embeddings: the last feature map averaged over its frequency axis, 384 dimensions, one
    frame per 32 mel frames (``hop_seconds`` 0.32 s). Frame ``t`` is centred on the mel frame
    ``32 t``, i.e. at ``t * hop_seconds`` (the STFT is centred and the convolutions padded
    symmetrically); its receptive field spans seconds, and the squeeze-excitation layers scale
    channels by clip-wide averages, so every frame also carries some clip-level context.
    """

    sample_rate: int = SAMPLE_RATE
    embedding_dim: int = EMBEDDING_DIM
    frame_dim: int = EMBEDDING_DIM

    def __init__(
        self,
        state_dict: Mapping[str, torch.Tensor] | None,
        *,
        labels: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 32,
        seed: int = 0,
        autocast: str | None = "none",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if labels is not None and len(labels) != NUM_CLASSES:
            raise ValueError(f"expected {NUM_CLASSES} AudioSet labels, got {len(labels)}")
        self.labels = list(labels) if labels is not None else None
        self.device = resolve_device(device)
        self.batch_size = batch_size
        # Mixed precision on CUDA only (the network; the front end stays float32): a CPU run is float32.
        self.autocast = autocast_dtype(autocast, self.device)
        self.metadata = {} if self.autocast is None else {"autocast": autocast_name(self.autocast)}
        self.front_end = MelFrontEnd().to(self.device).eval()
        # channels_last: oneDNN's depthwise and pointwise convolutions run about twice as fast in it on a
        # CPU (and it suits GPUs); outputs agree with the default layout to about 1e-5 in the logits.
        self.model = fuse_batch_norms(build_mn04(state_dict, seed=seed)).to(self.device,
                                                                             memory_format=torch.channels_last)
        self.hop_seconds = self.model.time_stride * self.front_end.hop_length / self.sample_rate

    def feature_map(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Last feature map (B, 384, F', T') for one batch already on the device (call under
        inference_mode)."""
        mel = self.front_end(waveforms).unsqueeze(1).contiguous(memory_format=torch.channels_last)
        with autocast_context(self.autocast):
            return self.model.feature_map(mel).float()

    def forward_batch(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, embeddings) for one batch already on the device (call under inference_mode)."""
        with autocast_context(self.autocast):
            logits, embedding = self.model.head(self.feature_map(waveforms))
        return logits.float(), embedding.float()

    def frame_batch(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, T', 384) frame embeddings, all T' frames of the feature map (the mean over them is the
        clip embedding), for one batch already on the device (call under inference_mode)."""
        return self.feature_map(waveforms).mean(dim=2).transpose(1, 2)

    def _checked(self, waveforms: np.ndarray) -> tuple[np.ndarray, Callable[[int, int], torch.Tensor]]:
        """The (B, samples) float32 batch and a function giving its clips [start, stop) on the device."""
        batch = np.asarray(waveforms, dtype=np.float32)
        if batch.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), got {batch.shape}")
        return batch, lambda start, stop: torch.from_numpy(np.ascontiguousarray(batch[start:stop])).to(self.device)

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        batch, clips = self._checked(waveforms)

        def forward(start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
            logits, emb = self.forward_batch(clips(start, stop))
            return emb, logits

        return batched_outputs(forward, batch.shape[0], batch_size=self.batch_size, embedding_dim=self.embedding_dim,
                               num_classes=NUM_CLASSES)

    def frame_embed(self, waveforms: np.ndarray) -> FrameOutput:
        batch, clips = self._checked(waveforms)
        return batched_frames(lambda start, stop: self.frame_batch(clips(start, stop)), batch.shape[0],
                              batch_size=self.batch_size, frame_dim=self.frame_dim, hop_seconds=self.hop_seconds,
                              n_frames=frames_covering(batch.shape[1], self.sample_rate, self.hop_seconds))


def build(params: Mapping[str, Any], *, cache_dir: str | os.PathLike, config_key: str) -> EfficientATMN04:
    """The ``efficientat_mn04`` registry entry: the official weights (``weights``, or downloaded when
    null; sha256-checked) and AudioSet labels, or, only with ``init: random`` (a test option), seeded
    random weights and no labels."""
    labels = None
    if params.get("init", "pretrained") == "random":
        state = None
    else:
        state = load_mn04_state(params.get("weights"), cache_dir=cache_dir,
                                sha256=params.get("sha256", MN04_WEIGHTS.sha256))
        labels = read_audioset_labels(params.get("labels"), cache_dir=cache_dir)
    return EfficientATMN04(state, labels=labels, device=params.get("device", "auto"),
                           batch_size=int(params.get("batch_size", 32)), seed=int(params.get("seed", 0)),
                           autocast=params.get("autocast", "none"))
