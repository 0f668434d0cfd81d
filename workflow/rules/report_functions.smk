# Report: the input functions and settings of the rules in report.smk.


REPORT = config["report"]
LISTEN = REPORT["listen"]
# (model, classifier, train_condition) -> file stem of its rate-accuracy plot.
RATE_ACCURACY_PLOTS = [
    ((model, classifier, train), f"results/plots/rate_accuracy/{model}_{classifier}_{train}")
    for model in MODELS
    for classifier in CLASSIFIERS
    for train in TRAIN_CONDITIONS
]


def confusion_plot(model, classifier, train_condition, filter, codec, extension):
    return f"results/plots/confusion/{model}/{classifier}/{train_condition}/{filter}/{codec}.{extension}"


CONFUSION_PLOTS = [
    confusion_plot(entry["model"], entry["classifier"], entry["train_condition"], entry["filter"], entry["codec"], "png")
    for entry in REPORT["confusion"]
]
# The listening page plays the clips at the highest rate any evaluated model hears them.
LISTEN_RATE = max(model_rate(model) for model in MODELS)
# A filter plays uncoded; one that allocates bits (it changes no sample) at its first coded condition.
LISTEN_CONDITIONS = (
    [("original", UNCODED, UNCODED)]
    + [
        (filter, filter, UNCODED)
        if (filter, UNCODED) in CONDITIONS
        else (f"{filter} ({parse_condition(coded)[0]} {parse_condition(coded)[1]:g} kbps)", filter, coded)
        for filter in FILTERS
        for coded in [next((codec for f, codec in CONDITIONS if f == filter), UNCODED)]
    ]
    + [(f"{parse_condition(coded)[0]} {parse_condition(coded)[1]:g} kbps", UNCODED, coded) for coded in CODED]
)
LISTEN_PREDICTIONS = [(model, filter, codec) for model in MODELS for label, filter, codec in LISTEN_CONDITIONS]


def plot_inputs(wildcards):
    inputs = {"summary": rules.summarize_esc50.output.summary}
    if CODED:
        inputs["quality"] = rules.codec_quality.output.quality
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
            "manifests": [audio_paths("esc50", filter, codec, LISTEN_RATE, fold)[0] for fold in FOLDS],
            "audio": [audio_paths("esc50", filter, codec, LISTEN_RATE, fold)[1] for fold in FOLDS],
        }
        for label, filter, codec in LISTEN_CONDITIONS
    ]


def listen_inputs(wildcards):
    return {
        "manifest": manifest_path("esc50"),
        "manifests": [path for condition in listen_conditions() for path in condition["manifests"]],
        # The page copies clips out of these folders (keep_audio: false must not delete them first).
        "audio": [path for condition in listen_conditions() for path in condition["audio"]],
        "predictions": [
            predictions_path(model, LISTEN["classifier"], LISTEN["train_condition"], filter, codec)
            for model, filter, codec in LISTEN_PREDICTIONS
        ],
    }
