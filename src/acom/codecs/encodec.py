"""EnCodec (Défossez et al. 2022, ``encodec`` 0.1.1) as a codec of the workflow.

Two published models, both built with the ``encodec`` package's own classes and loaded from its
official checkpoints:

* ``encodec24``: 24 kHz mono, causal, 1.5/3/6/12/24 kbps = 2/4/8/16/32 codebooks x 75 frames/s,
  10 bits per code; the whole clip is one segment.
* ``encodec48``: 48 kHz stereo, non-causal, 3/6/12/24 kbps = 2/4/8/16 codebooks x 150 frames/s;
  the clip is cut into 1 s segments with 1 % overlap (stride 47520 samples), each normalised by
  its RMS (one float32 scale per segment, stored in the file) and overlap-added on decoding.
  Mono clips are duplicated to two channels on input and the channels averaged on output.

Alignment (read from ``encodec/modules/conv.py`` and ``encodec/compress.py``): every convolution
is padded so that the decoder output starts at the first input sample (causal left padding for the
24 kHz model, symmetric padding for the 48 kHz one); the decoder may return a few samples more at
the end (rounding up to whole frames / the overlap-added last segment), which
``encodec.compress.decompress`` simply cuts to the input length (``wav[..., :audio_length]``).
:func:`decode_batch` does the same, so its output equals the package's own decoding sample for
sample, with no delay to remove.

Bitstreams are ``.ecdc`` files in the package's own format (header + bit-packed codes, no entropy
coding LM), decodable by ``encodec``'s command line tool. Encoding at the highest bandwidth and
keeping the first ``n`` codebooks gives exactly the codes of encoding at the lower bandwidth (the
residual quantiser is greedy and the encoder and the 48 kHz scale do not depend on the bandwidth;
proven for both models by ``tests/test_encodec.py``), see :func:`truncate_codes`.
"""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from encodec import binary
from encodec.model import EncodecModel

from acom.batching import equal_length_batches
from acom.checkpoints import read_state_dict, resolve_device
from acom.codecs import CODECS
from acom.codecs.base import CodedClip
from acom.download import download, sha256_of
from acom.io import atomic_output, read_audio


@dataclass(frozen=True)
class EncodecSpec:
    """One published EnCodec model.

    package_name: the model's name inside the ``encodec`` package, written into ``.ecdc`` headers.
    sha256_prefix: the package pins only the first 8 hex digits of each checkpoint's sha256, in its
        file name (``encodec_24khz-d7cc33bc.th``; ``torch.hub``'s ``check_hash`` convention, also
        what ``EncodecModel._get_pretrained`` checks). No full sha256 is published, so that prefix
        is what is verified.
    """

    package_name: str
    sample_rate: int
    channels: int
    bandwidths_kbps: tuple[float, ...]
    checkpoint: str
    url: str
    sha256_prefix: str


def _from_registry(name: str, package_name: str, channels: int) -> EncodecSpec:
    """The published model behind registry entry ``name``: its rate, bandwidths and checkpoint come
    from the registry (which the Snakefile reads without importing torch); tests check them against
    the installed package."""
    codec, weights = CODECS[name], CODECS[name].files["weights"]
    return EncodecSpec(package_name=package_name, sample_rate=codec.sample_rates[0], channels=channels,
                       bandwidths_kbps=codec.kbps_modes, checkpoint=weights.filename, url=weights.url,
                       sha256_prefix=weights.sha256_prefix)


ENCODEC_MODELS: dict[str, EncodecSpec] = {
    "encodec24": _from_registry("encodec24", "encodec_24khz", channels=1),
    "encodec48": _from_registry("encodec48", "encodec_48khz", channels=2),
}
_BUILDERS: dict[str, Callable[..., EncodecModel]] = {
    "encodec_24khz": EncodecModel.encodec_model_24khz,
    "encodec_48khz": EncodecModel.encodec_model_48khz,
}

#: Duration of the seeded signal that spreads the codebooks of a random-init model.
_RANDOM_INIT_SECONDS = 1.0


