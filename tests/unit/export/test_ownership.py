from __future__ import annotations

from airflow_provider_materialize.export.ownership import RunIdentity

IDENTITY = RunIdentity(dag_id="d", run_id="r", task_id="t", try_number=3)
MARKER = {"dag_id": "d", "run_id": "r", "task_id": "t", "try_number": 2, "map_index": -1, "started_at": "x"}


def test_an_earlier_try_of_the_same_task_is_recognised() -> None:
    assert IDENTITY.is_earlier_try_of_same_task(MARKER)


def test_other_tasks_runs_or_tries_are_not() -> None:
    for change in (
        {"task_id": "u"},
        {"run_id": "r2"},
        {"dag_id": "e"},
        {"map_index": 4},
        {"try_number": 3},
        {"try_number": 4},
        {"try_number": "2"},
    ):
        assert not IDENTITY.is_earlier_try_of_same_task({**MARKER, **change})
    assert not IDENTITY.is_earlier_try_of_same_task({})


def test_console_link_to_the_folder() -> None:
    from types import SimpleNamespace

    from airflow_provider_materialize.links.s3 import S3ExportFolderLink

    operator = SimpleNamespace()
    link = S3ExportFolderLink()
    assert link.get_link(operator, ti_key=None) == ""  # failed before it knew its folder: no link
    S3ExportFolderLink.persist(
        operator=operator,
        region_name="eu-west-1",
        aws_partition="aws",
        bucket="lake",
        prefix="orders/run=1/",
    )
    assert link.get_link(operator, ti_key=None) == (
        "https://console.aws.amazon.com/s3/buckets/lake?region=eu-west-1&prefix=orders/run%3D1/"
    )
