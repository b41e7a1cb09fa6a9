#!/usr/bin/python3
"""A numpy reference for studies/abcd-cartpole.yaml: the same work per seed,
to time plast against.

Per-synapse ABCD Hebbian rules (Najarro & Risi 2020, "Meta-learning through Hebbian plasticity
in random networks", NeurIPS 33) on CartPole, exactly as the study and plast's code do it:
  * policy 4-32-16-2, tanh on every layer, no biases, float32; fresh Glorot-uniform weights at
    the start of every episode (tasks/cartpole.hpp, lib/episode.hpp);
  * every time step: forward the observation, action = argmax of the outputs (ties: first),
    then for each layer W += eta*(A*post*pre + B*pre + C*post + D) with one (A, B, C, D) per
    synapse, eta = 0.3, and W /= max|W| (rules/abcd.cpp); then the environment steps;
  * CartPole-v1's equations (Euler, tau 0.02, F = +-10 N), failure at |x| > 2.4 or
    |theta| > 12 deg, at most 500 steps, reward 1 per step (the return is the step count);
    initial state U(-0.05, 0.05)^4; pole half-length ~ U(0.4, 0.6), mass ~ U(0.05, 0.15);
  * per generation 8 poles, the same for every member (common random numbers: same poles,
    same initial states, same initial weights); fitness = mean return over the 8 episodes;
  * OpenAI-ES on the 2,688 coefficients from 0 (search/openai_es.cpp): mirrored sampling,
    population 64, centered ranks, gradient eps^T u / (lambda sigma), plain SGD on the mean
    with lr 0.2*0.995^g, sigma 0.1*0.999^g; candidates clipped to [-10, 10] before evaluation;
  * 60 generations, then the final mean theta on 100 held-out poles (half-length in
    [0.3, 0.9] minus [0.4, 0.6], mass in [0.02, 0.3] minus [0.05, 0.15]), one episode each.
Random numbers come from numpy, not from plast's streams: the runs are statistically, not
bitwise, the same as plast's.

Two ways to run a generation's 64 x 8 episodes:
  --mode episode  (default) one episode at a time, each layer's forward pass and ABCD update
                  vectorized with numpy: how Najarro & Risi's code runs a candidate (their
                  update loops over synapses under numba; here it is one numpy expression per
                  layer). --workers N spreads the candidates over N processes as their
                  multiprocessing pool does.
  --mode batched  all 512 episodes of a generation in lock-step as (512, out, in) arrays,
                  finished episodes dropped: the fastest plain-numpy form we know of.
Only the search (the generations) is timed for the comparison, as plast's wall_seconds; the
held-out evaluation is timed apart. Steps = policy steps (forward + update + environment step).

Usage: scripts/abcd-cartpole-numpy.py [--seed S] [--generations G] [--mode episode|batched]
                                      [--workers N] [--heldout H] [--json]
"""
import argparse
import json
import math
import sys
import time

import numpy as np

SIZES = (4, 32, 16, 2)
LAYERS = [(SIZES[l + 1], SIZES[l]) for l in range(len(SIZES) - 1)]   # (out, in) of each W
DIM = 4 * sum(o * i for o, i in LAYERS)                                # 2,688
ETA = np.float32(0.3)
MAX_STEPS = 500
GRAVITY, CART_MASS, FORCE, TAU = 9.8, 1.0, 10.0, 0.02
X_LIMIT, ANGLE_LIMIT = 2.4, 12 * 2 * math.pi / 360


def glorot(rng):
    """One set of policy weights: Glorot uniform, limit sqrt(6 / (fan_in + fan_out))."""
    return [rng.uniform(-1, 1, size=(o, i)).astype(np.float32) * np.float32(math.sqrt(6.0 / (i + o)))
            for o, i in LAYERS]


def coefficients(theta):
    """theta (layer by layer, row-major (i, j), A B C D contiguous) -> per layer (A, B, C, D),
    each (out, in) float32 (rules/abcd.hpp's order)."""
    out, k = [], 0
    for o, i in LAYERS:
        block = theta[k:k + 4 * o * i].reshape(o, i, 4).astype(np.float32)
        out.append(tuple(np.ascontiguousarray(block[:, :, q]) for q in range(4)))
        k += 4 * o * i
    return out


def uniform_outside(u, lo, hi, cut_lo, cut_hi):
    below = max(0.0, min(hi, cut_lo) - lo)
    above_start = max(lo, cut_hi)
    above = max(0.0, hi - above_start)
    t = u * (below + above)
    return lo + t if t < below else above_start + (t - below)


