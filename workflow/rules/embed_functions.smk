# Embed: the input functions and settings of the rules in embed.smk.


def fold_audio_inputs(dataset, folds, wildcards):
    """Every fold's manifest and audio folder of one condition, at the model's rate (uncoded) or the
    codec's (coded; the job resamples), and the model's files."""
    rate = model_rate(wildcards.model)
    inputs = {}
    for fold in folds:
        inputs[f"manifest{fold}"], inputs[f"audio{fold}"] = audio_paths(dataset, wildcards.filter, wildcards.codec, rate, fold)
    return {**inputs, **model_file_inputs(wildcards)}


# Clip-level data sets (their items embedded whole) and their folds.
CLIP_DATASETS = {"esc50": FOLDS, **{task: TASK_FOLDS[task] for task in MULTILABEL_TASKS}}


def embed_inputs(wildcards, dataset):
    return fold_audio_inputs(dataset, CLIP_DATASETS[dataset], wildcards)


def clip_coded_conditions(dataset):
    """The coded conditions a clip-level data set is embedded under."""
    return CODED if dataset == "esc50" else coded_conditions(config[dataset].get("codecs", []))


def frame_embed_inputs(wildcards, dataset):
    return fold_audio_inputs(dataset, FRAME_DATASETS[dataset], wildcards)


def model_resource(name, key, default):
    """What an embedding job of model `name` asks a scheduler for (models.<name>.resources)."""
    return model_params(name).get("resources", {}).get(key, default)
