# Config validation, the constants every stage reads, wildcard constraints, and one path function per
# artifact that crosses stages (its producing rule's output and every consumer's input call it, so no
# artifact path is spelled twice). Each stage's input functions live in its own rules file.
import glob
import os
import sys
from functools import partial


# Jobs import the acom package from this checkout, also inside conda envs and on cluster nodes
# (we set PYTHONPATH for the jobs; no user variable is required).
ACOM_SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, ACOM_SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [ACOM_SRC, os.environ.get("PYTHONPATH")])))

# Planning reads only the registries and the config checks: no torch, scikit-learn or codec library.
from acom.codecs import CODECS, codec_downloads, codec_sample_rate
from acom.conditions import UNCODED, condition_name, nominal_kbps, parse_condition
from acom.config import validate_config
from acom.data.desed import desed_classes
from acom.data.irmas import IRMAS_ARCHIVES, IRMAS_URL
from acom.filters import allocates_bits, filter_model, filter_predictor, uses_masks
from acom.models import model_downloads, model_sample_rate
from acom.tasks import TASKS, multilabel_tasks, task_datasets, task_folds, training_folds

# A second run started on a folder another run holds stops with Snakemake's lock error; say in one
# line what that means here (the lock files exist before that error is raised).
if workflow.is_main_process and glob.glob(os.path.join(".snakemake", "locks", "*.lock")):
    print(
        "acom: another snakemake run holds this folder (.snakemake/locks): wait for it to end; if it was killed, "
        "run `snakemake --unlock` once, then the same command again (docs/reliability.md)",
        file=sys.stderr,
    )

