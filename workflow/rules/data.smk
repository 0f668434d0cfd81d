# Data: obtain an ESC-50 copy (generate, download or use the user's) and ingest it into a manifest;
# DESED-format data (a user's copy, or soundscapes synthesised from ESC-50) likewise.


include: "data_functions.smk"


rule make_synthetic_esc50:
    output:
        root=directory("resources/esc50_synthetic"),
    params:
        synthetic=ESC50.get("synthetic"),
        folds=FOLDS,
    log:
        "results/logs/make_synthetic_esc50.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/make_synthetic_esc50.py"


rule download_esc50:
    output:
        archive=temp("resources/esc50/ESC-50-master.zip"),
    params:
        url=ESC50["url"],
        sha256=ESC50["sha256"],
        config_key="datasets.esc50.root",
    log:
        "results/logs/download_esc50.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/download.py"


rule extract_esc50:
    input:
        archive=rules.download_esc50.output.archive,
    output:
        root=directory("resources/esc50/ESC-50"),
    params:
        url=ESC50["url"],
    log:
        "results/logs/extract_esc50.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/extract_esc50.py"


rule ingest_esc50:
    input:
        unpack(esc50_inputs),
    output:
        manifest=manifest_path("esc50"),
        skipped=report(
            "results/esc50_skipped.csv",
            caption="../report/skipped.rst",
            category="ESC-50",
        ),
    params:
        root=esc50_root(),
        folds=FOLDS,
        esc10_only=ESC50["esc10_only"],
        max_clips_per_class_per_fold=ESC50["max_clips_per_class_per_fold"],
        clip_seconds=ESC50["clip_seconds"],
        on_bad_clip=config["on_bad_clip"],
    log:
        "results/logs/ingest_esc50.log",
    benchmark:
        "results/benchmarks/ingest_esc50.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/ingest_esc50.py"


rule download_model_file:
    output:
        "resources/models/{model}/{filename}",
    params:
        source=lambda wildcards: model_download(wildcards)[1:],
        config_key=lambda wildcards: model_download(wildcards)[0],
    log:
        "results/logs/download_model_file/{model}/{filename}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/download.py"


rule synthesize_desed:
    input:
        unpack(esc50_inputs),
    output:
        root=directory(DESED_SYNTHETIC),
    params:
        esc50_root=esc50_root(),
        folds=FOLDS,
        synthetic=DESED.get("synthetic"),
        clip_seconds=ESC50["clip_seconds"],
        on_bad_clip=config["on_bad_clip"],
    log:
        "results/logs/synthesize_desed.log",
    benchmark:
        "results/benchmarks/synthesize_desed.tsv"
    threads: threads_for("synthesize")
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/synthesize_desed.py"


rule ingest_desed:
    input:
        unpack(desed_inputs),
    output:
        manifest=manifest_path("desed"),
        labels=sed_labels_path("desed"),
    params:
        folds=desed_fold_paths(),
        classes=SED_CLASSES,
    log:
        "results/logs/ingest_desed.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/ingest_desed.py"


# The cross-corpus protocol's training material beside a DESED copy: the soundscapes synthesised from
# ESC-50 (sed.protocols: [cross_corpus]), checked and listed as the copy is.
rule ingest_esc50_soundscapes:
    input:
        root=DESED_SYNTHETIC,
    output:
        manifest=manifest_path(SOUNDSCAPES),
        labels=sed_labels_path(SOUNDSCAPES),
    params:
        folds=synthetic_fold_paths(FOLDS),
        classes=SYNTHETIC_CLASSES,
    log:
        f"results/logs/ingest_{SOUNDSCAPES}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/ingest_desed.py"


# Run where Snakemake runs, not as cluster jobs: downloads (compute nodes often have no internet),
# unpacking, and the short jobs (ingest reads and checks each clip once; the synthetic corpus is 60
# short clips), which would wait longer in a queue than they run.
localrules:
    download_esc50,
    extract_esc50,
    download_model_file,
    make_synthetic_esc50,
    ingest_esc50,
    ingest_desed,
    ingest_esc50_soundscapes,
