"""Fit other scorers than the rollout learner's on a run's comparisons, and measure each.

A rollout run with ``rollout.save_comparisons = true`` writes every comparison it made into
``RUN/rollouts/KIND.csv`` (``route``, ``pace``, ``attend``, ``assign``): the training seed, what
the other option changed (``reward_gain``, ``replies_saved``) and the decision's features. The
learner fits a linear (ridge) estimate of the other option's advantage on them; this script asks
whether a richer one would correct the rule better. For each kind and each price of a human
reply it fits, on all but a quarter of the training seeds,

- ``linear``: the learner's ridge regression on the features;
- ``quadratic``: the same on the features and every product of two of them;
- ``mlp``: a two-layer perceptron (64 units each, with PyTorch when it is installed),

and reports, on the seeds held out (each seed is held out once), the share of the comparisons'
variance it explains and what taking the other option wherever the scorer says it pays would
have earned over the rule, per training episode, on the compared decisions (mean and standard
error over the held-out episodes, and paired with the linear scorer). ``hindsight`` is what
switching exactly where the comparison came out ahead would earn: a ceiling no scorer of what a
dispatcher sees reaches, as the comparisons know each episode's future.

    handoff train --config my-rollout.toml --run-dir runs/data   # with save_comparisons = true
    python python/examples/scorers.py runs/data --kind attend --reply-values 0,0.2,0.8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KINDS = ("route", "pace", "attend", "assign")
FOLDS = 4
RIDGE = 1e-4


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training episodes (numbered from 0), reward gains, replies saved (zero where the table
    has none) and features."""
    header = path.read_text().split("\n", 1)[0].split(",")
    text = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=str)
    # seeds are 64-bit: numbered as text, as a float would merge neighbours
    seed = header.index("seed")
    seeds = np.unique(text[:, seed], return_inverse=True)[1]
    data = np.delete(text, seed, axis=1).astype(float)
    header.remove("seed")
    first_feature = header.index("reward_gain") + 1
    if "replies_saved" in header:
        saved = data[:, header.index("replies_saved")]
        first_feature += 1
    else:
        saved = np.zeros(len(data))
    return seeds, data[:, header.index("reward_gain")], saved, data[:, first_feature:]


def ridge(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The learner's ridge regression: the bias (the first column) is not penalised."""
    penalty = RIDGE * len(x) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def quadratic(x: np.ndarray) -> np.ndarray:
    """The features and every product of two of them (the bias times each is the feature)."""
    i, j = np.triu_indices(x.shape[1] - 1)
    return np.hstack([x, x[:, 1:][:, i] * x[:, 1:][:, j]])


def fit_linear(x, y, held_out):
    """The learner's scorer, fitted on (`x`, `y`), at `held_out`."""
    return held_out @ ridge(x, y)


def fit_quadratic(x, y, held_out):
    """The ridge regression on the features and their products, at `held_out`."""
    return quadratic(held_out) @ ridge(quadratic(x), y)


def fit_mlp(x, y, held_out, seed=0):
    """A two-layer perceptron, stopped early on a tenth of the training rows."""
    import torch

    torch.manual_seed(seed)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0

    def standard(a):
        return torch.tensor(np.clip((a - mean) / scale, -10, 10), dtype=torch.float32)

    xs, ys = standard(x), torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    order = np.random.default_rng(seed).permutation(len(xs))
    stop, train = order[: len(xs) // 10], order[len(xs) // 10 :]
    best, best_state, worse = np.inf, None, 0
    for _ in range(60):
        for batch in np.array_split(train, max(1, len(train) // 512)):
            loss = ((net(xs[batch]).squeeze(1) - ys[batch]) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            held = ((net(xs[stop]).squeeze(1) - ys[stop]) ** 2).mean().item()
        if held < best:
            best, best_state, worse = held, [p.clone() for p in net.parameters()], 0
        elif (worse := worse + 1) >= 6:
            break
    with torch.no_grad():
        for p, saved in zip(net.parameters(), best_state, strict=True):
            p.copy_(saved)
        return net(standard(held_out)).squeeze(1).numpy()


def scorers() -> dict:
    """The scorers to compare, the linear one first (the others are paired with it)."""
    found = {"linear": fit_linear, "quadratic": fit_quadratic}
    try:
        import torch  # noqa: F401

        found["mlp"] = fit_mlp
    except ImportError:
        pass
    return found


def per_episode(values: np.ndarray, seeds: np.ndarray) -> tuple[float, float]:
    """The mean over episodes of the per-episode sums of `values`, and its standard error."""
    sums = np.bincount(seeds, weights=values)
    return float(sums.mean()), float(sums.std(ddof=1) / np.sqrt(len(sums)))


def measure(seeds, gain, saved, features, reply_value: float) -> dict:
    """What each scorer's corrections earn on held-out seeds at `reply_value` a saved reply."""
    target = gain + reply_value * saved
    fold = np.searchsorted(np.unique(seeds), seeds) % FOLDS
    result = {"hindsight": per_episode(np.maximum(target, 0.0), seeds)[0]}
    linear = None
    for name, fit in scorers().items():
        predicted = np.zeros(len(target))
        for k in range(FOLDS):
            held = fold == k
            predicted[held] = fit(features[~held], target[~held], features[held])
        earned = target * (predicted > 0)
        mean, se = per_episode(earned, seeds)
        result[name] = {
            "gain": mean,
            "se": se,
            "switched": float((predicted > 0).mean()),
            # the share of the comparisons' variance the held-out predictions account for
            "explained": float(1.0 - np.mean((predicted - target) ** 2) / np.var(target)),
        }
        if linear is None:
            linear = earned
        else:
            # paired with the linear scorer over the same held-out episodes
            more, more_se = per_episode(earned - linear, seeds)
            result[name] |= {"minus_linear": more, "minus_linear_se": more_se}
    return result


def describe(name: str, r: dict) -> str:
    """One scorer's cell of the printed table."""
    cell = f"{name} {r['gain']:+.2f} ± {r['se']:.2f} ({100 * r['switched']:.1f} % switched"
    cell += f", {100 * r['explained']:.1f} % explained)"
    if "minus_linear" in r:
        cell += f", minus linear {r['minus_linear']:+.2f} ± {r['minus_linear_se']:.2f}"
    return cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a rollout run's directory")
    parser.add_argument("--kind", choices=KINDS, action="append", help="default: every table")
    parser.add_argument("--reply-values", default="0,0.2,0.8", help="prices of a saved reply")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    folder = args.run / "rollouts"
    kinds = [k for k in args.kind or KINDS if (folder / f"{k}.csv").exists()]
    if not kinds:
        parser.error(f"{folder}: no comparisons (train with rollout.save_comparisons = true)")
    values = [float(v) for v in args.reply_values.split(",")]
    report = {}
    for kind in kinds:
        seeds, gain, saved, features = read_table(folder / f"{kind}.csv")
        if len(np.unique(seeds)) < FOLDS:
            parser.error(f"{kind}.csv: comparisons from fewer than {FOLDS} training seeds")
        report[kind] = {str(v): measure(seeds, gain, saved, features, v) for v in values}
        if args.json:
            continue
        print(f"{kind}: {len(seeds)} comparisons, {len(np.unique(seeds))} training episodes")
        for value, row in report[kind].items():
            cells = [describe(name, r) for name, r in row.items() if name != "hindsight"]
            print(f"  reply {value}: " + " | ".join(cells) + f" | hindsight {row['hindsight']:.2f}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
