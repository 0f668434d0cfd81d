"""Snakemake adapter: filter one fold at one rate with one filter (acom.filters)."""


from acom.embed import load_model, waveform_embedder
from acom.filters import build_filter
from acom.filters.stage import filter_fold
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file
from acom.roi.predictor import load_mask_predictor
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    params, rate = snakemake.params.filter, int(snakemake.wildcards.rate)
    embed = masks = None
    if "masks" in snakemake.input.keys():  # oracle_roi: the fold's best masks
        masks = read_parquet(snakemake.input.masks)
    elif snakemake.params.model is not None:  # saliency scores from the model, loaded once
        configure_torch(snakemake.threads)
        model = load_model(snakemake.params.model, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir,
                           name=snakemake.params.model_name)
        embed = waveform_embedder(model, rate, batch_size=snakemake.params.model.get("batch_size", 16))
    predictor = None
    if "predictor" in snakemake.input.keys():  # score: predicted: the fold's mask predictor
        configure_torch(snakemake.threads)
        predictor = load_mask_predictor(snakemake.input.predictor)
    apply = build_filter(params, embed=embed, masks=masks, search_params=snakemake.params.search, predictor=predictor)
    clips = read_parquet(snakemake.input.manifest)
    table = filter_fold(clips, apply, name=snakemake.wildcards.filter, out_dir=snakemake.output.audio)
    table["actual_kbps"] = clips.set_index("clip_id").loc[table["clip_id"], "actual_kbps"].to_numpy()
    write_parquet(table, snakemake.output.manifest)
    log.info("%s: %d clips at %d Hz, mean kept share %.3f", snakemake.wildcards.filter, len(table), rate,
             table["kept_share"].mean())
