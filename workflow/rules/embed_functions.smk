# Embed: the input functions and settings of the rules in embed.smk.


def embed_inputs(wildcards):
    manifest, audio = audio_paths("esc50", wildcards.filter, wildcards.codec, model_rate(wildcards.model), wildcards.fold)
    return {"manifest": manifest, "audio": audio, **model_file_inputs(wildcards)}


def frame_embed_inputs(wildcards):
    manifest, audio = audio_paths("desed", wildcards.filter, wildcards.codec, model_rate(wildcards.model), wildcards.fold)
    return {"manifest": manifest, "audio": audio, **model_file_inputs(wildcards)}


def model_resource(name, key, default):
    """What an embedding job of model `name` asks a scheduler for (models.<name>.resources)."""
    return model_params(name).get("resources", {}).get(key, default)
