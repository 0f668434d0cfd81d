# Evaluate: the input functions and settings of the rules in evaluate.smk.


def classify_inputs(wildcards):
    """Every fold's embeddings under the tested condition and the training condition, and the audio
    manifests of the tested condition (their actual kbps)."""
    model, filter, codec = wildcards.model, wildcards.filter, wildcards.codec
    train_filter, train_codec = train_condition_of(wildcards)
    rate = model_rate(model)
    return {
        **{f"test{fold}": embeddings_path(model, filter, codec, fold) for fold in FOLDS},
        **{f"train{fold}": embeddings_path(model, train_filter, train_codec, fold) for fold in FOLDS},
        **{f"audio{fold}": audio_paths("esc50", filter, codec, rate, fold)[0] for fold in FOLDS},
    }


def summary_inputs():
    return [
        metrics_path(model, classifier, train, filter, codec)
        for model in MODELS
        for classifier in CLASSIFIERS
        for train in TRAIN_CONDITIONS
        for filter, codec in CONDITIONS
    ]
