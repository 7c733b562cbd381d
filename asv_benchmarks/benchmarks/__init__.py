"""gconv's asv benchmark suite (see ../README.md, section Benchmarking)."""