def weights_config_key(name: str) -> str:
    return f"codecs.{name}.weights"


def get_spec(name: str) -> EncodecSpec:
    """The :class:`EncodecSpec` of ``name`` (``encodec24`` / ``encodec48``); ``ValueError`` otherwise."""
    try:
        return ENCODEC_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown EnCodec model {name!r}; known: {sorted(ENCODEC_MODELS)}") from None


def check_bandwidth(name: str, kbps: float) -> float:
    """Return ``kbps`` as a float when ``name`` supports it; ``ValueError`` naming both otherwise."""
    spec = get_spec(name)
    if float(kbps) not in spec.bandwidths_kbps:
        raise ValueError(
            f"{name} does not support {kbps} kbps; supported bandwidths: {list(spec.bandwidths_kbps)} kbps"
        )
    return float(kbps)


def _check_model_bandwidth(model: EncodecModel, kbps: float) -> float:
    if float(kbps) not in [float(b) for b in model.target_bandwidths]:
        raise ValueError(
            f"EnCodec model {model.name} does not support {kbps} kbps; supported bandwidths: "
            f"{[float(b) for b in model.target_bandwidths]} kbps"
        )
    return float(kbps)


def n_codebooks_for(model: EncodecModel, kbps: float) -> int:
    """Number of codebooks the model uses at ``kbps`` (as ``ResidualVectorQuantizer`` computes it)."""
    kbps = _check_model_bandwidth(model, kbps)
    return int(model.quantizer.get_num_quantizers_for_bandwidth(model.frame_rate, kbps))


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------


def verify_sha256_prefix(path: str | os.PathLike, prefix: str, *, url: str | None = None) -> None:
    """Raise ``ValueError`` naming the file when its sha256 does not start with ``prefix``; ``url``: the
    file was just downloaded from there (the caller discards it)."""
    actual = sha256_of(path)
    if not actual.startswith(prefix.lower()):
        if url is not None:
            raise ValueError(
                f"download of {url} to {path}: sha256 {actual} does not start with the published prefix "
                f"{prefix.lower()}; the download was discarded. Retry; if it fails again, the file at the URL is "
                "not the published checkpoint"
            )
        raise ValueError(
            f"{path}: sha256 {actual} does not start with the published prefix {prefix.lower()}; "
            "the file is corrupt or not the published checkpoint: delete it and download it again"
        )




def build_encodec(name: str) -> EncodecModel:
    """The package's model class for ``name`` without weights (PyTorch's default init, codebooks not
    initialised), named so that ``.ecdc`` headers name the right model."""
    spec = get_spec(name)
    with warnings.catch_warnings():
        # encodec 0.1.1 uses torch.nn.utils.weight_norm, deprecated (but working) in torch 2.x.
        warnings.filterwarnings("ignore", message=".*weight_norm.*", category=FutureWarning)
        model = _BUILDERS[spec.package_name](pretrained=False)
    model.name = spec.package_name
    return model


def fetch_checkpoint(name: str, cache_dir: str | os.PathLike, *, verify_checksum: bool = True) -> Path:
    """Download the official checkpoint of ``name`` into ``cache_dir`` (once) and verify its sha256
    prefix; a download that fails the check is deleted. ``RuntimeError`` without a network."""
    spec = get_spec(name)
    dest = Path(cache_dir) / spec.checkpoint
    existed = dest.exists()
    # The package publishes no full sha256: the prefix is checked below.
    download(spec.url, dest, None, config_key=weights_config_key(name))
    if verify_checksum:
        try:
            verify_sha256_prefix(dest, spec.sha256_prefix, url=None if existed else spec.url)
        except ValueError:
            if not existed:
                dest.unlink()
            raise
    return dest




