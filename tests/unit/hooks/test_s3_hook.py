"""ExportS3Hook: the same user agent as the Amazon provider's S3Hook, without its stack search."""

from __future__ import annotations

import inspect

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_provider_materialize.hooks.s3 import ExportS3Hook


class MaterializeCopyToS3Operator:
    """Stands in for the operator: the provider looks for the first frame named ``execute``."""

    def execute(self) -> str:
        return S3Hook(aws_conn_id=None)._get_caller()


def test_the_caller_is_the_one_the_provider_finds_on_the_stack() -> None:
    found_on_the_stack = MaterializeCopyToS3Operator().execute()
    assert found_on_the_stack == "MaterializeCopyToS3Operator"
    named = ExportS3Hook(caller=MaterializeCopyToS3Operator.__name__, aws_conn_id=None)._get_caller()
    assert named == found_on_the_stack


def test_the_user_agent_names_the_operator_without_walking_the_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_stack_walk(*args: object, **kwargs: object) -> None:
        raise AssertionError("inspect.stack() was called")

    monkeypatch.setattr(inspect, "stack", no_stack_walk)
    hook = ExportS3Hook(caller="MaterializeCopyToS3Operator", aws_conn_id=None)
    user_agent = hook._get_config().user_agent_extra
    # The provider swallows errors in its caller search and writes "Unknown" instead.
    assert "Caller/MaterializeCopyToS3Operator" in user_agent.split()
