"""Snakemake adapter: checksum-verified download of one file (acom.download)."""

from acom.download import download
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    if "source" in snakemake.params.keys():
        url, sha256 = snakemake.params.source
    else:
        url, sha256 = snakemake.params.url, snakemake.params.sha256
    log.info("downloading %s", url)
    md5 = snakemake.params.md5 if "md5" in snakemake.params.keys() else None
    download(url, snakemake.output[0], sha256, config_key=snakemake.params.config_key, md5=md5)
    log.info("saved %s (sha256 %s, md5 %s)", snakemake.output[0], sha256, md5)