def load_state_into(
    model: EncodecModel, state: Mapping[str, torch.Tensor], source: str | os.PathLike
) -> None:
    """Load ``state`` strictly; ``ValueError`` naming ``source`` when it does not fit the model or its
    codebooks were never initialised (an untrained checkpoint would encode everything to code 0)."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{source}: not a {model.name} checkpoint ({err})") from err
    for module_name, buffer in model.named_buffers():
        if module_name.endswith("inited") and not bool(buffer.all()):
            raise ValueError(f"{source}: codebook {module_name} was never initialised (untrained checkpoint)")


@torch.no_grad()
def init_random_codebooks(model: EncodecModel, *, seed: int) -> None:
    """Give a freshly built model usable codebooks, deterministically from ``seed``.

    The package initialises codebooks to zeros and fills them by k-means on the first training batch;
    untouched, every code would be 0. Here the residual quantiser's codebooks are drawn layer after
    layer around the residuals of a seeded noise signal (per-dimension mean + 0.5 x std x Gaussian),
    which is cheap and gives varied codes at every layer. Test option only: such a model codes
    nothing meaningful.
    """
    gen = torch.Generator().manual_seed(seed)
    n = int(_RANDOM_INIT_SECONDS * model.sample_rate)
    envelope = torch.exp(torch.randn(10, generator=gen)).repeat_interleave(-(-n // 10))[:n]
    mono = 0.1 * envelope * torch.randn(n, generator=gen)
    x = mono.expand(1, model.channels, n)
    if model.normalize:
        x = x / (1e-8 + x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt())
    residual = model.encoder(x)  # (1, dim, frames)
    for layer in model.quantizer.vq.layers:
        codebook = layer._codebook
        samples = residual[0].T
        noise = torch.randn(codebook.codebook_size, samples.shape[1], generator=gen)
        embed = samples.mean(dim=0) + 0.5 * samples.std(dim=0) * noise
        codebook.embed.copy_(embed)
        codebook.embed_avg.copy_(embed)
        codebook.cluster_size.fill_(1.0)
        codebook.inited.fill_(1.0)
        residual = residual - layer.decode(layer.encode(residual))


def load_encodec(
    name: str,
    *,
    weights: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None = None,
    init: str = "pretrained",
    device: str | torch.device = "cpu",
    seed: int = 0,
    verify_checksum: bool = True,
) -> EncodecModel:
    """The ``encodec`` package's model ``name`` in eval mode on ``device`` (``"auto"``: CUDA if any).

    ``init="pretrained"``: weights from the local checkpoint ``weights`` or, when it is None, the
    official checkpoint downloaded into ``cache_dir``; the published sha256 prefix is verified unless
    ``verify_checksum=False`` (for checkpoints of one's own). ``init="random"`` (explicit test option
    only): seeded random weights, identical for equal seeds; ``weights`` must then be None.
    """
    spec = get_spec(name)
    if init not in ("pretrained", "random"):
        raise ValueError(f"init must be 'pretrained' or 'random', got {init!r}")
    if init == "random":
        if weights is not None:
            raise ValueError(f"{weights_config_key(name)} is set but init is 'random': choose one")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_encodec(name)
        init_random_codebooks(model, seed=seed)
    else:
        if weights is None:
            if cache_dir is None:
                raise ValueError(f"{weights_config_key(name)} is null: give a cache_dir to download into")
            path = fetch_checkpoint(name, cache_dir, verify_checksum=verify_checksum)
        else:
            path = Path(weights)
            if not path.is_file():
                raise FileNotFoundError(
                    f"EnCodec {name} weights not found: {path} (config key {weights_config_key(name)}); "
                    f"download them from {spec.url} or set the key to null to download into the cache"
                )
            if verify_checksum:
                verify_sha256_prefix(path, spec.sha256_prefix)
        model = build_encodec(name)
        load_state_into(model, read_state_dict(path, config_key=weights_config_key(name)), path)
    return model.to(resolve_device(device)).eval()


# ----------------------------------------------------------------------------------------------
# Codes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodecCodes:
    """The codes of one clip, as the package's ``EncodedFrame`` list for a batch of one.

    frames: one ``(codes, scale)`` per segment (one segment for the 24 kHz model): codes int64
        ``(1, n_codebooks, frames)`` on the CPU, scale float32 ``(1, 1)`` (48 kHz) or None.
    n_samples: length of the input clip, to which decoding trims.
    """

    frames: tuple[tuple[torch.Tensor, torch.Tensor | None], ...]
    n_samples: int

    @property
    def n_codebooks(self) -> int:
        return int(self.frames[0][0].shape[1])

    @property
    def n_frames(self) -> int:
        return sum(int(codes.shape[2]) for codes, _ in self.frames)


def validate_clips(clips: Sequence[np.ndarray]) -> np.ndarray:
    """Stack equal-length mono clips into a float32 (batch, samples) array; ``ValueError`` for an
    empty batch, a clip that is not 1-D or is empty, unequal lengths, NaN or Inf samples."""
    if len(clips) == 0:
        raise ValueError("no clips to encode")
    arrays = [np.asarray(clip, dtype=np.float32) for clip in clips]
    for i, clip in enumerate(arrays):
        if clip.ndim != 1:
            raise ValueError(f"clip {i}: expected mono samples (1-D), got shape {clip.shape}")
        if clip.size == 0:
            raise ValueError(f"clip {i}: holds no samples")
        if not np.all(np.isfinite(clip)):
            raise ValueError(f"clip {i}: holds NaN or Inf samples")
    lengths = {clip.shape[0] for clip in arrays}
    if len(lengths) != 1:
        raise ValueError(f"clips of one batch must have equal lengths, got {sorted(lengths)}")
    return np.stack(arrays)


def _model_device(model: EncodecModel) -> torch.device:
    return next(model.parameters()).device


def encode_batch(
    model: EncodecModel, clips: Sequence[np.ndarray], bandwidth_kbps: float
) -> list[EncodecCodes]:
    """Encode equal-length mono float32 clips at the model's rate in one batch."""
    bandwidth = _check_model_bandwidth(model, bandwidth_kbps)
    batch = validate_clips(clips)
    x = torch.from_numpy(batch).to(_model_device(model))[:, None, :]
    x = x.expand(-1, model.channels, -1).contiguous()
    previous = model.bandwidth
    try:
        model.set_target_bandwidth(bandwidth)
        with torch.inference_mode():
            frames = model.encode(x)
    finally:
        model.bandwidth = previous
    return [
        EncodecCodes(
            frames=tuple(
                (codes[i : i + 1].cpu(), None if scale is None else scale[i : i + 1].float().cpu())
                for codes, scale in frames
            ),
            n_samples=batch.shape[1],
        )
        for i in range(batch.shape[0])
    ]


