# Multi-label tasks: the input functions and settings of the rules in multilabel.smk, per task (the
# config section of the task's name: models, classifiers, codecs, filters, train_conditions, seed).


def multilabel_conditions(task):
    """(filter, codec) conditions a task's items are evaluated under: the reference, every coded
    condition, each filter uncoded and coded."""
    coded = coded_conditions(config[task].get("codecs", []))
    return [(filter, codec) for filter in [UNCODED, *config[task].get("filters", [])] for codec in [UNCODED, *coded]]


def multilabel_train_conditions(task):
    return config[task].get("train_conditions", ["clean"])


def multilabel_reference_scored(task):
    """What the heads fit on the reference condition score (as ESC-50's REFERENCE_SCORED): every
    condition under the clean protocol, and the reference itself under the matched one."""
    trains = multilabel_train_conditions(task)
    scored = [("clean", filter, codec) for filter, codec in multilabel_conditions(task) if "clean" in trains]
    return scored + ([("matched", *REFERENCE_CONDITION)] if "matched" in trains else [])


def multilabel_scored_by(wildcards, task):
    """(protocol, filter, codec) of each condition a job's heads score."""
    if getattr(wildcards, "filter", UNCODED) == UNCODED and getattr(wildcards, "codec", UNCODED) == UNCODED:
        return multilabel_reference_scored(task)
    return [("matched", wildcards.filter, wildcards.codec)]


def multilabel_classify_inputs(wildcards, task):
    return {
        **scored_embedding_inputs(task, wildcards, multilabel_scored_by(wildcards, task), TASK_FOLDS[task]),
        "manifest": manifest_path(task),
    }


def multilabel_nominal_kbps(wildcards, task):
    return [condition_nominal_kbps(codec, wildcards.model) for _, _, codec in multilabel_scored_by(wildcards, task)]


def multilabel_summary_conditions(task):
    """(model, classifier, train condition, filter, codec) of every evaluated condition of a task."""
    return [
        (model, classifier, train, filter, codec)
        for model in config[task]["models"]
        for classifier in config[task].get("classifiers", [])
        for train in multilabel_train_conditions(task)
        for filter, codec in multilabel_conditions(task)
    ]


def multilabel_plots(task):
    """(model, classifier, train condition) of each of a task's rate-mAP figures."""
    return list(dict.fromkeys((model, classifier, train) for model, classifier, train, _, _ in
                              multilabel_summary_conditions(task)))


def multilabel_plot_path(task, model, classifier, train):
    return f"results/plots/{task}_rate_map/{model}_{classifier}_{train}.png"


def multilabel_level_edges(task, n_bins=3):
    """Edges of the level-difference bins of the source-recall table: the level range of a task whose
    data are mixtures (datasets.<task>.level_db) in `n_bins` equal bins, else one empty bin."""
    if "level_db" not in config["datasets"].get(task, {}):
        return [0.0, 0.0]
    low, high = config["datasets"][task]["level_db"]
    return [low + (high - low) * i / n_bins for i in range(n_bins + 1)]
