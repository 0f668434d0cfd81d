"""Snakemake adapter: checksum-verified download of one file (acom.download)."""

from acom.download import download
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    if "source" in snakemake.params.keys():
        url, sha256 = snakemake.params.source
    else:
        url, sha256 = snakemake.params.url, snakemake.params.sha256
    log.info("downloading %s", url)
    download(url, snakemake.output[0], sha256, config_key=snakemake.params.config_key)
    log.info("saved %s (sha256 %s)", snakemake.output[0], sha256)
