# Embed: one job per (model, condition) over every fold (one table per fold): the model is loaded
# once per job and fed in batches, and a job's start-up is paid once for all its clips.


include: "embed_functions.smk"


# One embed rule per clip-level data set, for its own folds: ESC-50's clips (rule `embed`) and each
# multi-label task's items (`embed_<task>`).
for dataset, dataset_folds in CLIP_DATASETS.items():

    rule:
        name:
            "embed" if dataset == "esc50" else f"embed_{dataset}"
        input:
            unpack(partial(embed_inputs, dataset=dataset)),
        output:
            embeddings=expand(embeddings_path("{model}", "{filter}", "{codec}", "{fold}", dataset), fold=dataset_folds,
                              allow_missing=True),
        log:
            f"results/logs/embed/{dataset}/{{model}}/{{filter}}/{{codec}}.log",
        benchmark:
            f"results/benchmarks/embed/{dataset}/{{model}}/{{filter}}/{{codec}}.tsv"
        wildcard_constraints:
            # Audio conditions only: a feature condition's embeddings come from quantize_embeddings.
            codec="|".join([UNCODED, *clip_coded_conditions(dataset)]),
        params:
            folds=dataset_folds,
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


# One frame-embedding rule per soundscape data set: the SED test set (rule `embed_frames`) and, for
# the cross-corpus protocol, the soundscapes synthesised from ESC-50 (`embed_frames_esc50_soundscapes`).
for dataset, dataset_folds in FRAME_DATASETS.items():

    rule:
        name:
            "embed_frames" if dataset == "desed" else f"embed_frames_{dataset}"
        input:
            unpack(partial(frame_embed_inputs, dataset=dataset)),
        output:
            frames=expand(frame_embeddings_path("{model}", "{filter}", "{codec}", "{fold}", dataset), fold=dataset_folds,
                          allow_missing=True),
        log:
            f"results/logs/embed_frames/{dataset}/{{model}}/{{filter}}/{{codec}}.log",
        benchmark:
            f"results/benchmarks/embed_frames/{dataset}/{{model}}/{{filter}}/{{codec}}.tsv"
        wildcard_constraints:
            # Audio conditions only: quantised frames come from quantize_frame_embeddings.
            codec="|".join([UNCODED, *coded_conditions(SED.get("codecs", []))]),
        params:
            folds=dataset_folds,
            model=lambda wildcards: model_params(wildcards.model),
            cache_dir="resources/models",
            # sed.frame_shifts: finer frames from shifted passes (changing it reruns only this model's frames).
            shifts=lambda wildcards: SED.get("frame_shifts", {}).get(wildcards.model, 1),
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
