"""Retrieval and clustering metrics against brute-force references.

The metrics are NumPy and scikit-learn: these tests run once, on one backend.
"""

import numpy as np
import pytest

from applications import metrics

pytestmark = pytest.mark.backend_independent


def naive_retrieval(queries, query_labels, database, database_labels, k):
    """One query at a time: rank by (distance, index), then AP and P@k."""
    aps, precisions = [], []
    for code, label in zip(queries, query_labels, strict=True):
        distances = [int(np.sum(code != row)) for row in database]
        order = sorted(range(len(database)), key=lambda i: (distances[i], i))
        relevant = [database_labels[i] == label for i in order]
        hits, total = 0, 0.0
        for position, is_relevant in enumerate(relevant, start=1):
            if is_relevant:
                hits += 1
                total += hits / position
        aps.append(total / hits if hits else 0.0)
        precisions.append(sum(relevant[:k]) / k)
    return np.array(aps), np.array(precisions)


@pytest.mark.parametrize("bits", [3, 16, 64])
def test_retrieval_metrics_equal_a_naive_loop(bits, monkeypatch):
    rng = np.random.default_rng(bits)
    database = rng.integers(0, 2, (150, bits))
    queries = rng.integers(0, 2, (23, bits))
    database_labels = rng.integers(0, 4, 150)
    query_labels = rng.integers(0, 5, 23)  # label 4: no relevant item, AP 0
    # Small blocks, so several of them and a ragged last one are exercised.
    monkeypatch.setattr(metrics, "BLOCK_ELEMENTS", 150 * 5)
    result = metrics.retrieval_metrics(
        queries, query_labels, database, database_labels, k=10
    )
    aps, precisions = naive_retrieval(
        queries, query_labels, database, database_labels, k=10
    )
    np.testing.assert_allclose(result["average_precision"], aps, atol=1e-12)
    np.testing.assert_allclose(result["precision"], precisions, atol=1e-12)
    assert result["map"] == pytest.approx(aps.mean())
    assert result["precision_at_k"] == pytest.approx(precisions.mean())


def test_ties_are_broken_by_index():
    # All distances tie: the ranking is the database order.
    database_labels = np.array([0, 1, 1, 0])
    result = metrics.retrieval_metrics(
        np.zeros((1, 4)), [1], np.zeros((4, 4)), database_labels, k=2
    )
    assert result["map"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert result["precision_at_k"] == 0.5


def test_hamming_distances_are_exact():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, (7, 300)), rng.integers(0, 2, (9, 300))
    expected = (a[:, None, :] != b[None, :, :]).sum(-1)
    result = metrics.hamming_distances(a, b)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, expected)
    with pytest.raises(ValueError, match="same number of bits"):
        metrics.hamming_distances(a[:, :10], b)
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.hamming_distances(a * 2, b)


def test_hungarian_accuracy_and_nmi():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    permuted = rng.permutation(10)[labels]
    assert metrics.hungarian_accuracy(labels, permuted) == 1.0
    assert metrics.normalized_mutual_information(labels, permuted) == pytest.approx(1.0)
    # Brute force over all matchings of a 3-cluster assignment.
    import itertools

    labels = rng.integers(0, 3, 60)
    clusters = rng.integers(0, 3, 60)
    best = max(
        np.mean(np.array(perm)[clusters] == labels)
        for perm in itertools.permutations(range(3))
    )
    assert metrics.hungarian_accuracy(labels, clusters) == pytest.approx(best)
    # Two clusters for three labels: the third label is always wrong.
    assert metrics.hungarian_accuracy([0, 1, 2, 2], [0, 1, 1, 1]) == 0.75
