# irmas's data: the official IRMAS archives (downloaded and md5-checked, or a local copy), checked and
# downmixed to mono into the task manifest; its heads, metrics and summary come from multilabel.smk.


include: "irmas_functions.smk"


rule download_irmas:
    output:
        archive=temp("resources/irmas/{archive}.zip"),
    wildcard_constraints:
        archive="|".join(IRMAS_ARCHIVE_STEMS),
    params:
        url=lambda wildcards: IRMAS_URL.format(name=f"{wildcards.archive}.zip"),
        sha256=None,  # Zenodo publishes md5
        md5=lambda wildcards: IRMAS_ARCHIVES[f"{wildcards.archive}.zip"],
        config_key="datasets.irmas.root",
    log:
        "results/logs/download_irmas/{archive}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=120,
    conda:
        ENV
    script:
        "../scripts/download.py"


rule extract_irmas:
    input:
        archive="resources/irmas/{archive}.zip",
    output:
        folder=directory("resources/irmas/{archive}"),
    wildcard_constraints:
        archive="|".join(IRMAS_ARCHIVE_STEMS),
    params:
        archive=lambda wildcards: wildcards.archive,
    log:
        "results/logs/extract_irmas/{archive}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/extract_irmas.py"


rule ingest_irmas:
    input:
        unpack(irmas_inputs),
    output:
        manifest=manifest_path("irmas"),
        audio=directory("results/irmas/mono"),
    params:
        train=irmas_folders()[0],
        test=irmas_folders()[1],
        max_train_per_class=IRMAS["max_train_per_class"],
        max_test=IRMAS["max_test"],
    log:
        "results/logs/ingest_irmas.log",
    benchmark:
        "results/benchmarks/ingest_irmas.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/ingest_irmas.py"


# Downloads run where Snakemake runs (compute nodes often have no internet).
localrules:
    download_irmas,
