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
include: "workflow/rules/features.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/sed.smk"
include: "workflow/rules/esc10_mix.smk"
include: "workflow/rules/irmas.smk"
include: "workflow/rules/multilabel.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        # Each switched-on task's summary (acom.tasks), then what the ESC-50 task adds around it.
        [f"results/{TASKS[task].summary}" for task in TASKS if config.get(task, {}).get("models")],
        branch(CODED, then=rules.codec_quality.output.quality),
        branch(MASK_MODELS and ROI_CODECS, then=rules.roi_summary.output.summary),
        branch(PREDICTOR_MODELS, then=rules.mask_predictor_summary.output.summary),
        rules.compare_conditions.output.accuracy_drop,
        rules.plot_results.output,
        CONFUSION_PLOTS,
        rules.listen_page.output.page_dir,
    default_target: True
