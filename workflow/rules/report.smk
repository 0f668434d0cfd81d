# Report: comparisons between conditions, plots, confusion matrices and the listening page, all
# derived from the tables of the evaluation stage.


include: "report_functions.smk"


rule compare_conditions:
    input:
        summary=rules.summarize_esc50.output.summary,
        predictions=summary_inputs()["predictions"],
    output:
        accuracy_drop=report(
            "results/esc50_accuracy_drop.csv",
            caption="../report/accuracy_drop.rst",
            category="ESC-50",
        ),
        delta_rate=report(
            "results/esc50_delta_rate.csv",
            caption="../report/delta_rate.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/compare_conditions.log",
    params:
        filters=FILTERS,
        # Codec families and feature codecs, each against the first codec.
        codec_families=config["evaluation"]["codecs"] + config["evaluation"].get("feature_codecs", []),
        filter_codecs=FILTER_CURVES,
        conditions=SUMMARY_CONDITIONS,
        bootstrap=config["evaluation"]["bootstrap"],
        seed=config["evaluation"]["seed"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/compare_conditions.py"


rule plot_results:
    input:
        unpack(plot_inputs),
    output:
        **plot_outputs(),
    log:
        "results/logs/plot_results.log",
    params:
        # (model, classifier, train_condition) of each rate-accuracy figure, named <model>_<classifier>_<train>_png.
        rate_accuracy=[key for key, stem in RATE_ACCURACY_PLOTS],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/plot_results.py"


rule plot_confusion:
    input:
        predictions=predictions_path("{model}", "{classifier}", "{train_condition}", "{filter}", "{codec}"),
        manifest=manifest_path("esc50"),
    output:
        png=report(
            confusion_plot("{model}", "{classifier}", "{train_condition}", "{filter}", "{codec}", "png"),
            caption="../report/confusion.rst",
            category="Plots",
            subcategory="confusion",
        ),
        svg=confusion_plot("{model}", "{classifier}", "{train_condition}", "{filter}", "{codec}", "svg"),
    log:
        "results/logs/plot_confusion/{model}/{classifier}/{train_condition}/{filter}/{codec}.log",
    params:
        stem=lambda wildcards, output: output.png[: -len(".png")],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/plot_confusion.py"


rule listen_page:
    input:
        unpack(listen_inputs),
    output:
        page_dir=directory("results/listen"),
    log:
        "results/logs/listen_page.log",
    params:
        listen=LISTEN,
        conditions=listen_conditions(),
        prediction_keys=LISTEN_PREDICTIONS,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/listen_page.py"


localrules:
    compare_conditions,
    plot_results,
    plot_confusion,
    listen_page,
