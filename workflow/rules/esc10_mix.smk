# esc10_mix: two-source ESC-10 mixtures (plus every single clip) go through the shared resample,
# filter, codec and embed stages; per fold, one-vs-rest heads and a source counter fit on the other
# folds score each condition; then the per-fold table, summary and rate-mAP plots.


include: "esc10_mix_functions.smk"


rule mix_esc10:
    input:
        manifest=manifest_path("esc50"),
    output:
        manifest=manifest_path("esc10_mix"),
        audio=directory("results/esc10_mix/mixed"),
    params:
        mix=config["datasets"]["esc10_mix"],
    log:
        "results/logs/mix_esc10.log",
    benchmark:
        "results/benchmarks/mix_esc10.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/mix_esc10.py"


rule classify_multilabel_reference:
    input:
        unpack(mix_classify_inputs),
    output:
        predictions=[multilabel_path("predictions", "{model}", "{classifier}", *c) for c in MIX_REFERENCE_SCORED],
        metrics=[multilabel_path("metrics", "{model}", "{classifier}", *c) for c in MIX_REFERENCE_SCORED],
    log:
        "results/logs/classify_multilabel_reference/{model}/{classifier}.log",
    benchmark:
        "results/benchmarks/classify_multilabel_reference/{model}/{classifier}.tsv"
    params:
        folds=FOLDS,
        scored=lambda wildcards: mix_scored_by(wildcards),
        classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
        seed=MIX.get("seed", 0),
        nominal_kbps=mix_nominal_kbps,
    threads: threads_for("classify", 2)
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/classify_multilabel.py"


rule classify_multilabel_matched:
    input:
        unpack(mix_classify_inputs),
    output:
        predictions=[multilabel_path("predictions", "{model}", "{classifier}", "matched", "{filter}", "{codec}")],
        metrics=[multilabel_path("metrics", "{model}", "{classifier}", "matched", "{filter}", "{codec}")],
    log:
        "results/logs/classify_multilabel_matched/{model}/{classifier}/{filter}/{codec}.log",
    benchmark:
        "results/benchmarks/classify_multilabel_matched/{model}/{classifier}/{filter}/{codec}.tsv"
    params:
        folds=FOLDS,
        scored=lambda wildcards: mix_scored_by(wildcards),
        classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
        seed=MIX.get("seed", 0),
        nominal_kbps=mix_nominal_kbps,
    threads: threads_for("classify", 2)
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/classify_multilabel.py"


ruleorder: classify_multilabel_reference > classify_multilabel_matched


rule summarize_esc10_mix:
    input:
        metrics=[multilabel_path("metrics", *condition) for condition in MIX_SUMMARY_CONDITIONS],
    output:
        per_fold=report(
            "results/esc10_mix_per_fold.csv",
            caption="../report/esc10_mix_per_fold.rst",
            category="ESC-10 mixtures",
        ),
        summary=report(
            "results/esc10_mix_summary.csv",
            caption="../report/esc10_mix_summary.rst",
            category="ESC-10 mixtures",
        ),
        plots=[
            report(
                f"results/plots/esc10_mix_rate_map/{model}_{classifier}_{train}.png",
                caption="../report/esc10_mix_rate_map.rst",
                category="ESC-10 mixtures",
                labels={"model": model, "classifier": classifier, "protocol": train},
            )
            for model, classifier, train in MIX_PLOTS
        ],
    log:
        "results/logs/summarize_esc10_mix.log",
    benchmark:
        "results/benchmarks/summarize_esc10_mix.tsv"
    params:
        plots=MIX_PLOTS,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/summarize_multilabel.py"


localrules:
    summarize_esc10_mix,