def sample_tasks(rng, count, held_out=False):
    """count tasks: (half_length, pole_mass, initial state, initial weights)."""
    tasks = []
    for _ in range(count):
        u_len, u_mass = rng.random(), rng.random()
        if held_out:
            length = uniform_outside(u_len, 0.3, 0.9, 0.4, 0.6)
            mass = uniform_outside(u_mass, 0.02, 0.3, 0.05, 0.15)
        else:
            length, mass = 0.4 + 0.2 * u_len, 0.05 + 0.1 * u_mass
        start = tuple(rng.uniform(-0.05, 0.05, size=4))
        tasks.append((length, mass, start, glorot(rng)))
    return tasks


# ---------------------------------------------------------------- one episode at a time

def run_episode(coeffs, task):
    """Return (= steps) of one episode: fresh weights, ABCD update after every forward pass."""
    length, mass, (x, x_dot, th, th_dot), init = task
    w = [m.copy() for m in init]
    total_mass, pml = CART_MASS + mass, mass * length
    steps = 0
    while True:
        h = np.array((x, x_dot, th, th_dot), dtype=np.float32)
        for W, (A, B, C, D) in zip(w, coeffs):
            post = np.tanh(W @ h)
            p = post[:, None]
            W += ETA * ((A * p + B) * h + C * p + D)
            W /= np.abs(W).max()
            h = post
        action = int(np.argmax(h))
        # CartPole-v1 (Barto, Sutton & Anderson 1983), as tasks/cartpole.cpp
        force = FORCE if action == 1 else -FORCE
        cos_t, sin_t = math.cos(th), math.sin(th)
        temp = (force + pml * th_dot * th_dot * sin_t) / total_mass
        th_acc = (GRAVITY * sin_t - cos_t * temp) / (length * (4.0 / 3.0 - mass * cos_t * cos_t / total_mass))
        x_acc = temp - pml * th_acc * cos_t / total_mass
        x, x_dot, th, th_dot = x + TAU * x_dot, x_dot + TAU * x_acc, th + TAU * th_dot, th_dot + TAU * th_acc
        steps += 1
        if x < -X_LIMIT or x > X_LIMIT or th < -ANGLE_LIMIT or th > ANGLE_LIMIT or steps >= MAX_STEPS:
            return steps


def evaluate_candidate(args):
    theta, tasks = args
    coeffs = coefficients(theta)
    return [run_episode(coeffs, t) for t in tasks]


# ---------------------------------------------------------------- all episodes in lock-step

def run_batched(thetas, tasks):
    """Returns (len(thetas), len(tasks)) of every (candidate, task) episode, all in lock-step."""
    n_members, n_tasks = len(thetas), len(tasks)
    member = np.repeat(np.arange(n_members), n_tasks)
    task = np.tile(np.arange(n_tasks), n_members)
    w = [np.stack([tasks[t][3][l] for t in task]) for l in range(len(LAYERS))]
    per_member = [coefficients(th) for th in thetas]
    co = [[np.stack([per_member[m][l][q] for m in member]) for q in range(4)] for l in range(len(LAYERS))]
    length = np.array([tasks[t][0] for t in task])
    mass = np.array([tasks[t][1] for t in task])
    state = np.array([tasks[t][2] for t in task])          # (P, 4) float64
    total_mass, pml = CART_MASS + mass, mass * length
    returns = np.zeros(n_members * n_tasks, dtype=np.int64)
    alive = np.arange(n_members * n_tasks)                  # episode index of each row
    t = 0
    while alive.size:
        h = state.astype(np.float32)
        for W, (A, B, C, D) in zip(w, co):
            post = np.tanh(np.matmul(W, h[:, :, None])[:, :, 0])
            p = post[:, :, None]
            W += ETA * ((A * p + B) * h[:, None, :] + C * p + D)
            W /= np.abs(W).max(axis=(1, 2), keepdims=True)
            h = post
        force = np.where(h[:, 1] > h[:, 0], FORCE, -FORCE)  # argmax, ties to action 0
        x, x_dot, th, th_dot = state.T
        cos_t, sin_t = np.cos(th), np.sin(th)
        temp = (force + pml * th_dot * th_dot * sin_t) / total_mass
        th_acc = (GRAVITY * sin_t - cos_t * temp) / (length * (4.0 / 3.0 - mass * cos_t * cos_t / total_mass))
        x_acc = temp - pml * th_acc * cos_t / total_mass
        state = np.stack((x + TAU * x_dot, x_dot + TAU * x_acc, th + TAU * th_dot, th_dot + TAU * th_acc), axis=1)
        t += 1
        done = (np.abs(state[:, 0]) > X_LIMIT) | (np.abs(state[:, 2]) > ANGLE_LIMIT) | (t >= MAX_STEPS)
        if done.any():
            returns[alive[done]] = t
            keep = ~done
            alive, state, length, mass, total_mass, pml = alive[keep], state[keep], length[keep], mass[keep], \
                total_mass[keep], pml[keep]
            w = [W[keep] for W in w]
            co = [[c[keep] for c in layer] for layer in co]
    return returns.reshape(n_members, n_tasks)


