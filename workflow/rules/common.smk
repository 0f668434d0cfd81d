# Config validation, path helpers, input functions and wildcard constraints shared by every stage.
import os
import sys


# Jobs import the acom package from this checkout, also inside conda envs and on cluster nodes
# (we set PYTHONPATH for the jobs; no user variable is required).
ACOM_SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, ACOM_SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [ACOM_SRC, os.environ.get("PYTHONPATH")])))

from acom.codecs import (
    ENCODEC_BANDWIDTHS,
    codec_downloads,
    codec_sample_rate,
    condition_name,
    parse_condition,
)
from acom.config import validate_config
from acom.desed import desed_classes
from acom.evaluate import pcm_kbps
from acom.models import model_downloads, model_sample_rate

# The schema (filling in defaults) and the cross-checks; every problem listed under its dotted key.
validate_config(config, schema=os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"))

ESC50 = config["datasets"]["esc50"]
FOLDS = sorted(ESC50["folds"])
MODELS = config["evaluation"]["models"]
CLASSIFIERS = config["evaluation"]["classifiers"]
TRAIN_CONDITIONS = config["evaluation"]["train_conditions"]
# Coded conditions <codec>_<kbps>, one per configured bitrate of each evaluated codec.
CODED = [
    condition_name(codec, kbps)
    for codec in config["evaluation"].get("codecs", [])
    for kbps in config["codecs"][codec]["bitrates_kbps"]
]
FILTERS = config["evaluation"].get("filters", [])
# (filter, codec) conditions the test folds are evaluated under; "none" is the unprocessed reference.
# Each filter is evaluated uncoded and under every coded condition.
REFERENCE_CONDITION = ("none", "none")
CONDITIONS = [(filter, codec) for filter in ["none", *FILTERS] for codec in ["none", *CODED]]
# Best-mask search (see acom.masks) and the ROI summary.
SEARCH = config.get("mask_search", {})
MASK_MODELS = SEARCH.get("models", [])
MASK_FOLDS = sorted(SEARCH.get("folds") or FOLDS)
SEARCH_RATE = SEARCH.get("sample_rate", 16000)
ROI_CODECS = SEARCH.get("codecs", [])
# The settings masks depend on (grids, percentages, classifier...), not which models and folds are
# searched: params built from them rerun searches and oracle filters only when a mask would change.
SEARCH_SETTINGS = {key: value for key, value in SEARCH.items() if key not in ("models", "folds", "codecs")}
ENV = "../../envs/acom.yaml"


def threads_for(stage, default=1):
    return config.get("threads", {}).get(stage, default)


def audio_output(path):
    """A fold's folder of resampled, filtered or decoded clips: kept, or (keep_audio: false) deleted
    once every job that reads it has run; Snakemake recreates it when a later job needs it again.
    Every rule that opens these clips lists the folder as an input, so none loses it mid-run."""
    return directory(path) if config["keep_audio"] else temp(directory(path))


wildcard_constraints:
    dataset="esc50|desed",
    fold=r"\d+",
    rate=r"\d+",
    model="|".join(config["models"]),
    classifier="|".join(config["classifiers"]),
    train_condition="clean|matched",
    filter="|".join(["none", *config.get("filters", {})]),
    codec=r"none|[a-z][a-z0-9_]*_[0-9.]+",
    encoder="|".join(n for n, c in config.get("codecs", {}).items() if c["type"] in ENCODEC_BANDWIDTHS)
    or "no_encodec_configured",


# --- data ---------------------------------------------------------------------------------------
def esc50_root():
    """Folder holding meta/esc50.csv and audio/: generated, downloaded, or the user's copy."""
    if ESC50.get("synthetic"):
        return "resources/esc50_synthetic"
    if ESC50["root"] is None:
        return "resources/esc50/ESC-50"
    return ESC50["root"]


def esc50_inputs(wildcards):
    root = esc50_root()
    if ESC50.get("synthetic") or ESC50["root"] is None:
        return {"root": root}  # produced by a rule of data.smk
    return {"meta": os.path.join(root, "meta", "esc50.csv")}


# --- models -------------------------------------------------------------------------------------
def model_params(name):
    return config["models"][name]


def model_rate(name):
    return model_sample_rate(model_params(name))


def model_files(name):
    """Files model `name` reads: those it downloads because their config key is null (into
    resources/), and local files its config names (so a new checkpoint reruns its jobs)."""
    params = model_params(name)
    downloads = {
        key: f"resources/models/{name}/{filename}"
        for key, (url, sha256, filename) in model_downloads(params).items()
    }
    local = {
        key: params[key]
        for key in ("weights", "labels")
        if key not in downloads and isinstance(params.get(key), str) and os.path.isfile(params[key])
    }
    return {**downloads, **local}


def model_download(wildcards):
    """(config key, url, sha256) of the file `wildcards.filename` that model `wildcards.model`
    downloads (its config key is null; the key is what names a local copy instead)."""
    return next(
        (f"models.{wildcards.model}.{key}", url, sha256)
        for key, (url, sha256, filename) in model_downloads(model_params(wildcards.model)).items()
        if filename == wildcards.filename
    )


def model_resource(name, key, default):
    """What an embedding job of model `name` asks a scheduler for (models.<name>.resources)."""
    return model_params(name).get("resources", {}).get(key, default)


def model_file_inputs(wildcards):
    return model_files(wildcards.model)


# --- codecs -------------------------------------------------------------------------------------
def codec_params(coded):
    """The codecs.<name> entry behind a coded condition such as opus_12."""
    return config["codecs"][parse_condition(coded)[0]]


def codec_file_inputs(name):
    """Checkpoints the codec downloads because its `weights` key is null."""
    return {
        key: f"resources/codecs/{name}/{filename}"
        for key, filename in codec_downloads(config["codecs"][name]).items()
    }


def uncoded_inputs(dataset, filter, name, fold):
    """The unprocessed-by-codec clips of a fold at codec `name`'s rate, under `filter`."""
    manifest, audio = condition_audio(
        dataset, filter, "none", codec_sample_rate(config["codecs"][name]), fold
    )
    return {"manifest": manifest, "audio": audio, **codec_file_inputs(name)}


def code_inputs(wildcards):
    name = parse_condition(wildcards.codec)[0]
    inputs = uncoded_inputs(wildcards.dataset, wildcards.filter, name, wildcards.fold)
    if config["codecs"][name]["type"] in ENCODEC_BANDWIDTHS:
        # Every EnCodec bitrate is derived from one encoding at the highest bandwidth.
        inputs["full_codes"] = f"results/{wildcards.dataset}/codes/{wildcards.filter}/{name}/fold{wildcards.fold}"
    return inputs


def encode_inputs(wildcards):
    return uncoded_inputs(wildcards.dataset, wildcards.filter, wildcards.encoder, wildcards.fold)


def coded_manifests():
    """(filter, manifest path) of every coded fold: the inputs of the rate-distortion table."""
    return [
        (filter, condition_audio("esc50", filter, codec, None, fold)[0])
        for filter, codec in CONDITIONS
        if codec != "none"
        for fold in FOLDS
    ]


# --- conditions ---------------------------------------------------------------------------------
def condition_audio(dataset, filter, codec, rate, fold):
    """(manifest, audio dir) of fold `fold` of `dataset` (esc50 clips or desed soundscapes) under
    condition (filter, codec): both data sets go through the same resample, filter and codec rules.

    Uncoded audio comes at `rate` (the consumer's rate); coded audio at the codec's rate (the
    embedding stage resamples it to the model's).
    """
    if codec == "none" and filter == "none":
        stem = f"results/{dataset}/resampled/sr{rate}/fold{fold}"
    elif codec != "none":
        stem = f"results/{dataset}/coded/{filter}/{codec}/fold{fold}"
    else:
        stem = f"results/{dataset}/filtered/{filter}/sr{rate}/fold{fold}"
    return f"{stem}.parquet", stem


def condition_nominal_kbps(filter, codec, rate):
    """Nominal bitrate of a condition: the codec's target, or the 16-bit PCM rate of uncoded audio."""
    if codec == "none":
        return pcm_kbps(rate)
    return parse_condition(codec)[1]


# --- filters and the mask search ----------------------------------------------------------------
def filter_params(name):
    return config["filters"][name]


def filter_model(name):
    """The model a filter runs (saliency scores, oracle masks), or None."""
    params = filter_params(name)
    if params["type"] == "oracle_roi" or params.get("score") == "saliency":
        return params["model"]
    return None


def filter_inputs(wildcards):
    """Unfiltered clips at the consumer's rate, plus the model files (saliency) or the fold's best
    masks (oracle_roi) the filter needs."""
    manifest, audio = condition_audio(wildcards.dataset, "none", "none", wildcards.rate, wildcards.fold)
    inputs = {"manifest": manifest, "audio": audio}
    params, model = filter_params(wildcards.filter), filter_model(wildcards.filter)
    if params["type"] == "oracle_roi":
        inputs["masks"] = f"results/esc50/masks/{model}/fold{wildcards.fold}.parquet"
    elif model is not None:
        inputs.update(model_files(model))
    return inputs


def search_inputs(wildcards):
    """The fold's clips at the search rate, the clean embeddings of every other fold (to train the
    fold's classifier) and the model's files."""
    train = {
        f"train{fold}": f"results/esc50/embeddings/{wildcards.model}/none/none/fold{fold}.parquet"
        for fold in FOLDS
        if fold != int(wildcards.fold)
    }
    manifest, audio = condition_audio("esc50", "none", "none", SEARCH_RATE, wildcards.fold)
    return {
        "manifest": manifest,
        "audio": audio,
        **train,
        **model_file_inputs(wildcards),
    }


def roi_rate_inputs(wildcards):
    name = parse_condition(wildcards.codec)[0]
    return {
        "masks": f"results/esc50/masks/{wildcards.model}/fold{wildcards.fold}.parquet",
        **uncoded_inputs("esc50", "none", name, wildcards.fold),
    }


def roi_summary_inputs():
    return {
        "masks": [f"results/esc50/masks/{model}/fold{fold}.parquet" for model in MASK_MODELS for fold in MASK_FOLDS],
        "rates": [
            f"results/esc50/masks/{model}/kbps/{codec}/fold{fold}.parquet"
            for model in MASK_MODELS
            for codec in ROI_CODECS
            for fold in MASK_FOLDS
        ],
    }


def embed_inputs(wildcards):
    manifest, audio = condition_audio(
        "esc50", wildcards.filter, wildcards.codec, model_rate(wildcards.model), wildcards.fold
    )
    return {"manifest": manifest, "audio": audio, **model_file_inputs(wildcards)}


def classify_inputs(wildcards):
    rate = model_rate(wildcards.model)
    test = {
        f"test{fold}": f"results/esc50/embeddings/{wildcards.model}/{wildcards.filter}/{wildcards.codec}/fold{fold}.parquet"
        for fold in FOLDS
    }
    # clean: train on the unprocessed folds; matched: on the other folds under the tested condition.
    if wildcards.train_condition == "clean":
        train_filter, train_codec = REFERENCE_CONDITION
    else:
        train_filter, train_codec = wildcards.filter, wildcards.codec
    train = {
        f"train{fold}": f"results/esc50/embeddings/{wildcards.model}/{train_filter}/{train_codec}/fold{fold}.parquet"
        for fold in FOLDS
    }
    audio = {
        f"audio{fold}": condition_audio("esc50", wildcards.filter, wildcards.codec, rate, fold)[0] for fold in FOLDS
    }
    return {**test, **train, **audio}


def summary_inputs():
    return [
        f"results/esc50/metrics/{model}/{classifier}/{train}/{filter}/{codec}.parquet"
        for model in MODELS
        for classifier in CLASSIFIERS
        for train in TRAIN_CONDITIONS
        for filter, codec in CONDITIONS
    ]


# --- sound event detection (datasets.desed, sed) -------------------------------------------------
DESED = config["datasets"].get("desed") or {}
SED = config.get("sed", {})
SED_MODELS = SED.get("models", [])
SED_CLASSES = desed_classes(DESED)
# A DESED copy's folds are its configured (audio, TSV) pairs; soundscapes synthesised from ESC-50
# come one fold per ESC-50 fold.
DESED_FOLDS = sorted(entry["fold"] for entry in DESED["folds"]) if DESED.get("root") else FOLDS
SED_CODED = [
    condition_name(codec, kbps) for codec in SED.get("codecs", []) for kbps in config["codecs"][codec]["bitrates_kbps"]
]
SED_CONDITIONS = [(filter, codec) for filter in ["none", *SED.get("filters", [])] for codec in ["none", *SED_CODED]]


def desed_fold_paths():
    """fold -> (audio folder, strong-label TSV) of the DESED-format data the workflow reads."""
    if DESED.get("root"):
        return {
            entry["fold"]: (os.path.join(DESED["root"], entry["audio"]), os.path.join(DESED["root"], entry["labels"]))
            for entry in DESED["folds"]
        }
    root = "resources/desed_synthetic"
    return {fold: (f"{root}/audio/fold{fold}", f"{root}/metadata/fold{fold}.tsv") for fold in FOLDS}


def desed_inputs(wildcards):
    if DESED.get("root"):
        return {"labels": [tsv for audio, tsv in desed_fold_paths().values()]}
    return {"root": "resources/desed_synthetic"}  # made by synthesize_desed


def frame_embed_inputs(wildcards):
    manifest, audio = condition_audio(
        "desed", wildcards.filter, wildcards.codec, model_rate(wildcards.model), wildcards.fold
    )
    return {"manifest": manifest, "audio": audio, **model_file_inputs(wildcards)}


def frame_embeddings(model, filter, codec, fold):
    return f"results/desed/frame_embeddings/{model}/{filter}/{codec}/fold{fold}.parquet"


def detect_inputs(wildcards):
    """Every fold's frame embeddings under the tested condition and the training condition (clean:
    uncoded; matched: the tested one), the audio manifests (actual kbps), the soundscape manifest
    and the strong labels."""
    model, filter, codec = wildcards.model, wildcards.filter, wildcards.codec
    train_filter, train_codec = REFERENCE_CONDITION if wildcards.train_condition == "clean" else (filter, codec)
    rate = model_rate(model)
    return {
        **{f"test{fold}": frame_embeddings(model, filter, codec, fold) for fold in DESED_FOLDS},
        **{f"train{fold}": frame_embeddings(model, train_filter, train_codec, fold) for fold in DESED_FOLDS},
        **{f"audio{fold}": condition_audio("desed", filter, codec, rate, fold)[0] for fold in DESED_FOLDS},
        "manifest": "results/desed/manifest.parquet",
        "labels": "results/desed/labels.parquet",
    }


def sed_summary_inputs():
    return [
        f"results/desed/metrics/{model}/{train}/{filter}/{codec}.parquet"
        for model in SED_MODELS
        for train in SED.get("train_conditions", ["clean"])
        for filter, codec in SED_CONDITIONS
    ]


# --- report ---------------------------------------------------------------------------------------
REPORT = config.get("report", {})
# (model, classifier, train_condition) -> file stem of its rate-accuracy plot.
RATE_ACCURACY_PLOTS = [
    ((model, classifier, train), f"results/plots/rate_accuracy/{model}_{classifier}_{train}")
    for model in MODELS
    for classifier in CLASSIFIERS
    for train in TRAIN_CONDITIONS
]
CONFUSION_PLOTS = [
    "results/plots/confusion/{model}/{classifier}/{train_condition}/{filter}/{codec}.png".format(**entry)
    for entry in REPORT.get("confusion", [])
]
LISTEN = REPORT.get("listen", {})
# The listening page plays the clips at the highest rate any evaluated model hears them.
LISTEN_RATE = max(model_rate(model) for model in MODELS)
LISTEN_CONDITIONS = (
    [("original", "none", "none")]
    + [(filter, filter, "none") for filter in FILTERS]
    + [(f"{parse_condition(coded)[0]} {parse_condition(coded)[1]:g} kbps", "none", coded) for coded in CODED]
)
LISTEN_PREDICTIONS = [
    (model, filter, codec) for model in MODELS for label, filter, codec in LISTEN_CONDITIONS
]


def plot_inputs(wildcards):
    inputs = {"summary": "results/esc50_summary.csv"}
    if CODED:
        inputs["quality"] = "results/esc50_codec_quality.csv"
    return inputs


def plot_outputs():
    """Named outputs of the plot rule: PNG (in the report) and SVG of every figure."""
    outputs = {}
    for (model, classifier, train), stem in RATE_ACCURACY_PLOTS:
        key = f"{model}_{classifier}_{train}"
        outputs[f"{key}_png"] = report(
            f"{stem}.png",
            caption="../report/rate_accuracy.rst",
            category="Plots",
            subcategory="rate-accuracy",
            labels={"model": model, "classifier": classifier, "protocol": train},
        )
        outputs[f"{key}_svg"] = f"{stem}.svg"
    if CODED:
        outputs["rate_distortion_png"] = report(
            "results/plots/rate_distortion.png",
            caption="../report/rate_distortion.rst",
            category="Plots",
            subcategory="rate-distortion",
        )
        outputs["rate_distortion_svg"] = "results/plots/rate_distortion.svg"
    return outputs


def listen_conditions():
    """Each row of the listening page: its label, filter, codec and per-fold manifests."""
    return [
        {
            "label": label,
            "filter": filter,
            "codec": codec,
            "manifests": [condition_audio("esc50", filter, codec, LISTEN_RATE, fold)[0] for fold in FOLDS],
            "audio": [condition_audio("esc50", filter, codec, LISTEN_RATE, fold)[1] for fold in FOLDS],
        }
        for label, filter, codec in LISTEN_CONDITIONS
    ]


def listen_inputs(wildcards):
    classifier = LISTEN.get("classifier", CLASSIFIERS[0])
    train = LISTEN.get("train_condition", TRAIN_CONDITIONS[0])
    return {
        "manifest": "results/esc50/manifest.parquet",
        "manifests": [path for condition in listen_conditions() for path in condition["manifests"]],
        # The page copies clips out of these folders (keep_audio: false must not delete them first).
        "audio": [path for condition in listen_conditions() for path in condition["audio"]],
        "predictions": [
            f"results/esc50/predictions/{model}/{classifier}/{train}/{filter}/{codec}.parquet"
            for model, filter, codec in LISTEN_PREDICTIONS
        ],
    }
