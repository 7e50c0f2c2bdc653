from workers.tune import strategy


def test_plan_keeps_a_third_and_trains_three_times_longer():
    assert strategy.plan(9, max_epochs=18) == [(9, 2), (3, 6), (1, 18)]
    assert strategy.plan(27, max_epochs=27, eta=3, min_epochs=1) == [
        (27, 1),
        (9, 3),
        (3, 9),
        (1, 27),
    ]
    assert strategy.plan(1, max_epochs=10) == [(1, 10)]
    assert strategy.plan(9, max_epochs=3) == [(9, 3)]  # too short to halve
    assert strategy.epoch_budget([(9, 2), (3, 6), (1, 18)]) == 54


def test_halving_promotes_the_best_and_ranks_ties_by_latency():
    # candidate i reaches accuracy q_i * (1 - 1/epochs): the ranking is visible early
    quality = [0.5, 0.9, 0.7, 0.95, 0.6, 0.8, 0.3, 0.85, 0.4]
    calls = []

    def run(c, epochs):
        calls.append((c, epochs))
        acc = quality[c] * (1 - 1 / (epochs + 1))
        return {"accuracy": {"int8": acc}, "profile": {"latency_ms": 1.0 + c}}

    res = strategy.successive_halving(list(range(9)), run, max_epochs=18)
    assert [c for c, e in calls if e == 6] == [3, 1, 7]
    assert [c for c, e in calls if e == 18] == [3]
    assert strategy.best(res, final_epochs=18)["candidate"] == 3
    rnd = strategy.random_search(list(range(9)), run, epochs=18, n=3)
    assert strategy.best(rnd)["candidate"] == 1
    tie = [
        {"accuracy": {"int8": 0.9}, "profile": {"latency_ms": 5.0}, "id": "slow"},
        {"accuracy": {"int8": 0.9}, "profile": {"latency_ms": 2.0}, "id": "fast"},
        {"accuracy": {"int8": None}, "profile": None, "id": "failed"},
    ]
    assert [r["id"] for r in strategy.promote(tie, 3)] == ["fast", "slow"]


def test_pareto_front_keeps_only_undominated_trials():
    pts = [("a", 0.9, 5.0), ("b", 0.95, 8.0), ("c", 0.85, 6.0), ("d", 0.9, 5.0), ("e", 0.7, 1.0)]
    assert strategy.pareto_front(pts) == {"a", "b", "d", "e"}
    assert strategy.pareto_front([]) == set()
