"""Snakemake adapter: resample one fold to one rate (acom.resample). torch, loaded only when a clip needs
resampling, takes the job's threads from OMP_NUM_THREADS, which Snakemake sets."""


from acom.conditions import pcm_kbps
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file
from acom.resample import resample_fold

with log_to_file(snakemake.log[0]) as log:
    manifest = read_parquet(snakemake.input.manifest)
    fold = resample_fold(manifest, snakemake.params.fold, snakemake.params.rate, snakemake.output.audio)
    # Uncoded audio: the bitrate spent is that of 16-bit PCM at this rate.
    fold["actual_kbps"] = pcm_kbps(snakemake.params.rate)
    write_parquet(fold, snakemake.output.manifest)
    log.info("fold %d: %d clips resampled to %d Hz", snakemake.params.fold, len(fold), snakemake.params.rate)
