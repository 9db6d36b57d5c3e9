"""Operator extra link to the exported folder in the AWS S3 console."""

from __future__ import annotations

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink


class S3ExportFolderLink(BaseAwsLink):
    """The export's target folder in the S3 console."""

    name = "S3 folder"
    key = "materialize_s3_export_folder"
    format_str = BASE_AWS_CONSOLE_LINK + "/s3/buckets/{bucket}?region={region_name}&prefix={prefix}"
