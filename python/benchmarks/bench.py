"""Speed of handoff from Python beside the native numbers of `handoff bench`, measured in one run.

    .venv/bin/python python/benchmarks/bench.py [--handoff target/release/handoff] [--json]

Rows (all on the `small` scenario, random valid actions, observations encoded as in Rust):
- the single environment stepped from Python (one `env.step` per decision, the action drawn in
  Python from the mask), against `handoff bench`'s environment row;
- the vector environment, 64 environments, on 1 and 2 threads (one call per step for all 64,
  actions drawn for all rows at once with NumPy), against `handoff bench`'s vector row;
- sb3-contrib's MaskablePPO training on 16 native environments (`handoff_rl.sb3.HandoffVecEnv`,
  SB3's default network and hyperparameters but n_steps 128), against `handoff bench`'s PPO row
  (16 environments, its own network), both including rollouts and updates.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time

import numpy as np

import handoff_rl
from handoff_rl.sb3 import HandoffVecEnv

SCENARIO = "small"


def single_env(steps: int) -> float:
    """Steps per second of one HandoffEnv driven from Python."""
    env = handoff_rl.HandoffEnv(SCENARIO)
    draws = np.random.default_rng(0).integers(1 << 30, size=steps)
    _, info = env.reset(seed=1)
    episode = 1
    start = time.perf_counter()
    for t in range(steps):
        valid = np.flatnonzero(info["action_mask"])
        _, _, terminated, truncated, info = env.step(int(valid[draws[t] % valid.size]))
        if terminated or truncated:
            episode += 1
            _, info = env.reset(seed=episode)
    return steps / (time.perf_counter() - start)


def vector_env(envs: int, threads: int, steps: int) -> float:
    """Environment steps per second of a HandoffVectorEnv (all environments counted)."""
    vec = handoff_rl.HandoffVectorEnv(envs, SCENARIO, threads=threads)
    rng = np.random.default_rng(0)
    _, info = vec.reset(seed=1)
    calls = max(1, steps // envs)
    start = time.perf_counter()
    for _ in range(calls):
        actions = (rng.random(info["action_mask"].shape) * info["action_mask"]).argmax(axis=1)
        _, _, _, _, info = vec.step(actions)
    return calls * envs / (time.perf_counter() - start)


def maskable_ppo(envs: int, steps: int) -> float:
    """Training steps per second of MaskablePPO on the native vector, updates included."""
    from sb3_contrib import MaskablePPO

    vec = HandoffVecEnv(SCENARIO, envs, threads=2)
    vec.seed(1)
    model = MaskablePPO("MlpPolicy", vec, n_steps=128, seed=1, device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return model.num_timesteps / (time.perf_counter() - start)


def native(handoff: str) -> dict:
    """`handoff bench --json` on the same scenario, run now."""
    out = subprocess.run(
        [handoff, "bench", "--json", "--days", "1"], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> None:
    root = pathlib.Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoff", default=str(root / "target" / "release" / "handoff"))
    parser.add_argument("--steps", type=int, default=200_000, help="environment steps per row")
    parser.add_argument("--train-steps", type=int, default=65_536)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows = {
        "single_env": single_env(args.steps),
        "vector_64_threads_1": vector_env(64, 1, 5 * args.steps),
        "vector_64_threads_2": vector_env(64, 2, 5 * args.steps),
        "maskable_ppo_16_envs": maskable_ppo(16, args.train_steps),
    }
    bench = native(args.handoff)
    rust = {
        "single_env": bench["env"]["steps_per_s"],
        "vector_64_threads_1": bench["vector"]["threads_1"],
        "vector_64_threads_2": bench["vector"]["threads_2"],
        "maskable_ppo_16_envs": bench["learner"]["train_steps_per_s"],
    }
    if args.json:
        json.dump({"python": rows, "native": rust}, sys.stdout, indent=2)
        print()
        return
    print(
        "| workload | from Python, steps/s | native (`handoff bench`), steps/s | Python / native |"
    )
    print("|---|---:|---:|---:|")
    for key, value in rows.items():
        print(f"| {key} | {value:,.0f} | {rust[key]:,.0f} | {value / rust[key]:.2f} |")


if __name__ == "__main__":
    main()
