"""The S3 hook the operator writes with: the Amazon provider's ``S3Hook``, told who its caller is."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook


class ExportS3Hook(S3Hook):
    """:class:`S3Hook` whose boto3 client names the operator without searching the call stack.

    The Amazon provider adds the calling operator's class to each client's user agent
    (``Caller/...``) and finds it with ``inspect.stack()``, which reads the source of every frame and
    maps every loaded module to its file: in a worker that has imported Airflow, that cost more than
    the boto3 client it labels (docs/client-pipeline.md, "Fixed cost of one export"). The operator
    knows its own class, so the user agent is the same and the search is skipped.

    :param caller: The operator class's name, as the provider would have found it.
    """

    def __init__(self, *args: Any, caller: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caller = caller

    def _get_caller(self, target_function_name: str = "execute") -> str:
        return self.caller
