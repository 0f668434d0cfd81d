# Evaluate: per-fold classification (train on the other folds), then the per-fold table and summary.


include: "evaluate_functions.smk"


rule classify:
    input:
        unpack(classify_inputs),
    output:
        predictions=predictions_path("{model}", "{classifier}", "{train_condition}", "{filter}", "{codec}"),
        metrics=metrics_path("{model}", "{classifier}", "{train_condition}", "{filter}", "{codec}"),
    log:
        "results/logs/classify/{model}/{classifier}/{train_condition}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/classify/{model}/{classifier}/{train_condition}/{filter}/{codec}.tsv"
    params:
        folds=FOLDS,
        classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
        seed=config["evaluation"]["seed"],
        nominal_kbps=lambda wildcards: condition_nominal_kbps(wildcards.codec, wildcards.model),
    threads: threads_for("classify", 2)
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/classify.py"


rule summarize_esc50:
    input:
        metrics=summary_inputs(),
    output:
        per_fold=report(
            "results/esc50_per_fold.csv",
            caption="../report/per_fold.rst",
            category="ESC-50",
        ),
        summary=report(
            "results/esc50_summary.csv",
            caption="../report/summary.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/summarize_esc50.log",
    params:
        n_conditions=len(summary_inputs()),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/summarize_esc50.py"


localrules:
    summarize_esc50,
