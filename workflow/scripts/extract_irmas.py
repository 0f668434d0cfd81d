"""Snakemake adapter: unpack one official IRMAS archive (acom.data.irmas)."""

from acom.data.irmas import extract_irmas_archive
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    extract_irmas_archive(snakemake.input.archive, snakemake.output.folder)
    log.info("unpacked %s into %s", snakemake.input.archive, snakemake.output.folder)