def truncate_codes(codes: EncodecCodes, model: EncodecModel, bandwidth_kbps: float) -> EncodecCodes:
    """The codes at ``bandwidth_kbps``: the first codebooks of ``codes`` (encoded at a higher
    bandwidth); scales are kept. Equal to encoding at ``bandwidth_kbps`` (see the module docstring)."""
    n_q = n_codebooks_for(model, bandwidth_kbps)
    if n_q > codes.n_codebooks:
        raise ValueError(
            f"{bandwidth_kbps} kbps needs {n_q} codebooks but the codes hold only {codes.n_codebooks}"
        )
    return EncodecCodes(
        frames=tuple((c[:, :n_q], scale) for c, scale in codes.frames), n_samples=codes.n_samples
    )


def decode_batch(model: EncodecModel, codes_list: Sequence[EncodecCodes]) -> list[np.ndarray]:
    """Decode codes of equal-length clips (same bandwidth) in one batch; mono float32 clips of the
    input length (channels averaged for the stereo model), aligned as ``encodec``'s decompress."""
    if len(codes_list) == 0:
        raise ValueError("no codes to decode")
    layouts = {(c.n_samples, c.n_codebooks, tuple(f[0].shape[2] for f in c.frames)) for c in codes_list}
    if len(layouts) != 1:
        raise ValueError("codes of one batch must come from clips of equal length at one bandwidth")
    device = _model_device(model)
    n_samples = codes_list[0].n_samples
    frames = []
    for segment in range(len(codes_list[0].frames)):
        codes = torch.cat([c.frames[segment][0] for c in codes_list]).to(device)
        scales = [c.frames[segment][1] for c in codes_list]
        scale = None if scales[0] is None else torch.cat(scales).to(device)
        frames.append((codes, scale))
    with torch.inference_mode():
        wav = model.decode(frames)[:, :, :n_samples]
        mono = wav.mean(dim=1)
    if mono.shape[1] != n_samples:
        raise RuntimeError(f"decoder returned {mono.shape[1]} samples for a clip of {n_samples}")
    return [row for row in mono.float().cpu().numpy()]


