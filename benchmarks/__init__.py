"""Benchmarks: seeded, realistic fleets at four sizes and a runner that solves them.

`benchmarks.generate.generate(size, seed)` returns fleet YAML text (S ~16 GPUs and 6 workloads,
M ~512 and 40, L ~8,000 and 200, XL ~32,000 and 500); `python -m benchmarks` (or `make bench`)
solves each size with the greedy baseline and CP-SAT, places and verifies the plan, and prints and
saves cost, proven bound, gap, wall time per stage and peak memory.
"""
