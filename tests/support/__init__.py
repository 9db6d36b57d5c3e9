"""Test support: the throwaway servers and helpers shared by the tests, ``dev/`` and ``bench/``.

* ``servers``: a throwaway PostgreSQL (standing in for Materialize) and moto's S3-compatible
  server, and the Airflow connections and environment pointing at them (the servers themselves in
  ``postgres_server`` and ``s3_server``, their process helpers in ``server_process``);
* ``operator_run``: run ``MaterializeCopyToS3Operator.execute`` without a scheduler;
* ``dag_runs`` and ``sample_data``: run the example DAGs in-process, on sample data;
* ``s3_objects``: list and read back what an export left in S3;
* ``parity``: the Arrow schemas of Materialize's native ``COPY TO S3``, and how a schema differs;
* ``benchmark_plan``: the benchmark's modes and smoke settings, which its smoke test checks.

The dependencies run one way: the tests, ``dev/`` and ``bench/`` import this package; it imports
none of them, nor pytest: the benchmark measures the peak memory of a process that uses it, and
pytest alone would add to it.
"""
