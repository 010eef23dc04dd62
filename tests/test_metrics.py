"""CMC / mAP (lib.eval.metrics) against a plain per-query reference written here, and hand cases."""

import numpy as np
import pandas as pd
import pytest
import torch

from lib.eval import metrics, ranking
from lib.eval.metrics import evaluate, evaluate_by_resolution, evaluate_features, single_shot_draws

# ---------------------------------------------------------------- the reference (per query)


def reference_ranking(dist, q_pids, g_pids, q_camids, g_camids, max_rank, remove_same_cam=True):
    """One query at a time: stable argsort, drop same pid + same cam, read CMC and AP."""
    dist = np.asarray(dist, dtype=np.float64)
    cmc_sum, aps = np.zeros(max_rank), []
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        if remove_same_cam:
            same = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
            order = order[~same]
        match = g_pids[order] == q_pids[i]
        if not match.any():
            continue
        first = int(np.argmax(match))
        if first < max_rank:
            cmc_sum[first:] += 1
        hits = np.flatnonzero(match)
        aps.append(np.mean([(k + 1) / (pos + 1) for k, pos in enumerate(hits)]))
    if not aps:
        return np.full(max_rank, np.nan), float("nan"), 0
    return cmc_sum / len(aps), float(np.mean(aps)), len(aps)


def reference_single_shot(dist, q_pids, g_pids, max_rank, trials, seed):
    """Per trial: for each pid keep its image with the smallest random key (the documented
    draw), rank without camera removal, then average CMC and mAP over trials."""
    cmcs, maps = [], []
    for t in range(trials):
        keys = np.random.default_rng((seed, t)).random(len(g_pids))
        keep = []
        for pid in np.unique(g_pids):
            idx = np.flatnonzero(g_pids == pid)
            keep.append(idx[np.argmin(keys[idx])])
        keep = np.sort(keep)
        cmc, m_ap, valid = reference_ranking(
            dist[:, keep], q_pids, g_pids[keep], None, None, max_rank, remove_same_cam=False
        )
        cmcs.append(cmc)
        maps.append(m_ap)
    return np.mean(cmcs, axis=0), float(np.mean(maps)), valid


def random_problem(rng, ties: bool):
    num_q, num_g = int(rng.integers(1, 25)), int(rng.integers(1, 60))
    num_ids, num_cams = int(rng.integers(1, 8)), int(rng.integers(1, 4))
    q_pids, g_pids = rng.integers(0, num_ids, num_q), rng.integers(0, num_ids, num_g)
    q_camids, g_camids = rng.integers(0, num_cams, num_q), rng.integers(0, num_cams, num_g)
    if ties:  # few distinct values: many ties, including -0.0 against 0.0 and inf
        dist = rng.choice(np.array([-0.0, 0.0, 1.0, 2.0, 2.5, np.inf]), size=(num_q, num_g))
    else:
        dist = rng.normal(size=(num_q, num_g))
    return dist, q_pids, g_pids, q_camids, g_camids


