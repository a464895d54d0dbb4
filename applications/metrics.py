"""Retrieval and clustering metrics: Hamming-ranking mAP, P@k, ACC, NMI.

Ranking convention (used everywhere here): the database is sorted by
Hamming distance to the query, and ties are broken by database index (a
stable sort). Average precision is taken over the whole ranking,

    AP = (1/R) Σ_{k : item k relevant} P@k,

with R the number of relevant database items (same label as the query).
A query with R = 0 scores AP = 0. mAP is the mean over queries.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score

#: Rows × database items held at once. About 16 bytes each are live per
#: block (float32 distances, int64 order, flags), so 2^26 keeps a block
#: near 1 GiB.
BLOCK_ELEMENTS = 2**26


def _check_codes(name, codes):
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of 0/1 codes. "
            f"Received: {name} with shape {codes.shape}"
        )
    if not np.isin(codes, (0, 1)).all():
        raise ValueError(f"`{name}` must hold only 0 and 1. Received: {name}")
    return codes


def hamming_distances(query_codes, database_codes):
    """Exact Hamming distances between rows of two 0/1 code matrices.

    With s = 2b − 1 ∈ {−1, +1}, d(a, b) = (bits − s_a · s_b) / 2: one
    float32 matrix product, exact for any number of bits below 2^24. In
    NumPy that is faster than XOR plus `np.bitwise_count` on packed words
    (7 s against 17 s for 10,000 × 60,000 codes of 64 bits on the 2-core
    machine of the README).

    Args:
        query_codes: (q, bits) array of 0/1.
        database_codes: (n, bits) array of 0/1.

    Returns:
        (q, n) uint8 distances (uint16 above 255 bits).

    Example:

    >>> hamming_distances([[0, 1, 1]], [[0, 1, 1], [1, 0, 1]]).tolist()
    [[0, 2]]
    """
    query_codes = _check_codes("query_codes", query_codes)
    database_codes = _check_codes("database_codes", database_codes)
    bits = query_codes.shape[1]
    if database_codes.shape[1] != bits:
        raise ValueError(
            "Query and database codes must have the same number of bits. "
            f"Received: {bits} and {database_codes.shape[1]}"
        )
    # Fold the constant into the product: [−s_q/2, bits/2] · [s_x, 1].
    q = np.empty((len(query_codes), bits + 1), np.float32)
    q[:, :bits] = 0.5 - query_codes
    q[:, bits] = bits / 2
    x = np.empty((len(database_codes), bits + 1), np.float32)
    x[:, :bits] = 2.0 * database_codes - 1.0
    x[:, bits] = 1.0
    distances = q @ x.T
    np.rint(distances, out=distances)
    return distances.astype(np.uint8 if bits < 256 else np.uint16)


def retrieval_metrics(
    query_codes, query_labels, database_codes, database_labels, k=100
):
    """mAP and precision@k of Hamming ranking (ties broken by index).

    The queries are processed in blocks of `BLOCK_ELEMENTS // n` rows, so
    memory stays near 1 GiB whatever the number of queries. Within a block
    the ranking is one stable argsort of the uint8 distances (a radix sort
    in NumPy); AP needs only the positions of the relevant items: the j-th
    relevant item at (1-based) position p contributes j / p.

    Args:
        query_codes: (q, bits) 0/1 codes of the queries.
        query_labels: (q,) int labels.
        database_codes: (n, bits) 0/1 codes of the database.
        database_labels: (n,) int labels.
        k: int, the cut-off of precision@k.

    Returns:
        A dict: "map", "precision_at_k" (means over queries), "k", and
        per-query arrays "average_precision" and "precision".

    Example:

    >>> m = retrieval_metrics([[0, 0]], [1], [[1, 1], [0, 0], [0, 1]],
    ...                       [1, 1, 0], k=2)
    >>> round(m["map"], 4), m["precision_at_k"]   # ranking: 1, 2, 0
    (0.8333, 0.5)
    """
    query_codes = _check_codes("query_codes", query_codes)
    database_codes = _check_codes("database_codes", database_codes)
    query_labels = np.asarray(query_labels).ravel()
    database_labels = np.asarray(database_labels).ravel()
    if len(query_labels) != len(query_codes) or len(database_labels) != len(
        database_codes
    ):
        raise ValueError(
            "Every code needs one label. Received: "
            f"{len(query_codes)} query codes, {len(query_labels)} labels; "
            f"{len(database_codes)} database codes, {len(database_labels)} labels"
        )
    n = len(database_codes)
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"`k` must be in [1, {n}]. Received: k={k}")
    block = max(1, BLOCK_ELEMENTS // n)
    average_precision = np.empty(len(query_codes))
    precision = np.empty(len(query_codes))
    for start in range(0, len(query_codes), block):
        stop = min(start + block, len(query_codes))
        distances = hamming_distances(query_codes[start:stop], database_codes)
        order = np.argsort(distances, axis=1, kind="stable")
        del distances
        relevant = np.take(database_labels, order) == query_labels[start:stop, None]
        del order
        precision[start:stop] = relevant[:, :k].mean(axis=1)
        rows, positions = np.nonzero(relevant)
        counts = np.bincount(rows, minlength=stop - start)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank_among_relevant = np.arange(len(rows)) - first[rows] + 1
        sums = np.bincount(
            rows,
            weights=rank_among_relevant / (positions + 1.0),
            minlength=stop - start,
        )
        average_precision[start:stop] = sums / np.maximum(counts, 1)
    return {
        "map": float(average_precision.mean()),
        "precision_at_k": float(precision.mean()),
        "k": k,
        "average_precision": average_precision,
        "precision": precision,
    }


def hungarian_accuracy(labels, assignments):
    """Unsupervised clustering accuracy under the best one-to-one matching.

    ACC = max_m (1/n) Σ_i 1[labels_i = m(assignments_i)], the maximum over
    one-to-one maps m from clusters to labels, found by the Hungarian
    algorithm (`scipy.optimize.linear_sum_assignment`) on the contingency
    table. With more clusters than labels, unmatched clusters count as
    errors.

    Args:
        labels: (n,) int true labels.
        assignments: (n,) int cluster indices.

    Returns:
        float in [0, 1].

    Example:

    >>> hungarian_accuracy([0, 0, 1, 2], [2, 2, 0, 1])
    1.0
    """
    labels = np.asarray(labels).ravel()
    assignments = np.asarray(assignments).ravel()
    if len(labels) != len(assignments) or not len(labels):
        raise ValueError(
            "`labels` and `assignments` must be non-empty and of equal length. "
            f"Received: {len(labels)} and {len(assignments)}"
        )
    _, label_ids = np.unique(labels, return_inverse=True)
    _, cluster_ids = np.unique(assignments, return_inverse=True)
    table = np.zeros((cluster_ids.max() + 1, label_ids.max() + 1), np.int64)
    np.add.at(table, (cluster_ids, label_ids), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(labels))


def normalized_mutual_information(labels, assignments):
    """NMI with the arithmetic-mean normalisation (scikit-learn's default).

    Example:

    >>> normalized_mutual_information([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    return float(normalized_mutual_info_score(labels, assignments))
