# Codec: one job per (filter, coded condition, fold): bitstreams, decodes and what they cost.


include: "codec_functions.smk"


rule encode_full_bitrate:
    input:
        unpack(encode_inputs),
    output:
        codes=directory(full_codes_path("{dataset}", "{filter}", "{encoder}", "{fold}")),
    log:
        "results/logs/encode_full_bitrate/{dataset}/{filter}/{encoder}/fold{fold}.log",
    benchmark:
        "results/benchmarks/encode_full_bitrate/{dataset}/{filter}/{encoder}/fold{fold}.tsv"
    params:
        codec=lambda wildcards: config["codecs"][wildcards.encoder],
        cache_dir="resources/codecs",
    threads: threads_for("code")
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/encode_full_bitrate.py"


rule code_fold:
    input:
        unpack(code_inputs),
    output:
        manifest=audio_paths("{dataset}", "{filter}", "{codec}", None, "{fold}")[0],
        audio=audio_output(audio_paths("{dataset}", "{filter}", "{codec}", None, "{fold}")[1]),
    log:
        "results/logs/code_fold/{dataset}/{filter}/{codec}/fold{fold}.log",
    benchmark:
        "results/benchmarks/code_fold/{dataset}/{filter}/{codec}/fold{fold}.tsv"
    params:
        # The codec's whole config entry: changing it reruns this codec's jobs and no others.
        codec=lambda wildcards: codec_params(wildcards.codec),
        nominal_kbps=lambda wildcards: parse_condition(wildcards.codec)[1],
        cache_dir="resources/codecs",
    threads: threads_for("code")
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=0,
    conda:
        ENV
    script:
        "../scripts/code_fold.py"


rule download_codec_weights:
    output:
        "resources/codecs/{encoder}/{filename}",
    params:
        codec=lambda wildcards: config["codecs"][wildcards.encoder]["type"],
    log:
        "results/logs/download_codec_weights/{encoder}/{filename}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/download_codec_weights.py"


rule codec_quality:
    input:
        manifests=[path for filter, path in coded_manifests()],
    output:
        quality=report(
            "results/esc50_codec_quality.csv",
            caption="../report/codec_quality.rst",
            category="ESC-50",
        ),
    log:
        "results/logs/codec_quality.log",
    params:
        filters=[filter for filter, path in coded_manifests()],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/codec_quality.py"


localrules:
    codec_quality,
    download_codec_weights,