# ----------------------------------------------------------------------------------------------
# .ecdc files (encodec's own format, mirroring encodec.compress without the entropy-coding LM)
# ----------------------------------------------------------------------------------------------


def segment_lengths(model: EncodecModel, n_samples: int) -> list[int]:
    """Lengths of the segments ``model.encode`` cuts a clip of ``n_samples`` into."""
    length = model.segment_length or n_samples
    stride = model.segment_stride or n_samples
    return [min(n_samples - offset, length) for offset in range(0, n_samples, stride)]


def frames_expected_by_reader(model: EncodecModel, segment_samples: int) -> int:
    """Frames ``encodec.compress.decompress`` reads for a segment (its own float formula)."""
    return math.ceil(segment_samples / model.sample_rate * model.frame_rate)


def ecdc_bytes(model: EncodecModel, codes: EncodecCodes) -> tuple[bytes, int]:
    """(file content, header size) of the ``.ecdc`` file for ``codes``, as ``encodec.compress`` writes
    it with ``use_lm=False``: header, then per segment [float32 scale] + bit-packed codes (frame by
    frame, codebook by codebook), padded to a whole byte."""
    lengths = segment_lengths(model, codes.n_samples)
    if len(lengths) != len(codes.frames):
        raise ValueError(f"{len(codes.frames)} segments of codes for a clip cut into {len(lengths)}")
    for seg_len, (frame, _) in zip(lengths, codes.frames):
        expected = frames_expected_by_reader(model, seg_len)
        if frame.shape[2] != expected:
            raise ValueError(
                f"a segment of {seg_len} samples has {frame.shape[2]} frames but encodec's reader would "
                f"read {expected} (float rounding in encodec.compress.decompress): the file would not "
                "decode; pad or trim the clip by a few samples"
            )
    fo = io.BytesIO()
    metadata = {"m": model.name, "al": codes.n_samples, "nc": codes.n_codebooks, "lm": False}
    binary.write_ecdc_header(fo, metadata)
    header_size = fo.tell()
    for frame, scale in codes.frames:
        if scale is not None:
            fo.write(struct.pack("!f", scale.item()))
        packer = binary.BitPacker(model.bits_per_codebook, fo)
        for value in frame[0].T.reshape(-1).tolist():  # time-major, as compress_to_file
            packer.push(value)
        packer.flush()
    return fo.getvalue(), header_size


def write_ecdc_codes(path: str | os.PathLike, model: EncodecModel, codes: EncodecCodes) -> tuple[int, int]:
    """Write ``codes`` to ``path`` atomically; return ``(file_bytes, payload_bytes)``.

    payload_bytes: everything after the header, i.e. the bit-packed codes
    (``ceil(n_codebooks * frames * 10 / 8)`` per segment) plus, for the 48 kHz model, the 4-byte
    scale of each segment, which decoding needs as much as the codes.
    """
    content, header_size = ecdc_bytes(model, codes)
    with atomic_output(path) as tmp:
        tmp.write_bytes(content)
    return len(content), len(content) - header_size


def write_ecdc(
    path: str | os.PathLike, model: EncodecModel, clip: np.ndarray, bandwidth_kbps: float
) -> tuple[int, int]:
    """Encode one clip at ``bandwidth_kbps`` and write it; return ``(file_bytes, payload_bytes)``."""
    (codes,) = encode_batch(model, [clip], bandwidth_kbps)
    return write_ecdc_codes(path, model, codes)


