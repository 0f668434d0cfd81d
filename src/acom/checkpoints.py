"""Loading PyTorch checkpoints and choosing a device: shared by every neural model and codec."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state_dict read from ``path`` (tensors only, no pickled code: ``weights_only=True``);
    ``ValueError`` naming the file when it is corrupt or holds something else."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a readable PyTorch state_dict ({type(err).__name__}: {err})") from err
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: does not contain a state_dict (a mapping of names to tensors)")
    return dict(state)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
