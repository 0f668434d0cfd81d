"""Snakemake adapter: code every searched mask of one fold with one codec condition (acom.coding)."""


from acom.codecs import build_codec, codec_downloads
from acom.coding import code_masked_versions
from acom.download import with_downloaded_files
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file
from acom.roi.grids import attenuation_gain, search_grids
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params = with_downloaded_files(snakemake.params.codec, codec_downloads(snakemake.params.codec),
                                   dict(snakemake.input.items()))
    codec = build_codec(params, snakemake.params.nominal_kbps, cache_dir=snakemake.params.cache_dir)
    search = snakemake.params.search
    table = code_masked_versions(read_parquet(snakemake.input.manifest), read_parquet(snakemake.input.masks),
                                 codec, search_grids(search), floor_gain=attenuation_gain(search.get("attenuation_db")),
                                 batch_size=params.get("batch_size", 16))
    table = table.assign(model=snakemake.wildcards.model, codec=snakemake.wildcards.codec,
                         nominal_kbps=snakemake.params.nominal_kbps)
    write_parquet(table, snakemake.output.rates)
    log.info("%d coded versions, mean %.2f kbps", len(table), table["actual_kbps"].mean())
