# Feature coding: the conditions, paths and settings of the rules in features.smk.


FEATURE_ENTRIES = config.get("feature_codecs") or {}
# The SED branch's feature conditions: frame embeddings quantised frame by frame.
SED_FEATURE_CONDITIONS = [
    condition_name(name, budget) for name in SED.get("feature_codecs", []) for budget in FEATURE_ENTRIES[name]["budgets"]
]


def is_feature_condition(codec):
    return codec in FEATURE_CONDITIONS


def feature_params(codec):
    """(feature_codecs entry, budget) of a feature condition."""
    name, budget = parse_condition(codec)
    return FEATURE_ENTRIES[name], int(budget)


def feature_rates_path(model, codec, fold):
    """Bits and actual kbps of each clip's codes under a feature condition (per model: the dimension differs)."""
    return f"results/esc50/feature_rates/{model}/{codec}/fold{fold}.parquet"


def feature_codebook_path(model, codec, fold):
    """What the quantiser for test fold `fold` learned from the other folds (ranges or codebooks)."""
    return f"results/esc50/feature_codebooks/{model}/{codec}/fold{fold}.npz"


def frame_feature_rates_path(model, codec, fold):
    """Bits and actual kbps of each soundscape's frame codes under a feature condition."""
    return f"results/desed/feature_rates/{model}/{codec}/fold{fold}.parquet"


def frame_feature_codebook_path(model, codec, fold):
    return f"results/desed/feature_codebooks/{model}/{codec}/fold{fold}.npz"


def quantize_frame_inputs(wildcards):
    """The clean frame embeddings of every DESED fold and the soundscape manifest (durations)."""
    return {
        "manifest": manifest_path("desed"),
        **{f"clean{fold}": frame_embeddings_path(wildcards.model, *REFERENCE_CONDITION, fold) for fold in DESED_FOLDS},
    }


def quantize_inputs(wildcards):
    """The clean embeddings of every fold (codebooks for fold k are fit on the others) and the
    manifest (clip durations)."""
    return {
        "manifest": manifest_path("esc50"),
        **{f"clean{fold}": embeddings_path(wildcards.model, *REFERENCE_CONDITION, fold) for fold in FOLDS},
    }
