# Evaluate: the input functions and settings of the rules in evaluate.smk.

# What the classifiers fit on the reference (unprocessed) condition score: every condition under the
# clean protocol, and the reference itself under the matched one (there both protocols train alike).
REFERENCE_SCORED = [("clean", filter, codec) for filter, codec in CONDITIONS if "clean" in TRAIN_CONDITIONS]
REFERENCE_SCORED += [("matched", *REFERENCE_CONDITION)] if "matched" in TRAIN_CONDITIONS else []


def scored_by(wildcards):
    """(protocol, filter, codec) of each condition the job's classifiers score."""
    if getattr(wildcards, "filter", UNCODED) == UNCODED and getattr(wildcards, "codec", UNCODED) == UNCODED:
        return REFERENCE_SCORED
    return [("matched", wildcards.filter, wildcards.codec)]


def classify_inputs(wildcards):
    return scored_embedding_inputs("esc50", wildcards, scored_by(wildcards), FOLDS)


def scored_embedding_inputs(dataset, wildcards, scored, folds):
    """Every fold's embeddings of `dataset` under the training condition of the job (train<fold>:
    the reference for the reference job, else its filter and codec) and under each scored condition
    (test<i>_<fold>), and the scored conditions' audio manifests or, for a feature condition, its
    per-clip rates (their actual kbps)."""
    model = wildcards.model
    train_filter, train_codec = getattr(wildcards, "filter", UNCODED), getattr(wildcards, "codec", UNCODED)
    inputs = {f"train{fold}": embeddings_path(model, train_filter, train_codec, fold, dataset) for fold in folds}
    for i, (protocol, filter, codec) in enumerate(scored):
        for fold in folds:
            inputs[f"test{i}_{fold}"] = embeddings_path(model, filter, codec, fold, dataset)
            inputs[f"audio{i}_{fold}"] = (
                feature_rates_path(model, codec, fold)
                if is_feature_condition(codec)
                else audio_paths(dataset, filter, codec, model_rate(model), fold)[0]
            )
    return inputs


def scored_outputs(path, protocols_filters_codecs):
    """`path` (predictions_path or metrics_path) of each scored condition, model and classifier wildcards kept."""
    return [path("{model}", "{classifier}", *condition) for condition in protocols_filters_codecs]


# (model, classifier, train condition, filter, codec) of every evaluated condition, in the summary's input order.
SUMMARY_CONDITIONS = [
    (model, classifier, train, filter, codec)
    for model in MODELS
    for classifier in CLASSIFIERS
    for train in TRAIN_CONDITIONS
    for filter, codec in CONDITIONS
]


def summary_inputs():
    """The per-fold metrics and the per-clip predictions of every evaluated condition."""
    return {
        "metrics": [metrics_path(*condition) for condition in SUMMARY_CONDITIONS],
        "predictions": [predictions_path(*condition) for condition in SUMMARY_CONDITIONS],
    }
