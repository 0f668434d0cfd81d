"""Snakemake adapter: the rate-distortion table over all coded conditions (acom.coding)."""

import pandas as pd

from acom.coding import codec_quality
from acom.io import read_parquet, write_csv
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    manifests = pd.concat(
        [read_parquet(path).assign(filter=filter) for path, filter in zip(snakemake.input.manifests,
                                                                               snakemake.params.filters)],
        ignore_index=True,
    )
    table = codec_quality(manifests)
    write_csv(table, snakemake.output.quality)
    log.info("codec quality:\n%s", table.to_string())
