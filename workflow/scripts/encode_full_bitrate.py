"""Snakemake adapter: encode one fold once at the codec's highest bitrate (acom.codecs), for codecs
whose every bitrate is derived from that encoding (EnCodec)."""


from acom.codecs import codec_downloads, encode_full_bitrate
from acom.download import with_downloaded_files
from acom.io import read_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params = with_downloaded_files(snakemake.params.codec, codec_downloads(snakemake.params.codec),
                                   dict(snakemake.input.items()))
    clips = read_parquet(snakemake.input.manifest)
    n = encode_full_bitrate(params, clips, cache_dir=snakemake.params.cache_dir, out_dir=snakemake.output.codes)
    log.info("%s: %d clips encoded at the highest bitrate", snakemake.wildcards.encoder, n)
