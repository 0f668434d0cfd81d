# Embed: one job per (model, condition) over every fold (one table per fold): the model is loaded
# once per job and fed in batches, and a job's start-up is paid once for all its clips.


include: "embed_functions.smk"


rule embed:
    input:
        unpack(embed_inputs),
    output:
        embeddings=expand(embeddings_path("{model}", "{filter}", "{codec}", "{fold}", "{dataset}"), fold=FOLDS,
                          allow_missing=True),
    log:
        "results/logs/embed/{dataset}/{model}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/embed/{dataset}/{model}/{filter}/{codec}.tsv"
    wildcard_constraints:
        # The clip-level data sets (ESC-50 clips, ESC-10 mixtures), audio conditions only: a feature
        # condition's embeddings come from quantize_embeddings.
        dataset="esc50|esc10_mix",
        codec="|".join([UNCODED, *CODED, *MIX_CODED]),
    params:
        folds=FOLDS,
        # The model's whole config entry: changing it reruns this model's jobs and no others.
        model=lambda wildcards: model_params(wildcards.model),
        cache_dir="resources/models",
    threads: threads_for("embed", 2)
    resources:
        # Per model (models.<name>.resources): a cluster profile sends gpu: 1 models to GPU nodes.
        mem_mb=lambda wildcards: model_resource(wildcards.model, "mem_mb", 4000),
        runtime=lambda wildcards: model_resource(wildcards.model, "runtime", 60),
        gpu=lambda wildcards: model_resource(wildcards.model, "gpu", 0),
        gpu_model=lambda wildcards: model_resource(wildcards.model, "gpu_model", ""),
    conda:
        ENV
    script:
        "../scripts/embed.py"


rule embed_frames:
    input:
        unpack(frame_embed_inputs),
    output:
        frames=expand(frame_embeddings_path("{model}", "{filter}", "{codec}", "{fold}"), fold=DESED_FOLDS,
                      allow_missing=True),
    log:
        "results/logs/embed_frames/{model}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/embed_frames/{model}/{filter}/{codec}.tsv"
    wildcard_constraints:
        # Audio conditions only: quantised frames come from quantize_frame_embeddings.
        codec="|".join([UNCODED, *coded_conditions(SED.get("codecs", []))]),
    params:
        folds=DESED_FOLDS,
        model=lambda wildcards: model_params(wildcards.model),
        cache_dir="resources/models",
    threads: threads_for("embed", 2)
    resources:
        mem_mb=lambda wildcards: model_resource(wildcards.model, "mem_mb", 4000),
        runtime=lambda wildcards: model_resource(wildcards.model, "runtime", 60),
        gpu=lambda wildcards: model_resource(wildcards.model, "gpu", 0),
        gpu_model=lambda wildcards: model_resource(wildcards.model, "gpu_model", ""),
    conda:
        ENV
    script:
        "../scripts/embed_frames.py"
