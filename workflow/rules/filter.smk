# Filter: one job per (filter, rate, fold): every clip of the fold filtered before coding or
# embedding, at the rate of the stage that consumes it, as playable FLAC plus a manifest.


include: "filter_functions.smk"


rule filter_fold:
    input:
        unpack(filter_inputs),
    output:
        manifest=audio_paths("{dataset}", "{filter}", UNCODED, "{rate}", "{fold}")[0],
        audio=audio_output(audio_paths("{dataset}", "{filter}", UNCODED, "{rate}", "{fold}")[1]),
    log:
        "results/logs/filter_fold/{dataset}/{filter}/sr{rate}/fold{fold}.log",
    benchmark:
        "results/benchmarks/filter_fold/{dataset}/{filter}/sr{rate}/fold{fold}.tsv"
    params:
        # The filter's whole config entry: changing it reruns this filter's jobs and no others.
        filter=lambda wildcards: filter_params(wildcards.filter),
        model_name=lambda wildcards: filter_model(filter_params(wildcards.filter)),
        model=lambda wildcards: (name := filter_model(filter_params(wildcards.filter))) and model_params(name),
        search=lambda wildcards: SEARCH_SETTINGS if uses_masks(filter_params(wildcards.filter)) else None,
        cache_dir="resources/models",
    threads: threads_for("filter")
    resources:
        mem_mb=3000,
        runtime=60,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/filter_fold.py"
