# SED: per (model, training condition, tested condition), a frame head per fold trained on the other
# folds, event lists and sed_eval metrics; then the per-fold table and summary.


include: "sed_functions.smk"


rule detect_events:
    input:
        unpack(detect_inputs),
    output:
        events="results/desed/events/{model}/{train_condition}/{filter}/{codec}.tsv",
        # Per-clip frame scores in sed_scores_eval's format (<audio id>.tsv): external tools score them too.
        scores=directory("results/desed/scores/{model}/{train_condition}/{filter}/{codec}"),
        metrics=sed_metrics_path("{model}", "{train_condition}", "{filter}", "{codec}"),
    log:
        "results/logs/detect_events/{model}/{train_condition}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/detect_events/{model}/{train_condition}/{filter}/{codec}.tsv"
    params:
        folds=DESED_FOLDS,
        classes=SED_CLASSES,
        # config.yaml holds every sed key (overlays only change them): no second set of defaults here.
        head=SED["head"],
        thresholds=SED["thresholds"],
        median_filter_s=SED["median_filter_s"],
        min_hop_s=SED["min_hop_s"],
        scoring={key: SED[key] for key in ("segment_seconds", "t_collar", "percentage_of_length")},
        seed=SED["seed"],
        nominal_kbps=lambda wildcards: condition_nominal_kbps(wildcards.codec, wildcards.model),
    threads: threads_for("detect", 2)
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/detect_events.py"


rule summarize_desed:
    input:
        metrics=sed_summary_inputs(),
    output:
        per_fold=report(
            "results/desed_per_fold.csv",
            caption="../report/desed_per_fold.rst",
            category="SED",
        ),
        summary=report(
            "results/desed_summary.csv",
            caption="../report/desed_summary.rst",
            category="SED",
        ),
    log:
        "results/logs/summarize_desed.log",
    benchmark:
        "results/benchmarks/summarize_desed.tsv"
    params:
        n_conditions=len(sed_summary_inputs()),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/summarize_desed.py"


localrules:
    summarize_desed,