def read_ecdc_codes(path: str | os.PathLike, model: EncodecModel) -> EncodecCodes:
    """Parse an ``.ecdc`` file written for ``model`` (without LM) exactly as
    ``encodec.compress.decompress_from_file`` does; ``ValueError`` naming the file otherwise."""
    with open(path, "rb") as fo:
        try:
            metadata = binary.read_ecdc_header(fo)
        except (ValueError, EOFError, UnicodeDecodeError, struct.error) as err:
            raise ValueError(f"{path}: not an .ecdc file ({err})") from err
        if metadata.get("m") != model.name:
            raise ValueError(f"{path}: written by EnCodec model {metadata.get('m')!r}, not {model.name!r}")
        if metadata.get("lm"):
            raise ValueError(f"{path}: entropy-coded with encodec's LM, which this reader does not support")
        n_samples, n_codebooks = int(metadata["al"]), int(metadata["nc"])
        frames = []
        for seg_len in segment_lengths(model, n_samples):
            n_frames = frames_expected_by_reader(model, seg_len)
            scale = None
            if model.normalize:
                (value,) = struct.unpack("!f", _read_or_fail(fo, 4, path))
                scale = torch.tensor([[value]], dtype=torch.float32)
            unpacker = binary.BitUnpacker(model.bits_per_codebook, fo)
            values = [unpacker.pull() for _ in range(n_frames * n_codebooks)]
            if any(v is None for v in values):
                raise ValueError(f"{path}: the stream ended sooner than expected (truncated file)")
            codes = torch.tensor(values, dtype=torch.long).view(n_frames, n_codebooks).T[None].contiguous()
            frames.append((codes, scale))
    return EncodecCodes(frames=tuple(frames), n_samples=n_samples)


def _read_or_fail(fo, size: int, path: str | os.PathLike) -> bytes:
    try:
        return binary._read_exactly(fo, size)
    except EOFError as err:
        raise ValueError(f"{path}: the stream ended sooner than expected (truncated file)") from err


def read_ecdc(path: str | os.PathLike, model: EncodecModel) -> np.ndarray:
    """Decode an ``.ecdc`` file with ``model``: mono float32 at the model's rate.

    Same result as ``encodec.compress.decompress``, which however always builds the pretrained
    model itself (downloading it); this takes the model in hand, e.g. one loaded from local weights.
    """
    return decode_batch(model, [read_ecdc_codes(path, model)])[0]


# ----------------------------------------------------------------------------------------------
# Codec
# ----------------------------------------------------------------------------------------------


class EncodecCodec:
    """One EnCodec model at one bandwidth: clips -> ``.ecdc`` files + decoded clips.

    With ``full_codes_dir``, clips are not encoded again: their codes at the model's highest
    bandwidth are read from ``<full_codes_dir>/<clip>.ecdc`` (see :func:`encode_full_bandwidth`) and
    truncated to this bandwidth's codebooks, which tests prove identical to encoding at it.
    """

    extension = ".ecdc"

    def __init__(self, model: EncodecModel, *, name: str, bandwidth_kbps: float,
                 full_codes_dir: str | os.PathLike | None = None) -> None:
        spec = get_spec(name)
        if model.name != spec.package_name:
            raise ValueError(f"model is {model.name!r} but {name} needs {spec.package_name!r}")
        self.model = model
        self.name = name
        self.bandwidth_kbps = check_bandwidth(name, bandwidth_kbps)
        self.sample_rate = spec.sample_rate
        self.full_codes_dir = None if full_codes_dir is None else Path(full_codes_dir)

    def _codes(self, clips: Sequence[np.ndarray], bitstream_paths: Sequence[str | os.PathLike]) -> list[EncodecCodes]:
        if self.full_codes_dir is None:
            return encode_batch(self.model, clips, self.bandwidth_kbps)
        codes = []
        for clip, path in zip(clips, bitstream_paths):
            full = read_ecdc_codes(self.full_codes_dir / Path(path).name, self.model)
            if full.n_samples != len(clip):
                raise ValueError(f"{self.full_codes_dir / Path(path).name}: codes of {full.n_samples} samples, "
                                 f"the clip has {len(clip)}: stale codes, rerun the encoding")
            codes.append(truncate_codes(full, self.model, self.bandwidth_kbps))
        return codes

    def code_batch(
        self, clips: Sequence[np.ndarray], bitstream_paths: Sequence[str | os.PathLike]
    ) -> list[CodedClip]:
        """Encode the clips (batched per length) or derive their codes, write one ``.ecdc`` per clip
        and decode the written codes (batched)."""
        if len(clips) != len(bitstream_paths):
            raise ValueError(f"{len(clips)} clips but {len(bitstream_paths)} bitstream paths")
        results: dict[int, CodedClip] = {}
        for indices in equal_length_batches([len(clip) for clip in clips]):
            codes = self._codes([clips[i] for i in indices], [bitstream_paths[i] for i in indices])
            sizes = [write_ecdc_codes(bitstream_paths[i], self.model, c) for i, c in zip(indices, codes)]
            decoded = decode_batch(self.model, codes)
            for i, (file_bytes, payload_bytes), wav in zip(indices, sizes, decoded):
                results[i] = CodedClip(decoded=wav, payload_bytes=payload_bytes, file_bytes=file_bytes)
        return [results[i] for i in range(len(clips))]


