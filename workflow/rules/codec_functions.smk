# Codec: the input functions and settings of the rules in codec.smk.


def codec_params(coded):
    """The codecs.<name> entry behind a coded condition such as opus_12."""
    return config["codecs"][parse_condition(coded)[0]]


def codec_files(name):
    """Checkpoints codec `name` downloads because their key is null (rule download_codec_weights)."""
    return {key: f"resources/codecs/{name}/{download.filename}" for key, download in codec_downloads(config["codecs"][name]).items()}


def uncoded_inputs(dataset, filter, name, fold):
    """The not yet coded clips of a fold at codec `name`'s rate, under `filter`, and the codec's files."""
    manifest, audio = audio_paths(dataset, filter, UNCODED, codec_sample_rate(config["codecs"][name]), fold)
    return {"manifest": manifest, "audio": audio, **codec_files(name)}


def code_inputs(wildcards):
    name = parse_condition(wildcards.codec)[0]
    inputs = uncoded_inputs(wildcards.dataset, wildcards.filter, name, wildcards.fold)
    if CODECS[config["codecs"][name]["type"]].encode_full:
        # Every bitrate is derived from one encoding at the highest (EnCodec's residual codebooks).
        inputs["full_codes"] = full_codes_path(wildcards.dataset, wildcards.filter, name, wildcards.fold)
    return inputs


def encode_inputs(wildcards):
    return uncoded_inputs(wildcards.dataset, wildcards.filter, wildcards.encoder, wildcards.fold)


def coded_manifests():
    """(filter, manifest path) of every coded ESC-50 fold: the inputs of the rate-distortion table."""
    return [
        (filter, audio_paths("esc50", filter, codec, None, fold)[0])
        for filter, codec in CONDITIONS
        if codec != UNCODED and codec not in FEATURE_CONDITIONS
        for fold in FOLDS
    ]
