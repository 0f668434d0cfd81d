# Masks: the best-mask search per (model, fold), what coding the searched masks costs, and the ROI summary.


include: "masks_functions.smk"


rule search_masks:
    input:
        unpack(search_inputs),
    output:
        masks=masks_path("{model}", "{fold}"),
    log:
        "results/logs/search_masks/{model}/fold{fold}.log",
    benchmark:
        "results/benchmarks/search_masks/{model}/fold{fold}.tsv"
    params:
        model=lambda wildcards: model_params(wildcards.model),
        search=SEARCH_SETTINGS,
        classifier=lambda wildcards: config["classifiers"][SEARCH.get("classifier", "logreg")],
        seed=config["evaluation"]["seed"],
        cache_dir="resources/models",
    threads: threads_for("search", 2)
    resources:
        mem_mb=6000,
        runtime=480,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/search_masks.py"


rule code_masks:
    input:
        unpack(masked_rate_inputs),
    output:
        rates=masked_rates_path("{model}", "{codec}", "{fold}"),
    log:
        "results/logs/code_masks/{model}/{codec}/fold{fold}.log",
    benchmark:
        "results/benchmarks/code_masks/{model}/{codec}/fold{fold}.tsv"
    params:
        codec=lambda wildcards: codec_params(wildcards.codec),
        nominal_kbps=lambda wildcards: parse_condition(wildcards.codec)[1],
        search=SEARCH_SETTINGS,
        cache_dir="resources/codecs",
    threads: threads_for("code")
    resources:
        mem_mb=3000,
        runtime=120,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/code_masks.py"


rule train_mask_predictor:
    input:
        unpack(predictor_train_inputs),
    output:
        predictor=mask_predictor_path("{model}", "{fold}"),
    log:
        "results/logs/train_mask_predictor/{model}/fold{fold}.log",
    benchmark:
        "results/benchmarks/train_mask_predictor/{model}/fold{fold}.tsv"
    params:
        settings=PREDICTOR_SETTINGS,
        search=SEARCH_SETTINGS,
    threads: threads_for("predictor", 1)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/train_mask_predictor.py"


rule score_mask_predictor:
    input:
        unpack(predictor_quality_inputs),
    output:
        quality=mask_predictor_quality_path("{model}", "{fold}"),
    log:
        "results/logs/score_mask_predictor/{model}/fold{fold}.log",
    benchmark:
        "results/benchmarks/score_mask_predictor/{model}/fold{fold}.tsv"
    params:
        model=lambda wildcards: model_params(wildcards.model),
        search=SEARCH_SETTINGS,
        classifier=lambda wildcards: config["classifiers"][SEARCH.get("classifier", "logreg")],
        seed=config["evaluation"]["seed"],
        cache_dir="resources/models",
    threads: threads_for("search", 2)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/score_mask_predictor.py"


rule mask_predictor_summary:
    input:
        quality=[mask_predictor_quality_path(model, fold) for model in PREDICTOR_MODELS for fold in FOLDS],
    output:
        summary=report(
            "results/esc50_mask_predictor.csv",
            caption="../report/mask_predictor.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/mask_predictor_summary.log",
    params:
        models=PREDICTOR_MODELS,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/mask_predictor_summary.py"


rule roi_summary:
    input:
        **roi_summary_inputs(),
    output:
        summary=report(
            "results/esc50_roi_summary.csv",
            caption="../report/roi_summary.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/roi_summary.log",
    params:
        models=MASK_MODELS,
        codecs=ROI_CODECS,
        folds=MASK_FOLDS,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/roi_summary.py"


localrules:
    roi_summary,
    mask_predictor_summary,