def encode_full_bandwidth(model: EncodecModel, name: str, clips: Sequence[np.ndarray],
                          bitstream_paths: Sequence[str | os.PathLike]) -> None:
    """Encode equal-length clips once at the model's highest bandwidth and write each clip's codes as
    a (valid, decodable) ``.ecdc`` file, from which every lower bandwidth is derived."""
    codes = encode_batch(model, clips, max(get_spec(name).bandwidths_kbps))
    for path, clip_codes in zip(bitstream_paths, codes):
        write_ecdc_codes(path, model, clip_codes)


def build(params: Mapping[str, Any], kbps: float, *, cache_dir: str | os.PathLike,
          full_codes_dir: str | os.PathLike | None = None) -> EncodecCodec:
    """The ``encodec24`` / ``encodec48`` registry entries at ``kbps``; with ``full_codes_dir`` the
    codes are derived from the fold's encoding at the highest bandwidth."""
    return EncodecCodec(load_model(params, cache_dir=cache_dir), name=params["type"], bandwidth_kbps=kbps,
                        full_codes_dir=full_codes_dir)


def load_model(params: Mapping[str, Any], *, cache_dir: str | os.PathLike) -> EncodecModel:
    """The network behind an EnCodec entry (loaded once per job)."""
    return load_encodec(params["type"], weights=params.get("weights"), cache_dir=Path(cache_dir),
                        init=params.get("init", "pretrained"), device=params.get("device", "auto"),
                        seed=int(params.get("seed", 0)))


def encode_fold_full_bandwidth(params: Mapping[str, Any], clips, *, cache_dir: str | os.PathLike,
                               out_dir: str | os.PathLike) -> int:
    """The registry's ``encode_full`` for EnCodec entries: :func:`encode_fold` with the entry's model."""
    return encode_fold(load_model(params, cache_dir=cache_dir), params["type"], clips, out_dir=out_dir,
                       batch_size=params.get("batch_size", 8))


def encode_fold(model: EncodecModel, name: str, clips, *, out_dir: str | os.PathLike, batch_size: int = 8) -> int:
    """Encode every clip of a fold manifest (at the model's rate) once at the model's highest
    bandwidth into ``out_dir/<clip>.ecdc``; the per-bitrate jobs derive their codes from these.
    Returns the number of clips."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = list(clips.sort_values("clip_id").itertuples(index=False))
    waves = [read_audio(rec.path)[0] for rec in records]
    for batch in equal_length_batches([wave.shape[0] for wave in waves], batch_size):
        encode_full_bandwidth(model, name, [waves[i] for i in batch],
                              [out_dir / f"{records[i].clip_id}.ecdc" for i in batch])
    return len(waves)
