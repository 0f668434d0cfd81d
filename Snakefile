# acom: Audio Coding for Machines. Entry point only: config, report and the stage rules.
from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/resample.smk"
include: "workflow/rules/filter.smk"
include: "workflow/rules/codec.smk"
include: "workflow/rules/masks.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/sed.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        "results/esc50_summary.csv",
        branch(CODED, then="results/esc50_codec_quality.csv"),
        branch(MASK_MODELS and ROI_CODECS, then="results/esc50_roi_summary.csv"),
        "results/esc50_accuracy_drop.csv",
        rules.plot_results.output,
        CONFUSION_PLOTS,
        "results/listen",
        branch(SED_MODELS, then="results/desed_summary.csv"),
    default_target: True
