# Data: the input functions and settings of the rules in data.smk.


def esc50_root():
    """Folder holding meta/esc50.csv and audio/: generated, downloaded, or the user's copy."""
    if ESC50.get("synthetic"):
        return rules.make_synthetic_esc50.output.root
    if ESC50["root"] is None:
        return rules.extract_esc50.output.root
    return ESC50["root"]


def esc50_inputs(wildcards):
    if ESC50.get("synthetic") or ESC50["root"] is None:
        return {"root": esc50_root()}  # produced by a rule of this file
    return {"meta": os.path.join(esc50_root(), "meta", "esc50.csv")}


def model_download(wildcards):
    """(config key, url, sha256) of the file `wildcards.filename` that model `wildcards.model`
    downloads (its config key is null; the key is what names a local copy instead)."""
    return next(
        (f"models.{wildcards.model}.{key}", download.url, download.sha256)
        for key, download in model_downloads(model_params(wildcards.model)).items()
        if download.filename == wildcards.filename
    )


def synthetic_fold_paths(folds):
    """fold -> (audio folder, strong-label TSV) of the soundscapes synthesised from ESC-50 fold `fold`."""
    return {fold: (f"{DESED_SYNTHETIC}/audio/fold{fold}", f"{DESED_SYNTHETIC}/metadata/fold{fold}.tsv") for fold in folds}


def desed_fold_paths():
    """fold -> (audio folder, strong-label TSV) of the DESED-format data the workflow tests on."""
    if DESED.get("root"):
        return {
            entry["fold"]: (os.path.join(DESED["root"], entry["audio"]), os.path.join(DESED["root"], entry["labels"]))
            for entry in DESED["folds"]
        }
    return synthetic_fold_paths(FOLDS)


def desed_inputs(wildcards):
    if DESED.get("root"):
        return {"labels": [tsv for audio, tsv in desed_fold_paths().values()]}
    return {"root": DESED_SYNTHETIC}  # made by synthesize_desed
