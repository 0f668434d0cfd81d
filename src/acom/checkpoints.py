"""Loading PyTorch checkpoints and choosing a device: shared by every neural model and codec."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch


def unreadable_checkpoint(
    path: str | os.PathLike, err: BaseException, config_key: str | None = None, *, fix: str | None = None
) -> ValueError:
    """The error for a checkpoint file ``torch.load`` cannot read. It names the file (and ``config_key``,
    the config key that names it), its size, says it is corrupt or not a checkpoint, and gives the fix
    (``fix``, default: download it again or point the key at a good copy). Only the first line of
    torch's own message is kept: its advice (load with ``weights_only=False``) is not the fix."""
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    detail = (str(err).strip().splitlines() or [""])[0][:200]
    key = f" ({config_key})" if config_key else ""
    if fix is None:
        fix = f"download it again, or set {config_key} to a good copy" if config_key else "download it again"
    return ValueError(
        f"{path}{key}: corrupt or not a PyTorch checkpoint ({size} bytes; {type(err).__name__}: {detail}): a "
        f"truncated or interrupted download, or another kind of file. Delete it and {fix}"
    )


def read_state_dict(path: str | os.PathLike, *, config_key: str | None = None) -> dict[str, torch.Tensor]:
    """A state_dict read from ``path`` (tensors only, no pickled code: ``weights_only=True``);
    ``ValueError`` naming the file (and ``config_key``, the config key that names it) when it is
    corrupt or holds something else."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise unreadable_checkpoint(path, err, config_key) from err
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        key = f" ({config_key})" if config_key else ""
        raise ValueError(f"{path}{key}: holds no state_dict (a mapping of names to tensors), so it is not the "
                         f"expected checkpoint; {f'set {config_key} to' if config_key else 'use'} the right file")
    return dict(state)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
