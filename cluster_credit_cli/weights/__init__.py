"""Weights: AHP from pairwise matrices, entropy weights, rank sensitivity, weight tables in files."""
