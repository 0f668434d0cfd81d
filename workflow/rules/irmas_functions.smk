# irmas: the input functions and settings of the rules in irmas.smk.


IRMAS = config["datasets"]["irmas"]
# The archives' names without .zip: each is downloaded and unpacked into resources/irmas/<name>.
IRMAS_ARCHIVE_STEMS = [name.removesuffix(".zip") for name in IRMAS_ARCHIVES]


def irmas_folders():
    """(training folder, test folders) ingest reads: the local copy's, or the unpacked archives'."""
    root = IRMAS["root"] if IRMAS["root"] is not None else "resources/irmas"
    return os.path.join(root, IRMAS["train"]), [os.path.join(root, test) for test in IRMAS["test"]]


def irmas_inputs(wildcards):
    if IRMAS["root"] is None:  # made by extract_irmas
        return {"folders": [f"resources/irmas/{stem}" for stem in IRMAS_ARCHIVE_STEMS]}
    return {}