# The schema (filling in defaults), type defaults, derived defaults and the cross-checks; every
# problem listed under its dotted key.
validate_config(config, schema=os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"))

# keep_audio: false: a run killed while Snakemake deleted a fold folder of clips leaves part of it;
# remove what is left, so that a job needing those clips recreates them instead of reading a partial folder.
if workflow.is_main_process and not workflow.dryrun and not config["keep_audio"]:
    from acom.io import incomplete_audio_folders
    import shutil

    for folder in incomplete_audio_folders("results"):
        print(f"acom: {folder} was left half-deleted by an interrupted run; removed (recreated where needed)", file=sys.stderr)
        shutil.rmtree(folder)

ENV = "../../envs/acom.yaml"
ESC50 = config["datasets"]["esc50"]
FOLDS = sorted(ESC50["folds"])
MODELS = config["evaluation"]["models"]
CLASSIFIERS = config["evaluation"]["classifiers"]
TRAIN_CONDITIONS = config["evaluation"]["train_conditions"]
FILTERS = config["evaluation"]["filters"]
# The unprocessed reference: no filter, no codec.
REFERENCE_CONDITION = (UNCODED, UNCODED)


def coded_conditions(codecs):
    """<codec>_<kbps> for every configured bitrate of each codec entry in `codecs`."""
    return [condition_name(codec, kbps) for codec in codecs for kbps in config["codecs"][codec]["bitrates_kbps"]]


def threads_for(stage, default=1):
    return config.get("threads", {}).get(stage, default)


def audio_output(path):
    """A fold's folder of resampled, filtered or decoded clips: kept, or (keep_audio: false) deleted
    once every job that reads it has run; Snakemake recreates it when a later job needs it again.
    Every rule that opens these clips lists the folder as an input, so none loses it mid-run."""
    return directory(path) if config["keep_audio"] else temp(directory(path))


wildcard_constraints:
    dataset="|".join(task_datasets()),
    fold=r"\d+",
    rate=r"\d+",
    model="|".join(config["models"]),
    classifier="|".join(config["classifiers"]),
    train_condition="clean|matched",
    filter="|".join([UNCODED, *config.get("filters", {})]),
    codec=r"none|[a-z][a-z0-9_]*_[0-9.]+",
    encoder="|".join(n for n, c in config.get("codecs", {}).items() if CODECS[c["type"]].encode_full)
    or "no_full_encoding_configured",


# --- artifact paths -----------------------------------------------------------------------------
def manifest_path(dataset):
    """The ingest manifest of `dataset` (esc50 clips or desed soundscapes)."""
    return f"results/{dataset}/manifest.parquet"


def audio_paths(dataset, filter, codec, rate, fold):
    """(manifest, audio folder) of fold `fold` of `dataset` under condition (filter, codec): both data
    sets go through the same resample, filter and codec rules. Uncoded audio comes at `rate` (the
    consumer's rate); coded audio at the codec's rate (consumers resample it)."""
    if codec == UNCODED and filter == UNCODED:
        stem = f"results/{dataset}/resampled/sr{rate}/fold{fold}"
    elif codec != UNCODED:
        stem = f"results/{dataset}/coded/{filter}/{codec}/fold{fold}"
    else:
        stem = f"results/{dataset}/filtered/{filter}/sr{rate}/fold{fold}"
    return f"{stem}.parquet", stem


def full_codes_path(dataset, filter, encoder, fold):
    """A fold's codes at the highest bitrate of a codec that derives its bitrates from them (EnCodec)."""
    return f"results/{dataset}/codes/{filter}/{encoder}/fold{fold}"


def embeddings_path(model, filter, codec, fold, dataset="esc50"):
    """One fold's clip embeddings of `dataset` (a clip-level task's items) under one condition."""
    return f"results/{dataset}/embeddings/{model}/{filter}/{codec}/fold{fold}.parquet"


def predictions_path(model, classifier, train_condition, filter, codec):
    return f"results/esc50/predictions/{model}/{classifier}/{train_condition}/{filter}/{codec}.parquet"


def metrics_path(model, classifier, train_condition, filter, codec):
    return f"results/esc50/metrics/{model}/{classifier}/{train_condition}/{filter}/{codec}.parquet"


def masks_path(model, fold):
    """The best-mask search table of one model and fold."""
    return f"results/esc50/masks/{model}/fold{fold}.parquet"


def mask_predictor_path(model, fold):
    """The mask predictor for test fold `fold`, trained on the other folds' masks of `model`."""
    return f"results/esc50/mask_predictor/{model}/fold{fold}.pt"


def masked_rates_path(model, codec, fold):
    """What coding each searched mask of a fold costs under one coded condition."""
    return f"results/esc50/masks/{model}/kbps/{codec}/fold{fold}.parquet"


def frame_embeddings_path(model, filter, codec, fold, dataset="desed"):
    """One fold's frame embeddings of a soundscape data set (desed, or esc50_soundscapes: the
    cross-corpus protocol's training material) under one condition."""
    return f"results/{dataset}/frame_embeddings/{model}/{filter}/{codec}/fold{fold}.parquet"


def sed_path(kind, protocol, model, train_condition, filter, codec, suffix=""):
    """What SED under `protocol` writes for one condition: kind "metrics" (per-fold table, .parquet),
    "events" (.tsv) or "scores" (a folder); the cross-corpus protocol's under results/desed/cross_corpus/."""
    folder = "results/desed" if protocol == "cross_validation" else f"results/desed/{protocol}"
    return f"{folder}/{kind}/{model}/{train_condition}/{filter}/{codec}{suffix}"


def sed_labels_path(dataset):
    """The strong labels of a soundscape data set (every event, with clip_id and fold)."""
    return f"results/{dataset}/labels.parquet"


def multilabel_path(kind, model, classifier, train_condition, filter, codec, task="esc10_mix"):
    """A multi-label task's per-clip predictions (kind "predictions") or per-fold metrics ("metrics")."""
    return f"results/{task}/{kind}/{model}/{classifier}/{train_condition}/{filter}/{codec}.parquet"


DESED_SYNTHETIC = "resources/desed_synthetic"


# --- what several stages read -------------------------------------------------------------------
def model_params(name):
    return config["models"][name]


def model_rate(name):
    return model_sample_rate(model_params(name))


def model_files(name):
    """Files model `name` reads: those it downloads because their config key is null (into
    resources/, rule download_model_file), and local files its config names (so a new checkpoint
    reruns its jobs)."""
    params = model_params(name)
    downloads = {key: f"resources/models/{name}/{download.filename}" for key, download in model_downloads(params).items()}
    local = {
        key: params[key]
        for key in ("weights", "labels")
        if key not in downloads and isinstance(params.get(key), str) and os.path.isfile(params[key])
    }
    return {**downloads, **local}


def model_file_inputs(wildcards):
    return model_files(wildcards.model)


def condition_nominal_kbps(codec, model):
    """Nominal bitrate of a condition fed to `model`: the codec's target, or the 16-bit PCM rate of
    uncoded audio at the model's rate."""
    return nominal_kbps(codec, model_rate(model))


def train_condition_of(wildcards):
    """(filter, codec) the classifier or head of `wildcards` trains on: clean: the unprocessed
    reference; matched: the tested condition."""
    return REFERENCE_CONDITION if wildcards.train_condition == "clean" else (wildcards.filter, wildcards.codec)


# --- conditions ---------------------------------------------------------------------------------
# Coded conditions <codec>_<kbps>, one per configured bitrate of each evaluated codec.
CODED = coded_conditions(config["evaluation"]["codecs"])
# (filter, codec) conditions the ESC-50 test folds are evaluated under: the unprocessed reference,
# every coded condition, and each filter uncoded and under the coded conditions of filter_codecs;
# a bit-allocating filter (rendering: bits) only under the filter codecs that allocate bits.
FILTER_CODECS = [codec for codec in config["evaluation"]["codecs"] if codec in config["evaluation"]["filter_codecs"]]
FILTER_CURVES = {
    filter: [
        codec
        for codec in FILTER_CODECS
        if not allocates_bits(config["filters"][filter]) or CODECS[config["codecs"][codec]["type"]].allocates_bits
    ]
    for filter in FILTERS
}
# Feature conditions (quantised embeddings, features.smk) follow the coded ones, unfiltered.
FEATURE_CONDITIONS = [
    condition_name(name, budget)
    for name in config["evaluation"].get("feature_codecs", [])
    for budget in (config.get("feature_codecs") or {})[name]["budgets"]
]
CONDITIONS = [(UNCODED, codec) for codec in [UNCODED, *CODED, *FEATURE_CONDITIONS]] + [
    (filter, codec)
    for filter in FILTERS
    for codec in ([] if allocates_bits(config["filters"][filter]) else [UNCODED]) + coded_conditions(FILTER_CURVES[filter])
]

# --- sound event detection data (datasets.desed) --------------------------------------------------
DESED = config["datasets"].get("desed") or {}
SED = config.get("sed", {})
SED_MODELS = SED.get("models", [])
SED_CLASSES = desed_classes(DESED)
# A DESED copy's folds are its configured (audio, TSV) pairs; soundscapes synthesised from ESC-50
# come one fold per ESC-50 fold.
DESED_FOLDS = sorted(entry["fold"] for entry in DESED["folds"]) if DESED.get("root") else FOLDS
SED_PROTOCOLS = SED.get("protocols", ["cross_validation"])
# cross_corpus: heads trained on soundscapes synthesised from the ESC-50 folds sed.cross_corpus_folds
# (data set esc50_soundscapes, the class map's labels), tested on the DESED copy.
SOUNDSCAPES = TASKS["sed"].training_dataset
CROSS_CORPUS_FOLDS = sorted(SED.get("cross_corpus_folds") or FOLDS)
SYNTHETIC_CLASSES = desed_classes({"synthetic": DESED.get("synthetic")})
# Soundscape data sets whose frames are embedded, and their folds.
FRAME_DATASETS = {"desed": DESED_FOLDS, **({SOUNDSCAPES: CROSS_CORPUS_FOLDS} if "cross_corpus" in SED_PROTOCOLS else {})}

# --- multi-label tasks (esc10_mix, irmas; acom.tasks) ---------------------------------------------
MULTILABEL_TASKS = multilabel_tasks(config)
TASK_FOLDS = {task: task_folds(task, config) for task in MULTILABEL_TASKS}
