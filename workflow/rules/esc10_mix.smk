# esc10_mix's data: two-source mixtures of ESC-10 clips of one fold (plus every single clip), rendered
# from the ESC-50 manifest; its heads, metrics and summary come from multilabel.smk.


rule mix_esc10:
    input:
        manifest=manifest_path("esc50"),
    output:
        manifest=manifest_path("esc10_mix"),
        audio=directory("results/esc10_mix/mixed"),
    params:
        mix=config["datasets"]["esc10_mix"],
    log:
        "results/logs/mix_esc10.log",
    benchmark:
        "results/benchmarks/mix_esc10.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/mix_esc10.py"
