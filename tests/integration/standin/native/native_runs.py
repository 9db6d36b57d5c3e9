"""Native-mode exports through the stand-in and what Materialize's side of them did: the operator run
(``export``), the COPY statements sent, the files the last COPY wrote, and hooks into the stand-in's
own S3 client (Materialize's AWS role) that answer or deny its calls."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.materialize_standin import MaterializeStandin
from tests.support.operator_run import run_operator

ROWS = 400


def export(uri: str, **kwargs: Any) -> dict[str, Any]:
    """Run the operator in native mode (``aws_connection=``) and return its XCom value."""
    kwargs.setdefault("source", "orders")
    kwargs.setdefault("aws_connection", "s3_writer")
    kwargs.setdefault("max_file_size", "16MB")
    return run_operator(s3_uri=uri, **kwargs)


def copies_sent(mz: MaterializeStandin) -> list[str]:
    """The COPY statements the stand-in received, in order."""
    return [s for s in mz.statements if s.lstrip().upper().startswith("COPY")]


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def data_keys(mz: MaterializeStandin, prefix: str, extension: str) -> list[str]:
    """What the last COPY wrote, as Materialize names it: ``mz-t<N>-batch-<NNNN>-<MMMM>.<ext>``."""
    sink = mz.copies[-1].sink_id
    assert re.fullmatch(r"t\d+", sink)
    keys = sorted(mz.copies[-1].files)
    pattern = rf"{re.escape(prefix)}mz-{sink}-batch-\d{{4}}-\d{{4}}\.{extension}"
    assert keys and all(re.fullmatch(pattern, key) for key in keys), keys
    return keys


@contextmanager
def on_materializes_s3_call(mz: MaterializeStandin, event: str, handler: Any) -> Iterator[None]:
    """Run ``handler`` on a botocore ``event`` of the stand-in's S3 client (Materialize's side of S3).

    A ``before-call.s3.<Operation>`` handler that returns ``(http, parsed)`` answers instead of S3.
    """
    events = mz.s3_client().meta.events
    events.register(event, handler, unique_id="standin-test-hook")
    try:
        yield
    finally:
        events.unregister(event, unique_id="standin-test-hook")


class _Forbidden:
    status_code = 403


def materialize_denies(mz: MaterializeStandin, operation: str, after: int = 0) -> Any:
    """Materialize's AWS role lacks ``s3:<operation>``: 403 AccessDenied, from call ``after + 1`` on."""
    calls = itertools.count(1)

    def deny(**_: Any) -> Any:
        if next(calls) <= after:
            return None
        return _Forbidden(), {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    return on_materializes_s3_call(mz, f"before-call.s3.{operation}", deny)
