"""The rating core: merge the sources, score the leaves, apply the gates, grade, rank and share the pool."""
