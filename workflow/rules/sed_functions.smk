# SED: the input functions and settings of the rules in sed.smk.


SED_CODED = coded_conditions(SED.get("codecs", []))
# Frame embeddings quantised per frame (SED_FEATURE_CONDITIONS, features.smk), unfiltered.
SED_CONDITIONS = [(filter, codec) for filter in [UNCODED, *SED.get("filters", [])] for codec in [UNCODED, *SED_CODED]]
SED_CONDITIONS += [(UNCODED, codec) for codec in SED_FEATURE_CONDITIONS]


def detect_inputs(wildcards):
    """Every fold's frame embeddings under the tested condition and the training condition (clean:
    uncoded; matched: the tested one), the audio manifests (actual kbps), the soundscape manifest
    and the strong labels; for a feature condition its per-clip rates instead of an audio manifest."""
    model, filter, codec = wildcards.model, wildcards.filter, wildcards.codec
    train_filter, train_codec = train_condition_of(wildcards)
    rate = model_rate(model)
    return {
        **{f"test{fold}": frame_embeddings_path(model, filter, codec, fold) for fold in DESED_FOLDS},
        **{f"train{fold}": frame_embeddings_path(model, train_filter, train_codec, fold) for fold in DESED_FOLDS},
        **{
            f"audio{fold}": (
                frame_feature_rates_path(model, codec, fold)
                if codec in SED_FEATURE_CONDITIONS
                else audio_paths("desed", filter, codec, rate, fold)[0]
            )
            for fold in DESED_FOLDS
        },
        "manifest": manifest_path("desed"),
        "labels": DESED_LABELS,
    }


def sed_summary_inputs():
    return [
        sed_metrics_path(model, train, filter, codec)
        for model in SED_MODELS
        for train in SED.get("train_conditions", ["clean"])
        for filter, codec in SED_CONDITIONS
    ]
