# Multi-label tasks (acom.tasks: esc10_mix, irmas): each task's items go through the shared resample,
# filter, codec and embed stages; per test fold, one-vs-rest heads (and, where items hold one or two
# sources, a source counter) fit on the task's training folds score each condition; then the task's
# per-fold table, summary and rate-mAP plots. The rules below are made once per switched-on task.


include: "multilabel_functions.smk"


for task in MULTILABEL_TASKS:

    rule:
        name:
            f"classify_{task}_reference"
        input:
            unpack(partial(multilabel_classify_inputs, task=task)),
        output:
            predictions=[multilabel_path("predictions", "{model}", "{classifier}", *c, task) for c in
                         multilabel_reference_scored(task)],
            metrics=[multilabel_path("metrics", "{model}", "{classifier}", *c, task) for c in
                     multilabel_reference_scored(task)],
        log:
            f"results/logs/classify_{task}_reference/{{model}}/{{classifier}}.log",
        benchmark:
            f"results/benchmarks/classify_{task}_reference/{{model}}/{{classifier}}.tsv"
        params:
            folds=TASK_FOLDS[task],
            training_folds=training_folds(task, TASK_FOLDS[task]),
            scored=partial(multilabel_scored_by, task=task),
            classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
            seed=config[task].get("seed", 0),
            nominal_kbps=partial(multilabel_nominal_kbps, task=task),
        threads: threads_for("classify", 2)
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            ENV
        script:
            "../scripts/classify_multilabel.py"

    rule:
        name:
            f"classify_{task}_matched"
        input:
            unpack(partial(multilabel_classify_inputs, task=task)),
        output:
            # Lists, as the reference rule's: the script writes the i-th scored condition's tables.
            predictions=[multilabel_path("predictions", "{model}", "{classifier}", "matched", "{filter}", "{codec}", task)],
            metrics=[multilabel_path("metrics", "{model}", "{classifier}", "matched", "{filter}", "{codec}", task)],
        log:
            f"results/logs/classify_{task}_matched/{{model}}/{{classifier}}/{{filter}}/{{codec}}.log",
        benchmark:
            f"results/benchmarks/classify_{task}_matched/{{model}}/{{classifier}}/{{filter}}/{{codec}}.tsv"
        params:
            folds=TASK_FOLDS[task],
            training_folds=training_folds(task, TASK_FOLDS[task]),
            scored=partial(multilabel_scored_by, task=task),
            classifier=lambda wildcards: config["classifiers"][wildcards.classifier],
            seed=config[task].get("seed", 0),
            nominal_kbps=partial(multilabel_nominal_kbps, task=task),
        threads: threads_for("classify", 2)
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            ENV
        script:
            "../scripts/classify_multilabel.py"

    # The reference condition's heads and its matched-protocol scores come from the reference rule
    # (the `ruleorder:` keyword takes no names made in a loop).
    workflow.ruleorder(f"classify_{task}_reference", f"classify_{task}_matched")

    rule:
        name:
            f"summarize_{task}"
        input:
            metrics=[multilabel_path("metrics", *condition, task) for condition in multilabel_summary_conditions(task)],
            predictions=[
                multilabel_path("predictions", *condition, task) for condition in multilabel_summary_conditions(task)
            ],
        output:
            per_fold=report(
                f"results/{task}_per_fold.csv",
                caption="../report/multilabel_per_fold.rst",
                category=TASKS[task].description,
            ),
            summary=report(
                f"results/{task}_summary.csv",
                caption="../report/multilabel_summary.rst",
                category=TASKS[task].description,
            ),
            source_recall=report(
                f"results/{task}_source_recall.csv",
                caption="../report/multilabel_source_recall.rst",
                category=TASKS[task].description,
            ),
            plots=[
                report(
                    multilabel_plot_path(task, *key),
                    caption="../report/multilabel_rate_map.rst",
                    category=TASKS[task].description,
                    labels={"model": key[0], "classifier": key[1], "protocol": key[2]},
                )
                for key in multilabel_plots(task)
            ],
        log:
            f"results/logs/summarize_{task}.log",
        benchmark:
            f"results/benchmarks/summarize_{task}.tsv"
        params:
            plots=multilabel_plots(task),
            level_edges=multilabel_level_edges(task),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        conda:
            ENV
        script:
            "../scripts/summarize_multilabel.py"

    workflow.localrules(f"summarize_{task}")
