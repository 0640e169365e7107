"""The examples in examples/ run (shortened) and show what they claim."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))


def test_heteroscedastic_regression_recovers_the_noise_level():
    import heteroscedastic_regression as ex

    r = ex.main(steps=600, verbose=False)
    assert r["log_ratio_error"] < 0.5  # predicted std within ~1.6x of the truth on average
    assert r["nll"] < r["baseline_nll"]


def test_mixture_density_network_beats_a_single_gaussian():
    import mixture_density as ex

    r = ex.main(steps=600, verbose=False)
    assert r["mdn_nll"] < r["single_gaussian_nll"] - 0.3


def test_word_window_fine_tuning_improves_on_frozen_embeddings():
    import word_window as ex

    r = ex.main(epochs=3, verbose=False)
    assert r["finetuned_acc"] > r["frozen_acc"] and r["embedding_change"] > 0


@pytest.mark.parametrize("name", ["quickstart"])
def test_quickstart_learns_the_spirals(name):
    import quickstart

    assert quickstart.main(steps=900) > 0.8
