"""Snakemake adapter: code one fold under one codec condition (acom.coding, acom.codecs)."""


from acom.codecs import CODECS, build_codec, codec_downloads
from acom.coding import code_fold
from acom.download import with_downloaded_files
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    params = with_downloaded_files(snakemake.params.codec, codec_downloads(snakemake.params.codec),
                                   dict(snakemake.input.items()))
    # A codec coding each clip on one core (libopus) gets a pool of the job's threads and no torch;
    # a network codec (EnCodec) runs torch on them.
    clip_threads = CODECS[params["type"]].clip_threads
    if not clip_threads:
        configure_torch(snakemake.threads)
    codec = build_codec(params, snakemake.params.nominal_kbps, cache_dir=snakemake.params.cache_dir,
                        full_codes_dir=snakemake.input.get("full_codes"))
    clips = read_parquet(snakemake.input.manifest)
    table = code_fold(clips, codec, condition=snakemake.wildcards.codec, nominal_kbps=snakemake.params.nominal_kbps,
                      out_dir=snakemake.output.audio, batch_size=params.get("batch_size", 16),
                      workers=snakemake.threads if clip_threads else 1)
    write_parquet(table, snakemake.output.manifest)
