"""`benchmarks.generalisation_gap`: a model fitted to few images scores
them above held-out ones."""

import dataclasses
import tempfile

import numpy as np
import pytest

from benchmarks import generalisation_gap
from keras_dvae import datasets, training

pytestmark = pytest.mark.backend_independent


def test_an_overfitted_model_scores_its_training_images_higher():
    digits = datasets.load("digits")
    few = dataclasses.replace(
        digits, x_train=digits.x_train[:50], x_valid=digits.x_test[:50]
    )
    run = training.train(
        "digits_bernoulli",
        data=few,
        output_dir=tempfile.mkdtemp(),
        epochs=150,
        batch_size=50,
        learning_rate=1e-2,
        evaluate_model=False,
    )
    found = generalisation_gap.gaps(run.model, few, "auto", examples=50, num_samples=20)
    assert set(found) == {"train", "valid", "test"}
    (train, train_se), (test, test_se) = found["train"], found["test"]
    # 50 images, 150 passes: far above the held-out ones.
    assert train - test > 5 * np.hypot(train_se, test_se)


def test_a_dynamically_binarised_set_has_no_fixed_training_images():
    digits = datasets.load("digits")
    dynamic = dataclasses.replace(digits, dynamic_binarization=True)
    with pytest.raises(ValueError, match="binarised afresh"):
        generalisation_gap.gaps(None, dynamic, "auto", examples=5, num_samples=2)
