# Filter: the input functions and settings of the rules in filter.smk.


def filter_params(name):
    return config["filters"][name]


def filter_inputs(wildcards):
    """Unfiltered clips at the consumer's rate, plus the model files (saliency), the fold's best
    masks (oracle_roi) or the fold's mask predictor (score: predicted) the filter needs."""
    manifest, audio = audio_paths(wildcards.dataset, UNCODED, UNCODED, wildcards.rate, wildcards.fold)
    inputs = {"manifest": manifest, "audio": audio}
    params = filter_params(wildcards.filter)
    model = filter_model(params)
    if uses_masks(params):
        inputs["masks"] = masks_path(model, wildcards.fold)
    elif model is not None:
        inputs.update(model_files(model))
    if filter_predictor(params):
        inputs["predictor"] = mask_predictor_path(filter_predictor(params), wildcards.fold)
    return inputs
