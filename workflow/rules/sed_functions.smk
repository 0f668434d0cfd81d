# SED: the input functions and settings of the rules in sed.smk.


SED_CODED = coded_conditions(SED.get("codecs", []))
# Frame embeddings quantised per frame (SED_FEATURE_CONDITIONS, features.smk), unfiltered.
SED_CONDITIONS = [(filter, codec) for filter in [UNCODED, *SED.get("filters", [])] for codec in [UNCODED, *SED_CODED]]
SED_CONDITIONS += [(UNCODED, codec) for codec in SED_FEATURE_CONDITIONS]


# The cross-corpus protocol tests audio conditions only: a feature condition's codebooks are fit on
# the DESED set's own folds.
SED_AUDIO_CONDITIONS = [(filter, codec) for filter, codec in SED_CONDITIONS if codec not in SED_FEATURE_CONDITIONS]


def sed_training_folds(protocol):
    """The folds a protocol's heads train on: the other DESED folds (cross_validation; the script
    leaves the test fold out), or the synthesised soundscapes' (cross_corpus)."""
    return DESED_FOLDS if protocol == "cross_validation" else CROSS_CORPUS_FOLDS


def detect_inputs(wildcards, protocol):
    """Every test fold's frame embeddings under the tested condition and the training folds' under the
    training condition (clean: uncoded; matched: the tested one; cross_corpus: of the soundscapes
    synthesised from ESC-50, with their manifest and labels), the test set's audio manifests (actual
    kbps), soundscape manifest and strong labels; for a feature condition its per-clip rates instead
    of an audio manifest."""
    model, filter, codec = wildcards.model, wildcards.filter, wildcards.codec
    train_filter, train_codec = train_condition_of(wildcards)
    train_dataset = "desed" if protocol == "cross_validation" else SOUNDSCAPES
    rate = model_rate(model)
    inputs = {
        **{f"test{fold}": frame_embeddings_path(model, filter, codec, fold) for fold in DESED_FOLDS},
        **{
            f"train{fold}": frame_embeddings_path(model, train_filter, train_codec, fold, train_dataset)
            for fold in sed_training_folds(protocol)
        },
        **{
            f"audio{fold}": (
                frame_feature_rates_path(model, codec, fold)
                if codec in SED_FEATURE_CONDITIONS
                else audio_paths("desed", filter, codec, rate, fold)[0]
            )
            for fold in DESED_FOLDS
        },
        "manifest": manifest_path("desed"),
        "labels": sed_labels_path("desed"),
    }
    if protocol == "cross_corpus":
        inputs.update(train_manifest=manifest_path(SOUNDSCAPES), train_labels=sed_labels_path(SOUNDSCAPES))
    return inputs


def sed_summary_inputs():
    return [
        sed_path("metrics", protocol, model, train, filter, codec, ".parquet")
        for protocol in SED_PROTOCOLS
        for model in SED_MODELS
        for train in SED.get("train_conditions", ["clean"])
        for filter, codec in (SED_CONDITIONS if protocol == "cross_validation" else SED_AUDIO_CONDITIONS)
    ]
