# SED: per (protocol, model, training condition, tested condition), frame heads, event lists, frame
# scores and metrics per test fold; then the per-fold table and summary.


include: "sed_functions.smk"


# One detect rule per protocol (sed.protocols): `detect_events` cross-validates over the folds of the
# DESED-format set; `detect_events_cross_corpus` trains on the soundscapes synthesised from ESC-50 and
# tests on the DESED copy (its outputs under results/desed/cross_corpus/).
for protocol in SED_PROTOCOLS:
    detect_rule = "detect_events" if protocol == "cross_validation" else f"detect_events_{protocol}"

    rule:
        name:
            detect_rule
        input:
            unpack(partial(detect_inputs, protocol=protocol)),
        output:
            events=sed_path("events", protocol, "{model}", "{train_condition}", "{filter}", "{codec}", ".tsv"),
            # Per-clip frame scores in sed_scores_eval's format (<audio id>.tsv): external tools score them too.
            scores=directory(sed_path("scores", protocol, "{model}", "{train_condition}", "{filter}", "{codec}")),
            metrics=sed_path("metrics", protocol, "{model}", "{train_condition}", "{filter}", "{codec}", ".parquet"),
        log:
            f"results/logs/{detect_rule}/{{model}}/{{train_condition}}/{{filter}}/{{codec}}.log",
        benchmark:
            f"results/benchmarks/{detect_rule}/{{model}}/{{train_condition}}/{{filter}}/{{codec}}.tsv"
        params:
            protocol=protocol,
            folds=DESED_FOLDS,
            train_folds=sed_training_folds(protocol),
            # The classes the head learns and the metrics score: cross_corpus scores only the ESC-50
            # class map's labels (the test corpus's other classes are left out, and the table says so).
            classes=SED_CLASSES if protocol == "cross_validation" else SYNTHETIC_CLASSES,
            # config.yaml holds every sed key (overlays only change them): no second set of defaults here.
            head=SED["head"],
            thresholds=SED["thresholds"],
            median_filter_s=SED["median_filter_s"],
            tune_decoding=SED["tune_decoding"],
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