def assert_same(result, expected, exact_cmc=True):
    cmc, m_ap, valid = expected
    assert result["num_valid"] == valid
    np.testing.assert_allclose(result["cmc"], cmc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["mAP"], m_ap, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------- market protocol


@pytest.fixture(params=["binned", "below limit"])
def search_path(request, monkeypatch):
    """Both float32 counting paths of lib.eval.metrics: a histogram with exact boundary bins, or a
    search of the entries below the largest same-pid distance (float64: whole-chunk search)."""
    monkeypatch.setattr(ranking, "FILTER_MAX_FRACTION", 0.0 if request.param == "binned" else 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_market_matches_reference_on_random_problems(dtype, search_path):
    rng = np.random.default_rng(0)
    for trial in range(150):
        dist, qp, gp, qc, gc = random_problem(rng, ties=trial % 2 == 0)
        dist = dist.astype(dtype)
        max_rank = int(rng.integers(1, 70))
        chunk = int(rng.integers(1, 30))
        expected = reference_ranking(dist, qp, gp, qc, gc, max_rank)
        result = evaluate(dist, qp, gp, qc, gc, max_rank=max_rank, chunk_size=chunk)
        assert result["cmc"].shape == (max_rank,)
        assert result["num_query"] == len(qp)
        assert_same(result, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_counts_at_most_equal_brute_force_on_every_path(search_path, dtype):
    rng = np.random.default_rng(9)
    # +-inf rows bin with the identity map: values around NUM_BINS reach the top bins
    top = ranking.NUM_BINS + np.array([-0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 900.0])
    values = np.concatenate([[-np.inf, -3.5, -1.0, -0.0, 0.0, 1e-30, 2.0, np.inf], top])
    for trial in range(60):
        rows, cols, width = (int(x) for x in rng.integers(1, 12, 3))
        if trial % 2:
            dist = rng.choice(values, (rows, cols)).astype(dtype)
        else:
            dist = rng.normal(size=(rows, cols)).astype(dtype)
        pool = np.concatenate([values, dist.ravel()]).astype(dtype)
        thresholds = np.sort(rng.choice(pool, (rows, width)))
        expected = (dist[:, :, None] <= thresholds[:, None, :]).sum(axis=1)
        got = ranking.counts_at_most(
            torch.from_numpy(dist),
            torch.from_numpy(thresholds),
            torch.from_numpy(thresholds[:, -1]),
            {},
        )
        np.testing.assert_array_equal(got.numpy(), expected)


def test_market_hand_case_junk_removed_and_ap():
    # gallery idx 3 (pid 1, cam 0) is junk; matches at kept ranks 2 and 4: AP = (1/2 + 2/4) / 2
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    g_pids, g_camids = np.array([2, 1, 3, 1, 1]), np.array([1, 1, 0, 0, 1])
    res = evaluate(dist, [1], g_pids, [0], g_camids, max_rank=6)
    np.testing.assert_allclose(res["cmc"], [0, 1, 1, 1, 1, 1])
    assert res["mAP"] == pytest.approx(0.5)
    assert res["num_valid"] == 1


def test_ties_break_by_gallery_index():
    # all distances equal: stable order 0, 1, 2
    tie = np.ones((2, 3))
    res = evaluate(tie, [1, 1], [2, 1, 1], [0, 0], [1, 1, 1], max_rank=3)
    # query 0 and 1 alike: matches at ranks 2 and 3: AP = (1/2 + 2/3) / 2 = 7/12
    np.testing.assert_allclose(res["cmc"], [0, 1, 1])
    assert res["mAP"] == pytest.approx(7 / 12)
    res = evaluate(tie[:1], [1], [1, 2, 2], [0], [1, 1, 1], max_rank=3)
    np.testing.assert_allclose(res["cmc"], [1, 1, 1])
    assert res["mAP"] == pytest.approx(1.0)


def test_queries_without_match_are_skipped_and_counted():
    dist = np.array([[0.3, 0.1], [0.2, 0.4], [0.5, 0.6]])
    # q0 matches g1 (rank 1); q1's only same-pid image is same-camera junk; q2's pid is absent
    res = evaluate(dist, [1, 2, 9], [2, 1], [0, 1, 0], [1, 1], max_rank=2)
    assert (res["num_valid"], res["num_query"]) == (1, 3)
    np.testing.assert_allclose(res["cmc"], [1, 1])
    assert res["mAP"] == pytest.approx(1.0)
    none = evaluate(dist[2:], [9], [2, 1], [0], [1, 1], max_rank=2)
    assert none["num_valid"] == 0 and np.isnan(none["mAP"]) and np.isnan(none["cmc"]).all()


def test_cmc_stays_at_one_beyond_gallery_size():
    res = evaluate(np.array([[0.2, 0.1]]), [1], [1, 2], [0], [1, 1], max_rank=5)
    np.testing.assert_allclose(res["cmc"], [0, 1, 1, 1, 1])
    assert res["mAP"] == pytest.approx(0.5)


def test_torch_input_and_numpy_input_agree():
    rng = np.random.default_rng(3)
    dist = rng.integers(0, 4, size=(20, 50)).astype(np.float64)
    qp, gp, qc, gc = (rng.integers(0, 4, n) for n in (20, 50, 20, 50))
    a = evaluate(dist.astype(np.float32), qp, gp, qc, gc)
    b = evaluate(torch.from_numpy(dist).float(), *(torch.from_numpy(x) for x in (qp, gp, qc, gc)))
    np.testing.assert_array_equal(a["cmc"], b["cmc"])
    assert a["num_valid"] > 10 and a["mAP"] == b["mAP"]


def test_errors_are_explicit():
    d = np.zeros((1, 2))
    with pytest.raises(ValueError, match="protocol"):
        evaluate(d, [0], [0, 1], [0], [0, 1], protocol="cuhk")
    with pytest.raises(ValueError, match="lengths"):
        evaluate(d, [0], [0], [0], [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.array([[np.nan, 1.0]]), [0], [0, 1], [0], [1, 1])
    with pytest.raises(ValueError, match="need queries and gallery"):
        evaluate(np.zeros((0, 2)), [], [0, 1], [], [0, 1])
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate_features(np.full((1, 2), np.inf), np.zeros((2, 2)), [0], [0, 1], [0], [0, 1])


# -------------------------------------------------------------------- single-shot protocol


def test_single_shot_draws_one_image_per_identity_seeded():
    g_pids = np.array([5, 5, 5, 5, 2, 9, 9])
    draws = single_shot_draws(g_pids, trials=400, seed=1)
    for keep in draws:
        assert sorted(g_pids[keep]) == [2, 5, 9]
    again = single_shot_draws(g_pids, trials=400, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(draws, again, strict=True))
    other = single_shot_draws(g_pids, trials=400, seed=2)
    assert not all(np.array_equal(x, y) for x, y in zip(draws, other, strict=True))
    chosen = np.array([keep[g_pids[keep] == 5][0] for keep in draws])
    counts = np.bincount(chosen, minlength=4)[:4]
    assert counts.min() > 70 and counts.max() < 130  # uniform over the 4 images: 100 each


def test_single_shot_hand_case():
    # query pid 1: gallery pid 1 images at 0.5 (idx 0) and 0.1 (idx 1), pid 2 at 0.3 (idx 2)
    dist = np.array([[0.5, 0.1, 0.3]])
    g_pids = np.array([1, 1, 2])
    res = evaluate(dist, [1], g_pids, [0], [1, 1, 1], protocol="single_shot", trials=20, seed=4)
    kept_1 = sum(1 in keep for keep in single_shot_draws(g_pids, 20, 4))
    assert 0 < kept_1 < 20
    # idx 1 kept: rank 1 (AP 1); idx 0 kept: rank 2 behind pid 2 (AP 1/2)
    assert res["mAP"] == pytest.approx((kept_1 * 1.0 + (20 - kept_1) * 0.5) / 20)
    assert res["cmc"][0] == pytest.approx(kept_1 / 20)
    assert res["cmc"][1] == 1.0 and res["trials"] == 20
    p = kept_1 / 20
    assert res["mAP_std"] == pytest.approx(np.sqrt(p * (1 - p)) * 0.5)


def test_single_shot_matches_reference_and_ignores_cameras(search_path):
    rng = np.random.default_rng(1)
    for trial in range(40):
        dist, qp, gp, qc, gc = random_problem(rng, ties=trial % 2 == 0)
        trials, seed = int(rng.integers(1, 6)), int(rng.integers(0, 100))
        expected = reference_single_shot(dist, qp, gp, 20, trials, seed)
        kw = dict(protocol="single_shot", max_rank=20, trials=trials, seed=seed, chunk_size=7)
        assert_same(evaluate(dist, qp, gp, qc, gc, **kw), expected)
        assert_same(evaluate(dist, qp, gp, qc, gc + 1, **kw), expected)  # cameras unused


# ------------------------------------------------------------------------ from features


def integer_features(rng, n, dim=6):
    return rng.integers(-3, 4, size=(n, dim)).astype(np.float32)  # exact in float32: ties


def squared_euclidean(qf, gf):
    q, g = qf.astype(np.float64), gf.astype(np.float64)
    return ((q[:, None, :] - g[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("protocol", ["market", "single_shot"])
def test_features_match_reference_in_any_chunking(protocol, search_path):
    rng = np.random.default_rng(2)
    for _ in range(25):
        _, qp, gp, qc, gc = random_problem(rng, ties=False)
        qf, gf = integer_features(rng, len(qp)), integer_features(rng, len(gp))
        dist = squared_euclidean(qf, gf)
        if protocol == "market":
            expected = reference_ranking(dist, qp, gp, qc, gc, 10)
        else:
            expected = reference_single_shot(dist, qp, gp, 10, 3, 5)
        for chunk in (1, 4, None):
            res = evaluate_features(
                qf,
                gf,
                qp,
                gp,
                qc,
                gc,
                chunk_size=chunk,
                protocol=protocol,
                max_rank=10,
                trials=3,
                seed=5,
            )
            assert_same(res, expected)
        res = evaluate_features(torch.from_numpy(qf), torch.from_numpy(gf), qp, gp, qc, gc,
                                protocol=protocol, max_rank=10, trials=3, seed=5)  # fmt: skip
        assert_same(res, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_features_match_cpu():
    rng = np.random.default_rng(7)
    _, qp, gp, qc, gc = random_problem(rng, ties=False)
    qf, gf = integer_features(rng, len(qp)), integer_features(rng, len(gp))
    expected = reference_ranking(squared_euclidean(qf, gf), qp, gp, qc, gc, 10)
    q, g = torch.from_numpy(qf).cuda(), torch.from_numpy(gf).cuda()
    assert_same(evaluate_features(q, g, qp, gp, qc, gc, max_rank=10, chunk_size=3), expected)
    dist = torch.from_numpy(squared_euclidean(qf, gf)).cuda()
    assert_same(evaluate(dist, qp, gp, qc, gc, max_rank=10), expected)


def test_counting_path_handles_large_tie_blocks(search_path):
    # a whole row of equal distances, wider than one tie batch of the exact tie count
    dist = torch.zeros(3, 5000)
    g_pids = torch.arange(5000) % 7
    res = evaluate(dist, [0, 3, 6], g_pids, [0, 0, 0], torch.ones(5000), max_rank=5)
    expected = reference_ranking(dist.numpy(), np.array([0, 3, 6]), g_pids.numpy(),
                                 np.zeros(3), np.ones(5000), 5)  # fmt: skip
    assert_same(res, expected)


# -------------------------------------------------------------------- by resolution bucket


def test_resolution_buckets_are_right_closed():
    b = metrics.resolution_buckets([0.0, 0.125, 0.126, 0.5, 1.0])
    assert list(b) == ["0-0.125", "0-0.125", "0.125-0.25", "0.375-0.5", "0.875-1"]
    with pytest.raises(ValueError, match="outside"):
        metrics.resolution_buckets([1.5])


@pytest.mark.parametrize("protocol", ["market", "single_shot"])
def test_evaluate_by_resolution_matches_reference_per_bucket_pair(protocol):
    rng = np.random.default_rng(8)
    num_q, num_g = 30, 80
    qp, gp = rng.integers(0, 6, num_q), rng.integers(0, 6, num_g)
    qc, gc = rng.integers(0, 3, num_q), rng.integers(0, 3, num_g)
    qf, gf = integer_features(rng, num_q), integer_features(rng, num_g)
    q_res = rng.choice([0.2, 0.4, 1.0], num_q)
    g_res = rng.choice([0.2, 1.0], num_g)
    bins = [0.0, 0.25, 0.5, 1.0]
    kw = dict(bins=bins, max_rank=5, protocol=protocol, trials=3, seed=2)
    df = evaluate_by_resolution(qf, gf, qp, gp, qc, gc, q_res, g_res, **kw)
    assert list(df.columns) == [
        "q_bucket", "g_bucket", "num_query", "num_gallery", "num_valid", "rank1", "mAP"
    ]  # fmt: skip
    assert len(df) == 3 * 2
    labels = {0.2: "0-0.25", 0.4: "0.25-0.5", 1.0: "0.5-1"}
    for row in df.itertuples():
        qi = np.flatnonzero([labels[r] == row.q_bucket for r in q_res])
        gi = np.flatnonzero([labels[r] == row.g_bucket for r in g_res])
        dist = squared_euclidean(qf[qi], gf[gi])
        if protocol == "market":
            cmc, m_ap, valid = reference_ranking(dist, qp[qi], gp[gi], qc[qi], gc[gi], 5)
        else:
            cmc, m_ap, valid = reference_single_shot(dist, qp[qi], gp[gi], 5, 3, 2)
        assert (row.num_query, row.num_gallery, row.num_valid) == (len(qi), len(gi), valid)
        np.testing.assert_allclose([row.rank1, row.mAP], [cmc[0], m_ap], atol=1e-12)
    heat = df.pivot(index="q_bucket", columns="g_bucket", values="rank1")
    assert heat.shape == (3, 2)
    assert isinstance(df["q_bucket"].dtype, pd.CategoricalDtype)
