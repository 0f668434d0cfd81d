# Masks: the input functions and settings of the rules in masks.smk.


SEARCH = config["mask_search"]
MASK_MODELS = SEARCH.get("models", [])
MASK_FOLDS = sorted(SEARCH.get("folds") or FOLDS)
SEARCH_RATE = SEARCH.get("sample_rate", 16000)
ROI_CODECS = SEARCH["codecs"]
# The settings masks depend on (grids, percentages, classifier...), not which models and folds are
# searched: params built from them rerun searches and oracle filters only when a mask would change.
SEARCH_SETTINGS = {key: value for key, value in SEARCH.items() if key not in ("models", "folds", "codecs")}


def search_inputs(wildcards):
    """The fold's clips at the search rate, the clean embeddings of every other fold (to train the
    fold's classifier) and the model's files."""
    train = {
        f"train{fold}": embeddings_path(wildcards.model, *REFERENCE_CONDITION, fold)
        for fold in FOLDS
        if fold != int(wildcards.fold)
    }
    manifest, audio = audio_paths("esc50", UNCODED, UNCODED, SEARCH_RATE, wildcards.fold)
    return {"manifest": manifest, "audio": audio, **train, **model_file_inputs(wildcards)}


PREDICTOR = config.get("mask_predictor", {})
# Scored on held-out folds: the listed models whose masks are searched (no search, no table).
PREDICTOR_MODELS = [model for model in PREDICTOR.get("models", []) if model in MASK_MODELS]
# What training reads (architecture, epochs, seed): listing another model does not retrain.
PREDICTOR_SETTINGS = {key: value for key, value in PREDICTOR.items() if key != "models"}


def predictor_train_inputs(wildcards):
    """The mask tables and clips (at the search rate) of every fold but the test fold: the
    predictor for test fold k never sees a clip or mask of fold k."""
    inputs = {}
    for fold in FOLDS:
        if fold == int(wildcards.fold):
            continue
        manifest, audio = audio_paths("esc50", UNCODED, UNCODED, SEARCH_RATE, fold)
        inputs.update({f"masks{fold}": masks_path(wildcards.model, fold), f"manifest{fold}": manifest, f"audio{fold}": audio})
    return inputs


def predictor_quality_inputs(wildcards):
    """The fold's predictor, its mask table (the oracle), its clips, and what the search scores with:
    the model and the clean embeddings of the other folds (the fold's classifier)."""
    return {"predictor": mask_predictor_path(wildcards.model, wildcards.fold), **search_inputs(wildcards),
            "masks": masks_path(wildcards.model, wildcards.fold)}


def masked_rate_inputs(wildcards):
    name = parse_condition(wildcards.codec)[0]
    return {"masks": masks_path(wildcards.model, wildcards.fold), **uncoded_inputs("esc50", UNCODED, name, wildcards.fold)}


def mask_predictor_quality_path(model, fold):
    return f"results/esc50/mask_predictor/{model}/quality_fold{fold}.parquet"


def roi_summary_inputs():
    return {
        "masks": [masks_path(model, fold) for model in MASK_MODELS for fold in MASK_FOLDS],
        "rates": [masked_rates_path(model, codec, fold) for model in MASK_MODELS for codec in ROI_CODECS for fold in MASK_FOLDS],
    }
