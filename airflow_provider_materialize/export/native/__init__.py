"""Native mode: Materialize writes the files itself with ``COPY ... TO 's3://...'``."""
