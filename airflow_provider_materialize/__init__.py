"""Apache Airflow provider for Materialize."""

__version__ = "0.1.0"