# ---------------------------------------------------------------- OpenAI-ES

def centered_ranks(fitness):
    """Ascending ranks scaled to [-0.5, 0.5] (search/fitness_shaping.cpp; stable on ties)."""
    u = np.empty(len(fitness))
    u[np.argsort(fitness, kind="stable")] = np.arange(len(fitness)) / (len(fitness) - 1) - 0.5
    return u


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--generations", type=int, default=60)
    ap.add_argument("--population", type=int, default=64)
    ap.add_argument("--tasks", type=int, default=8, help="poles per candidate and generation")
    ap.add_argument("--mode", choices=("episode", "batched"), default="episode")
    ap.add_argument("--workers", type=int, default=1, help="processes (episode mode)")
    ap.add_argument("--heldout", type=int, default=100, help="held-out poles for the final mean θ (0: none)")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--quiet", action="store_true", help="no per-generation lines")
    a = ap.parse_args()
    if a.population % 2:
        sys.exit("--population must be even (mirrored pairs)")

    pool = None
    if a.workers > 1:
        import multiprocessing
        pool = multiprocessing.Pool(a.workers)

    def evaluate(thetas, tasks):
        if a.mode == "batched":
            return run_batched(thetas, tasks)
        jobs = [(th, tasks) for th in thetas]
        rows = pool.map(evaluate_candidate, jobs) if pool else [evaluate_candidate(j) for j in jobs]
        return np.array(rows)

    mean = np.zeros(DIM)
    half = a.population // 2
    steps = 0
    curve = []
    start = time.perf_counter()
    for g in range(a.generations):
        rng = np.random.default_rng([a.seed, g])
        sigma, lr = 0.1 * 0.999 ** g, 0.2 * 0.995 ** g
        eps = rng.standard_normal((half, DIM))
        population = np.concatenate((mean + sigma * eps, mean - sigma * eps))
        tasks = sample_tasks(rng, a.tasks)
        returns = evaluate(np.clip(population, -10, 10), tasks)
        steps += int(returns.sum())
        fitness = -returns.mean(axis=1)                      # minimized, as plast
        noise = (population - mean) / sigma
        gradient = noise.T @ centered_ranks(fitness) / (a.population * sigma)
        mean = mean - lr * gradient
        curve.append(float(-fitness.mean()))
        if not a.quiet:
            print(f"generation {g + 1:3d}: mean return {-fitness.mean():6.1f}, best {-fitness.min():6.1f}, "
                  f"{time.perf_counter() - start:7.1f} s", flush=True)
    wall = time.perf_counter() - start

    held, held_wall = float("nan"), 0.0
    if a.heldout > 0:
        t0 = time.perf_counter()
        rng = np.random.default_rng([a.seed, 1 << 30])
        tasks = sample_tasks(rng, a.heldout, held_out=True)
        held = float(evaluate(np.clip(mean[None, :], -10, 10), tasks).mean())
        held_wall = time.perf_counter() - t0
    if pool:
        pool.close()

    result = {"seed": a.seed, "mode": a.mode, "workers": a.workers, "generations": a.generations,
              "population": a.population, "tasks": a.tasks, "wall_seconds": wall, "steps": steps,
              "us_per_step": 1e6 * wall / max(steps, 1), "first_generation_mean_return": curve[0] if curve else None,
              "last_generation_mean_return": curve[-1] if curve else None, "heldout_mean_return": held,
              "heldout_poles": a.heldout, "heldout_seconds": held_wall, "numpy": np.__version__}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"seed {a.seed} ({a.mode}, {a.workers} process(es)): {a.generations} generations in {wall:.1f} s, "
              f"{steps} steps, {result['us_per_step']:.2f} us/step; held-out mean return of the final mean θ "
              f"over {a.heldout} poles: {held:.1f} ({held_wall:.1f} s)")


if __name__ == "__main__":
    main()
