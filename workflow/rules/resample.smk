# Resample: every clip of a fold to one sample rate, as playable FLAC plus a per-fold manifest.


rule resample_fold:
    input:
        manifest=manifest_path("{dataset}"),
    output:
        manifest=audio_paths("{dataset}", UNCODED, UNCODED, "{rate}", "{fold}")[0],
        audio=audio_output(audio_paths("{dataset}", UNCODED, UNCODED, "{rate}", "{fold}")[1]),
    log:
        "results/logs/resample_fold/{dataset}/sr{rate}/fold{fold}.log",
    benchmark:
        "results/benchmarks/resample_fold/{dataset}/sr{rate}/fold{fold}.tsv"
    params:
        rate=lambda wildcards: int(wildcards.rate),
        fold=lambda wildcards: int(wildcards.fold),
    threads: threads_for("resample")
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/resample_fold.py"
