"""Client mode: the rows stream through the worker (snapshot reader -> type plan -> rolling Parquet -> S3)."""
