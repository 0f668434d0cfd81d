"""Process-wide torch settings for one workflow job: its thread count and deterministic kernels."""

from __future__ import annotations


def configure_torch(threads: int) -> None:
    """Use ``threads`` intra-op threads (the job's Snakemake threads, not every core of a shared node)
    and deterministic kernels, so a rerun with the same threads gives the same bits.

    Floating-point sums split over a different number of threads round differently (about 1e-15
    relative on EfficientAT embeddings), so bit-identical tables need the same threads per job:
    Snakemake gives a rule its ``threads`` unless ``--cores`` is smaller. ``warn_only``: an op
    without a deterministic CUDA kernel warns instead of stopping a GPU run. On a GPU, convolutions
    and matrix products run in float32 proper (no TF32, whose 10-bit mantissa would move embeddings by
    about 1e-3), so a GPU run reproduces the CPU's tables unless a model's ``autocast`` asks otherwise.
    """
    import torch

    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
