"""Small helpers every stage uses: errors, atomic writes, caches, progress, registries, heap trimming,
row blocks and run folders. Nothing here knows of spaces, benchmarks or models."""
