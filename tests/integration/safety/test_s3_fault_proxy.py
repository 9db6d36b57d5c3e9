"""The fault-injecting S3 proxy itself: requests go through intact, faults happen as configured."""

from __future__ import annotations

import collections
import http.client
import io
import time

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.support.s3_fault_proxy import (
    ERROR_500,
    FAULT_KINDS,
    RESET_AFTER,
    RESET_BEFORE,
    SLOW_DOWN_503,
    S3FaultProxy,
)
from tests.support.s3_objects import list_keys

pytestmark = pytest.mark.integration


def _outcome(call) -> str:
    """What the client saw: ``ok``, the S3 error code, or ``connection`` for a reset."""
    try:
        call()
        return "ok"
    except ClientError as error:
        return error.response["Error"]["Code"]
    except ConnectionClosedError:
        return "connection"


def test_requests_go_through_unchanged(s3_server, s3, bucket) -> None:
    body = bytes(range(256)) * 10_000  # 2.5 MB
    with S3FaultProxy(s3_server.endpoint_url) as proxy:
        client = proxy.client(total_max_attempts=1)
        client.put_object(Bucket=bucket, Key="p/small", Body=body)
        assert client.get_object(Bucket=bucket, Key="p/small")["Body"].read() == body
        assert client.head_object(Bucket=bucket, Key="p/small")["ContentLength"] == len(body)
        big = body * 8  # 20 MB: a multipart upload of 3 parts
        client.upload_fileobj(io.BytesIO(big), bucket, "p/big")
        assert s3.get_object(Bucket=bucket, Key="p/big")["Body"].read() == big
        # a chunked request body is relayed as it was sent
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        connection.request(
            "PUT", f"/{bucket}/p/chunked", body=iter([b"hello ", b"world"]), encode_chunked=True
        )
        assert connection.getresponse().status == 200
        connection.close()
        assert list_keys(client, bucket, "p/") == ["p/big", "p/chunked", "p/small"]
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "p/small"}]})
        stats = proxy.stats
    assert s3.get_object(Bucket=bucket, Key="p/chunked")["Body"].read() == b"hello world"
    assert list_keys(s3, bucket, "p/") == ["p/big", "p/chunked"]
    assert stats["faults_total"] == 0 and stats["upstream_errors"] == 0
    assert stats["requests"] == stats["forwarded"] == stats["answered"] >= 10
    for operation in ("PutObject", "GetObject", "HeadObject", "UploadPart", "CompleteMultipartUpload"):
        assert stats["operations"].get(operation), (operation, stats["operations"])


def test_each_fault_kind_happens_at_about_the_configured_rate(s3_server, s3, bucket) -> None:
    requests, rate = 400, 0.2
    with S3FaultProxy(s3_server.endpoint_url, fault_rate=rate, seed=7) as proxy:
        client = proxy.client(total_max_attempts=1)  # no retries: every fault reaches the client
        seen = [
            _outcome(lambda i=i: client.put_object(Bucket=bucket, Key=f"r/{i:04d}", Body=b"x" * 100))
            for i in range(requests)
        ]
        stats, log = proxy.stats, proxy.fault_log
    assert stats["requests"] == requests
    expected_per_kind = requests * rate / len(FAULT_KINDS)  # 20
    for kind in FAULT_KINDS:
        assert expected_per_kind / 2 <= stats["faults"][kind] <= expected_per_kind * 2, stats
    assert stats["faults_total"] == len(log)
    not_forwarded = (
        stats["faults"][ERROR_500] + stats["faults"][SLOW_DOWN_503] + stats["faults"][RESET_BEFORE]
    )
    assert stats["forwarded"] == requests - not_forwarded
    # the client saw exactly the faults the proxy counted
    counted = collections.Counter(seen)
    assert counted["InternalError"] == stats["faults"][ERROR_500]
    assert counted["SlowDown"] == stats["faults"][SLOW_DOWN_503]
    assert counted["connection"] == stats["faults"][RESET_BEFORE] + stats["faults"][RESET_AFTER]
    assert counted["ok"] == requests - stats["faults_total"]
    # a request reset after forwarding took effect though the client got no answer; the others did not
    stored = set(list_keys(s3, bucket, "r/"))
    for fault in log:
        key = fault.path.split("?", 1)[0].split("/", 2)[2]
        assert (key in stored) == (fault.kind == RESET_AFTER), fault
    assert len(stored) == counted["ok"] + stats["faults"][RESET_AFTER]


def test_the_same_seed_gives_the_same_faults(s3_server, bucket) -> None:
    def faults(seed: int) -> list[tuple[int, str]]:
        with S3FaultProxy(s3_server.endpoint_url, fault_rate=0.3, seed=seed) as proxy:
            client = proxy.client(total_max_attempts=1)
            for i in range(60):
                _outcome(lambda i=i: client.head_bucket(Bucket=bucket))
            return [(fault.index, fault.kind) for fault in proxy.fault_log]

    first = faults(3)
    assert first and faults(3) == first
    assert faults(4) != first


def test_faults_can_be_turned_off_limited_and_slowed_at_runtime(s3_server, bucket) -> None:
    with S3FaultProxy(s3_server.endpoint_url, fault_rate=1.0, kinds=[SLOW_DOWN_503]) as proxy:
        client = proxy.client(total_max_attempts=1)
        put = lambda: client.put_object(Bucket=bucket, Key="a", Body=b"a")  # noqa: E731
        assert _outcome(put) == "SlowDown"
        proxy.fault_rate = 0
        assert {_outcome(put) for _ in range(20)} == {"ok"}
        proxy.fault_rate = 1.0
        proxy.should_fault = lambda request: request.operation == "PutObject"
        assert _outcome(lambda: client.get_object(Bucket=bucket, Key="a")) == "ok"
        assert _outcome(put) == "SlowDown"
        proxy.fault_rate, proxy.latency = 0, 0.05
        started = time.monotonic()
        for _ in range(6):
            client.head_object(Bucket=bucket, Key="a")
        assert time.monotonic() - started >= 0.3
        assert proxy.stats["faults"] == {ERROR_500: 0, SLOW_DOWN_503: 2, RESET_BEFORE: 0, RESET_AFTER: 0}


def test_an_airflow_aws_connection_through_the_proxy_retries_the_faults(
    s3_server, s3, bucket, monkeypatch
) -> None:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    with S3FaultProxy(s3_server.endpoint_url, fault_rate=0.3, seed=5) as proxy:
        monkeypatch.setenv("AIRFLOW_CONN_AWS_FAULTY", proxy.aws_connection_json(max_attempts=10))
        hook = S3Hook(aws_conn_id="aws_faulty")
        retries = hook.get_conn().meta.config.retries  # botocore counts the first attempt too
        assert retries == {"mode": "standard", "total_max_attempts": 11}, retries
        for i in range(30):
            hook.load_bytes(f"object {i}".encode(), key=f"h/{i:02d}", bucket_name=bucket, replace=True)
        read_back = [hook.read_key(f"h/{i:02d}", bucket) for i in range(30)]
        stats = proxy.stats
    assert read_back == [f"object {i}" for i in range(30)]
    assert len(list_keys(s3, bucket, "h/")) == 30
    assert stats["faults_total"] >= 5, stats  # they happened, and the retries hid them
