# Embed: one job per (model, condition, fold); the model is loaded once per job and fed in batches.


rule embed_fold:
    input:
        unpack(embed_inputs),
    output:
        embeddings="results/esc50/embeddings/{model}/{filter}/{codec}/fold{fold}.parquet",
    log:
        "results/logs/embed_fold/{model}/{filter}/{codec}/fold{fold}.log",
    benchmark:
        "results/benchmarks/embed_fold/{model}/{filter}/{codec}/fold{fold}.tsv"
    params:
        # The model's whole config entry: changing it reruns this model's jobs and no others.
        model=lambda wildcards: model_params(wildcards.model),
        cache_dir="resources/models",
    threads: threads_for("embed", 2)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/embed_fold.py"
