"""The service on a real multi-node Ray cluster: placement, HTTP and handle, node loss, cleanup.

The tests share one deployment and run in file order: the last two lose a node and shut the
application down.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import httpx
import pytest
from ray import serve
from ray_support import APP, NODE, RayService, leftover_containers
from samples import ADD_PROGRAM, ADD_TESTS, NO_FORMAT, RIGHT, WRONG

from trainer_client.client import (
    AsyncRewardClient,
    RewardClient,
    RewardClientConfig,
    RewardItem,
    RewardOutcome,
)
from trainer_client.integrations.trl import VerifierReward
from trainer_client.integrations.verl import close_clients, compute_score
from trainer_client.serve_transport import handle_url, serve_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SUB_PROGRAM = ADD_PROGRAM.replace("a + b", "a - b")
# (item, accuracy, format) by construction: right/wrong answers, with and without the tags.
CASES = [
    (RewardItem(RIGHT, reference="4"), 1.0, 1.0),
    (RewardItem(WRONG, reference="4"), 0.0, 1.0),
    (RewardItem(NO_FORMAT, reference="4"), 1.0, 0.0),
    (RewardItem(ADD_PROGRAM, task="code", language="python", tests=ADD_TESTS), 1.0, 1.0),
    (RewardItem(SUB_PROGRAM, task="code", language="python", tests=ADD_TESTS), 0.0, 1.0),
]


def _batch(tag: str, repeat: int = 1) -> tuple[list[RewardItem], list[tuple[float, float]]]:
    items, expected = [], []
    for round_ in range(repeat):
        for index, (item, accuracy, fmt) in enumerate(CASES):
            items.append(RewardItem(**{**item.__dict__, "id": f"{tag}-{round_}-{index}"}))
            expected.append((accuracy, fmt))
    return items, expected


def _assert_right(
    items: Sequence[RewardItem],
    outcomes: Sequence[RewardOutcome],
    expected: Sequence[tuple[float, float]],
) -> None:
    assert [o.id for o in outcomes] == [i.id for i in items]
    for outcome, (accuracy, fmt) in zip(outcomes, expected, strict=True):
        assert outcome.error is None, outcome
        assert outcome.components["accuracy"] == accuracy, outcome
        assert outcome.components["format"] == fmt, outcome


def test_replicas_run_on_different_nodes_and_only_one_has_docker(ray_service: RayService) -> None:
    replicas = ray_service.replicas(expected=2)

    nodes = {r["node"]: r for r in replicas.values()}
    assert len(nodes) == 2
    assert nodes[ray_service.docker_node.node_id]["sandbox_backend"] == "docker"
    assert nodes[ray_service.docker_node.node_id]["sandbox_ready"] is True
    assert nodes[ray_service.bare_node.node_id]["sandbox_ready"] is False


def test_readyz_answers_per_replica(ray_service: RayService) -> None:
    answers: dict[str, httpx.Response] = {}
    for _ in range(40):
        reply = httpx.get(f"{ray_service.url}/readyz", timeout=30)
        answers[reply.headers["x-verifier-node"]] = reply
        if len(answers) == 2:
            break

    docker = answers[ray_service.docker_node.node_id]
    bare = answers[ray_service.bare_node.node_id]
    assert docker.status_code == 200 and docker.json()["sandbox"]["backend"] == "docker"
    assert bare.status_code == 503
    assert bare.json()["sandbox"]["ready"] is False
    assert "no docker" in bare.json()["sandbox"]["pool"]["last_error"]


@pytest.mark.parametrize("transport", ["http", "handle"])
def test_batches_come_back_right(ray_service: RayService, transport: str) -> None:
    url = ray_service.url if transport == "http" else serve_url(APP)
    items, expected = _batch(transport, repeat=4)

    with RewardClient(RewardClientConfig([url], chunk_size=5)) as client:
        outcomes = client.score(items)

    _assert_right(items, outcomes, expected)


def test_code_from_the_replica_without_docker_runs_where_docker_is(
    ray_service: RayService,
) -> None:
    items, expected = _batch("code")
    code = [(i, e) for i, e in zip(items, expected, strict=True) if i.task == "code"]
    body = {
        "items": [
            {
                "id": i.id,
                "task": "code",
                "response": i.response,
                "language": "python",
                "tests": ADD_TESTS,
            }
            for i, _ in code
        ]
    }
    served_by = set()
    for _ in range(20):
        reply = httpx.post(f"{ray_service.url}/v1/rewards", json=body, timeout=60)
        assert reply.status_code == 200
        served_by.add(reply.headers["x-verifier-node"])
        results = reply.json()["results"]
        assert [r["components"]["accuracy"] for r in results] == [e[0] for _, e in code]
        if ray_service.bare_node.node_id in served_by:
            break

    assert ray_service.bare_node.node_id in served_by


def test_a_handle_stands_for_its_application(ray_service: RayService) -> None:
    items, expected = _batch("named")
    handle = serve.get_app_handle(APP)

    with RewardClient(RewardClientConfig(handle)) as client:
        _assert_right(items, client.score(items), expected)
    assert handle_url(handle) == serve_url(APP)


def test_trl_reward_function_through_the_handle(ray_service: RayService) -> None:
    with VerifierReward(serve_url(APP)) as reward:
        values = reward(
            prompts=["What is 2+2?"] * 3,
            completions=[RIGHT, WRONG, RIGHT],
            reference=["4", "4", "\\frac{"],
        )

    # accuracy + format; an unparsable reference is the item's own error, not a 0.
    assert values == [2.0, 1.0, None]


def test_verl_compute_score_through_the_handle(ray_service: RayService) -> None:
    try:
        result = compute_score("math", RIGHT, "4", url=serve_url(APP))
    finally:
        close_clients()

    assert result["score"] == 2.0 and result["failed"] == 0.0


def test_metrics_show_replicas_and_in_flight_items(ray_service: RayService) -> None:
    deadline = time.monotonic() + 30  # the replica count is refreshed every 5 s
    text = ""
    while "verifier_serve_replicas 2.0" not in text and time.monotonic() < deadline:
        text = httpx.get(f"{ray_service.url}/metrics", timeout=30).text
        time.sleep(0.5)

    assert "verifier_serve_replicas 2.0" in text
    assert 'verifier_replica_in_flight_items{node="' in text
    assert "verifier_queue_depth" in text


def test_losing_a_node_mid_load_loses_no_item(ray_service: RayService) -> None:
    before = ray_service.replicas(expected=2)
    config = {"chunk_size": 5, "retries": 10, "backoff_s": 0.25, "max_backoff_s": 2.0}
    stop = threading.Event()
    rounds: list[tuple[list[RewardItem], list[RewardOutcome], list[tuple[float, float]]]] = []

    async def load(url: str) -> None:
        async with AsyncRewardClient(RewardClientConfig([url], **config)) as client:
            round_ = 0
            while not stop.is_set():
                items, expected = _batch(f"{url}-{round_}", repeat=2)
                rounds.append((items, await client.score(items), expected))
                round_ += 1

    async def both() -> None:
        await asyncio.gather(load(ray_service.url), load(serve_url(APP)))

    loader = threading.Thread(target=asyncio.run, args=(both(),))
    loader.start()
    try:
        time.sleep(3)  # requests in flight on both replicas
        ray_service.cluster.remove_node(ray_service.bare_node, allow_graceful=False)
        ray_service.cluster.add_node(**NODE)
        after = ray_service.replicas(expected=2, timeout_s=120)
        time.sleep(2)  # and some load on the replacement
    finally:
        stop.set()
        loader.join(timeout=120)

    assert not loader.is_alive()
    assert set(after) != set(before)  # a new replica took the lost one's place
    assert ray_service.bare_node.node_id not in {r["node"] for r in after.values()}
    assert len(rounds) >= 4
    for items, outcomes, expected in rounds:
        _assert_right(items, outcomes, expected)


def test_shutdown_leaves_no_sandbox_container(ray_service: RayService) -> None:
    assert ray_service.pools  # the docker replicas' pools were seen
    assert leftover_containers(ray_service.pools)  # they exist while the app runs

    serve.delete(APP)

    deadline = time.monotonic() + 60
    while leftover_containers(ray_service.pools) and time.monotonic() < deadline:
        time.sleep(1)
    assert leftover_containers(ray_service.pools) == []
