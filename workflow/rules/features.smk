# Feature coding: one job per (model, feature condition) over every fold: for test fold k a quantiser
# fit on the other folds' clean embeddings codes fold k's; the dequantised embeddings take the place
# a codec condition's embeddings have, so classification, summary, plots and delta rates follow.


include: "features_functions.smk"


rule quantize_embeddings:
    input:
        unpack(quantize_inputs),
    output:
        embeddings=expand(embeddings_path("{model}", UNCODED, "{codec}", "{fold}"), fold=FOLDS, allow_missing=True),
        rates=expand(feature_rates_path("{model}", "{codec}", "{fold}"), fold=FOLDS, allow_missing=True),
        codebooks=expand(feature_codebook_path("{model}", "{codec}", "{fold}"), fold=FOLDS, allow_missing=True),
    log:
        "results/logs/quantize_embeddings/{model}/{codec}.log",
    benchmark:
        "results/benchmarks/quantize_embeddings/{model}/{codec}.tsv"
    wildcard_constraints:
        codec="|".join(FEATURE_CONDITIONS) or "no_feature_codec_configured",
    params:
        folds=FOLDS,
        # The entry and budget: changing one budget reruns only its jobs.
        feature=lambda wildcards: feature_params(wildcards.codec)[0],
        budget=lambda wildcards: feature_params(wildcards.codec)[1],
        seed=config["evaluation"]["seed"],
    threads: threads_for("quantize", 1)
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/quantize_embeddings.py"



rule quantize_frame_embeddings:
    input:
        unpack(quantize_frame_inputs),
    output:
        frames=expand(frame_embeddings_path("{model}", UNCODED, "{codec}", "{fold}"), fold=DESED_FOLDS, allow_missing=True),
        rates=expand(frame_feature_rates_path("{model}", "{codec}", "{fold}"), fold=DESED_FOLDS, allow_missing=True),
        codebooks=expand(frame_feature_codebook_path("{model}", "{codec}", "{fold}"), fold=DESED_FOLDS, allow_missing=True),
    log:
        "results/logs/quantize_frame_embeddings/{model}/{codec}.log",
    benchmark:
        "results/benchmarks/quantize_frame_embeddings/{model}/{codec}.tsv"
    wildcard_constraints:
        codec="|".join(SED_FEATURE_CONDITIONS) or "no_feature_codec_configured",
    params:
        folds=DESED_FOLDS,
        feature=lambda wildcards: feature_params(wildcards.codec)[0],
        budget=lambda wildcards: feature_params(wildcards.codec)[1],
        seed=config["evaluation"]["seed"],
        # Codebooks for a soundscape fold are fit on at most this many frames of the other folds.
        max_train_vectors=20000,
        min_hop_s=SED["min_hop_s"],  # frames are pooled to the SED head's hop before coding
    threads: threads_for("quantize", 1)
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/quantize_frame_embeddings.py"
