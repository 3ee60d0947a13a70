"""Copy the sample documents from their CDK asset zip into the documents bucket."""

import io
import mimetypes
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Protocol

from aws_lambda_powertools import Logger

logger = Logger(child=True)

PROPERTY = "SampleDocuments"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Not every mimetypes table (Python's own, /etc/mime.types) maps .md, so Markdown is named here.
CONTENT_TYPES = {".md": "text/markdown"}


class S3Client(Protocol):
    """The part of the s3 client this module calls."""

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        """GetObject."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        """PutObject."""


@dataclass(frozen=True)
class SampleDocuments:
    """Where the sample documents zip is, and where its files go."""

    source_bucket: str
    source_key: str
    bucket: str
    prefix: str


def parse_sample_documents(value: object) -> SampleDocuments:
    """Validate the custom resource's SampleDocuments property."""
    name = f"ResourceProperties.{PROPERTY}"
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    fields: dict[str, str] = {}
    for field in ("SourceBucket", "SourceKey", "Bucket", "Prefix"):
        text = value.get(field)
        if not isinstance(text, str) or not text:
            raise ValueError(f"{name}.{field} must be a non-empty string")
        fields[field] = text
    if not fields["Prefix"].endswith("/"):
        raise ValueError(f"{name}.Prefix must end with '/'")
    return SampleDocuments(
        source_bucket=fields["SourceBucket"],
        source_key=fields["SourceKey"],
        bucket=fields["Bucket"],
        prefix=fields["Prefix"],
    )


def content_type(name: str) -> str:
    """The Content-Type to store a file under, from its name."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(name, strict=True)
    # A compressed file (x.md.gz) is not readable as its inner type.
    return guessed if guessed and encoding is None else DEFAULT_CONTENT_TYPE


def _check_entry_name(name: str) -> None:
    absolute = name.startswith(("/", "\\")) or bool(PureWindowsPath(name).drive)
    if absolute or ".." in name:
        raise ValueError(f"Unsafe entry name {name!r} in the sample documents archive")


def copy_samples(s3: S3Client, samples: SampleDocuments) -> int:
    """Put every file of the zip under the prefix; returns how many were copied."""
    response = s3.get_object(Bucket=samples.source_bucket, Key=samples.source_key)
    with zipfile.ZipFile(io.BytesIO(response["Body"].read())) as archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        # Every name is checked before the first put, so an unsafe archive copies nothing.
        for info in files:
            _check_entry_name(info.filename)
        for info in files:
            s3.put_object(
                Bucket=samples.bucket,
                Key=samples.prefix + info.filename,
                Body=archive.read(info),
                ContentType=content_type(info.filename),
            )
    logger.info(
        "Sample documents copied", extra={"count": len(files), "bucket": samples.bucket, "prefix": samples.prefix}
    )
    return len(files)
