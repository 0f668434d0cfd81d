"""A bad config stops the workflow itself (a dry run) before any job, with the key and the value in the
message; the whole catalogue of bad values is in tests/unit/test_config_errors.py."""

from __future__ import annotations

import pytest

from tests.workflow.helpers import snakemake

DRY_RUNS = {
    # A schema error (Snakemake's validate reports the first one, with the key's path and the value).
    "schema": ("mask_search:\n  percentages: [50, 150]\n", ["percentages", "150", "maximum of 100"]),
    # Checks past the schema: every problem at once, each with its dotted key.
    "values": (("codecs:\n  opus:\n    type: opus\n    bitrates_kbps: [-6, 6, 16]\n    sample_rate: 44100\n"
                "evaluation:\n  models: [mfcc, wav2vec]\n"),
               ["codecs.opus.bitrates_kbps: -6 is outside Opus's bitrate range, 6 to 510 kbps",
                "codecs.opus.sample_rate: 44100 Hz is not an Opus coding rate",
                "evaluation.models lists 'wav2vec', which has no entry under models"]),
    "weights": ("models:\n  efficientat_mn04:\n    type: efficientat_mn04\n    weights: models/mn04.pt\n",
                ["models.efficientat_mn04.weights: models/mn04.pt (from ", "does not exist"]),
}


@pytest.mark.parametrize("overlay, expected", DRY_RUNS.values(), ids=DRY_RUNS.keys())
def test_dry_run_stops_on_a_bad_config_with_the_key_in_the_message(tmp_path, overlay, expected):
    (tmp_path / "bad.yaml").write_text(overlay)
    result = snakemake(tmp_path, "-n", configfiles=[tmp_path / "bad.yaml"], check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Job stats" not in output
    for text in expected:
        assert text in output, output[-3000:]
