# Evaluate: per-fold classifiers (each trained on the other folds) fit once per training condition and
# scoring every condition trained on it (one job per model and classifier for the clean protocol, one
# per tested condition for the matched one), then the per-fold table and summary.


include: "evaluate_functions.smk"


rule classify_reference:
    input:
        unpack(classify_inputs),
    output:
        predictions=scored_outputs(predictions_path, REFERENCE_SCORED),
        metrics=scored_outputs(metrics_path, REFERENCE_SCORED),
    log:
        "results/logs/classify_reference/{model}/{classifier}.log",
    benchmark:
        "results/benchmarks/classify_reference/{model}/{classifier}.tsv"
    params:
        folds=FOLDS,
        scored=lambda wildcards: scored_by(wildcards),
        classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
        seed=config["evaluation"]["seed"],
        nominal_kbps=lambda wildcards: [condition_nominal_kbps(codec, wildcards.model) for _, _, codec in REFERENCE_SCORED],
    threads: threads_for("classify", 2)
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/classify.py"


rule classify_matched:
    input:
        unpack(classify_inputs),
    output:
        # Lists, as classify_reference's: the script writes the i-th scored condition's tables.
        predictions=[predictions_path("{model}", "{classifier}", "matched", "{filter}", "{codec}")],
        metrics=[metrics_path("{model}", "{classifier}", "matched", "{filter}", "{codec}")],
    log:
        "results/logs/classify_matched/{model}/{classifier}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/classify_matched/{model}/{classifier}/{filter}/{codec}.tsv"
    params:
        folds=FOLDS,
        scored=lambda wildcards: scored_by(wildcards),
        classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
        seed=config["evaluation"]["seed"],
        nominal_kbps=lambda wildcards: [condition_nominal_kbps(wildcards.codec, wildcards.model)],
    threads: threads_for("classify", 2)
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/classify.py"


# The reference condition's classifiers and its matched-protocol scores come from classify_reference.
ruleorder: classify_reference > classify_matched


rule summarize_esc50:
    input:
        **summary_inputs(),
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
        paired_tests=report(
            "results/esc50_paired_tests.csv",
            caption="../report/paired_tests.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/summarize_esc50.log",
    benchmark:
        "results/benchmarks/summarize_esc50.tsv"
    params:
        conditions=SUMMARY_CONDITIONS,
        # Not paired by nominal rate: a feature condition's number is its budget, not kbps.
        feature_codecs=config["evaluation"].get("feature_codecs", []),
        bootstrap=config["evaluation"]["bootstrap"],
        seed=config["evaluation"]["seed"],
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
