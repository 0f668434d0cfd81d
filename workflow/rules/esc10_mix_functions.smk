# esc10_mix: the input functions and settings of the rules in esc10_mix.smk.


# (filter, codec) conditions the mixtures are evaluated under: the reference, every coded condition,
# each filter uncoded and coded.
MIX_CONDITIONS = [(filter, codec) for filter in [UNCODED, *MIX.get("filters", [])] for codec in [UNCODED, *MIX_CODED]]
MIX_TRAIN_CONDITIONS = MIX.get("train_conditions", ["clean"])
# What the heads fit on the reference condition score (as ESC-50's REFERENCE_SCORED): every condition
# under the clean protocol, and the reference itself under the matched one.
MIX_REFERENCE_SCORED = [("clean", filter, codec) for filter, codec in MIX_CONDITIONS if "clean" in MIX_TRAIN_CONDITIONS]
MIX_REFERENCE_SCORED += [("matched", *REFERENCE_CONDITION)] if "matched" in MIX_TRAIN_CONDITIONS else []
MIX_SUMMARY_CONDITIONS = [
    (model, classifier, train, filter, codec)
    for model in MIX_MODELS
    for classifier in MIX.get("classifiers", [])
    for train in MIX_TRAIN_CONDITIONS
    for filter, codec in MIX_CONDITIONS
]


def mix_scored_by(wildcards):
    """(protocol, filter, codec) of each condition a multi-label job's heads score."""
    if getattr(wildcards, "filter", UNCODED) == UNCODED and getattr(wildcards, "codec", UNCODED) == UNCODED:
        return MIX_REFERENCE_SCORED
    return [("matched", wildcards.filter, wildcards.codec)]


def mix_classify_inputs(wildcards):
    return {
        **scored_embedding_inputs("esc10_mix", wildcards, mix_scored_by(wildcards)),
        "manifest": manifest_path("esc10_mix"),
    }


def mix_nominal_kbps(wildcards):
    return [condition_nominal_kbps(codec, wildcards.model) for _, _, codec in mix_scored_by(wildcards)]
# (model, classifier, train condition) of each rate-mAP figure.
MIX_PLOTS = [(m, c, t) for m in MIX_MODELS for c in MIX.get("classifiers", []) for t in MIX_TRAIN_CONDITIONS]
