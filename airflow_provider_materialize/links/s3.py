"""Operator extra link to the exported folder in the AWS S3 console.

In Airflow 3 the worker asks the link for its URL once, after the task ends, and stores that URL in
XCom (``_link_S3ExportFolderLink``) for the UI. The URL is therefore built from the running
operator itself, not read back from another XCom: one XCom per link, and a task that failed before
it knew its folder has no link rather than an "XCom not found" error in its log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow.providers.amazon.aws.links.base_aws import BaseAwsLink

from airflow_provider_materialize.compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow_provider_materialize.compat import BaseOperator

_URL_ATTRIBUTE = "_s3_export_folder_url"


class S3ExportFolderLink(BaseOperatorLink):
    """The export's target folder in the S3 console."""

    name = "S3 folder"

    @classmethod
    def persist(
        cls,
        *,
        operator: BaseOperator,
        region_name: str | None,
        aws_partition: str | None,
        bucket: str,
        prefix: str,
    ) -> None:
        """Remember the folder's console URL on ``operator`` for :meth:`get_link`.

        :param operator: The running operator.
        :param region_name: Region of the AWS connection, if it names one.
        :param aws_partition: ``aws``, ``aws-cn`` or ``aws-us-gov``; other partitions get no link.
        :param bucket: Target bucket.
        :param prefix: Target folder inside the bucket.
        """
        domain = BaseAwsLink.get_aws_domain(aws_partition)
        if domain is None:
            return
        fields = {"region": region_name, "prefix": prefix} if region_name else {"prefix": prefix}
        query = urlencode(fields, safe="/")
        setattr(operator, _URL_ATTRIBUTE, f"https://console.{domain}/s3/buckets/{bucket}?{query}")

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The console URL of the folder, or ``""`` when the task failed before it knew it."""
        return str(getattr(operator, _URL_ATTRIBUTE, ""))
