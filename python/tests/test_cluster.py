"""A Ray cluster started as docs/python.md starts one: a head and a second node on this machine
sharing one token (``RAY_AUTH_TOKEN`` with ``RAY_AUTH_MODE=token``, Ray 2.60's token
authentication), PPO with one env runner on each node for two iterations, then every Ray
process stopped."""

from __future__ import annotations

import os
import pathlib
import secrets
import socket
import subprocess
import sys

import pytest

RAY = str(pathlib.Path(sys.executable).with_name("ray"))

#: Run by a separate driver, as a user's script on the head node.
TRAIN = """
import sys, time, ray
from handoff_rl.rllib import ppo_config

ray.init(address=sys.argv[1], log_to_driver=False)
deadline = time.time() + 60
while sum(n["Alive"] for n in ray.nodes()) < 2 and time.time() < deadline:
    time.sleep(0.5)
algo = ppo_config(
    "handoff_rl/Small-v4", num_env_runners=2, seed=1,
    env_config={"days": 1, "scale": 0.3, "max_steps": 200},
    train_batch_size_per_learner=400, minibatch_size=100, num_epochs=2,
).resources(num_cpus_for_main_process=0).build_algo()
nodes = algo.env_runner_group.foreach_env_runner(
    lambda runner: ray.get_runtime_context().get_node_id(), local_env_runner=False
)
for _ in range(2):
    result = algo.train()
print(len(set(nodes)), int(result["env_runners"]["num_env_steps_sampled_lifetime"]))
algo.stop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The cluster's token, given to every process in its environment rather than read from
#: ``~/.ray/auth_token``: on a machine without that file a head would start with authentication
#: off and refuse the node that asks for it (seen on a fresh machine, 3 December 2026).
TOKEN_ENV = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))


def ray_cli(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([RAY, *args], env=TOKEN_ENV, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"ray {' '.join(args)}: {out.stderr[-3000:]}"
    return out


@pytest.fixture
def two_nodes():
    port = free_port()
    ray_cli(
        "start",
        "--head",
        f"--port={port}",
        "--num-cpus=1",
        "--include-dashboard=false",
        "--disable-usage-stats",
    )
    try:
        # the second node has its own address on this machine (loopback); on a real cluster
        # the head's token file is copied to it first (docs/python.md)
        ray_cli(
            "start",
            f"--address=127.0.0.1:{port}",
            "--num-cpus=1",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
        )
        yield f"127.0.0.1:{port}"
    finally:
        ray_cli("stop", "--force")


def test_ppo_trains_with_an_env_runner_on_each_of_two_nodes(two_nodes):
    out = subprocess.run(
        [sys.executable, "-c", TRAIN, two_nodes],
        env=TOKEN_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    nodes, steps = map(int, out.stdout.split()[-2:])
    assert nodes == 2, "one env runner on each node"
    assert steps >= 800
