"""Copying the sample documents out of their asset zip."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from ingestion.samples import SampleDocuments, content_type, copy_samples, parse_sample_documents

from .ingestion_fakes import (
    ASSET_BUCKET,
    ASSET_KEY,
    BUCKET,
    SAMPLE_PREFIX,
    get_object_response,
    put_object_response,
    sample_documents,
    zip_bytes,
)

SAMPLES = SampleDocuments(source_bucket=ASSET_BUCKET, source_key=ASSET_KEY, bucket=BUCKET, prefix=SAMPLE_PREFIX)


def test_the_property_is_parsed() -> None:
    assert parse_sample_documents(sample_documents()) == SAMPLES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.md", "text/markdown"),
        ("guides/README.MD", "text/markdown"),
        ("notes.txt", "text/plain"),
        ("manual.pdf", "application/pdf"),
        ("page.html", "text/html"),
        ("archive.md.gz", "application/octet-stream"),
        ("data.unknown-extension", "application/octet-stream"),
        ("LICENSE", "application/octet-stream"),
    ],
)
def test_content_types_are_guessed_from_the_name(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_every_file_is_put_under_the_prefix_with_its_content_type(s3_client: Any, s3_stubber: Stubber) -> None:
    archive = zip_bytes(("docs/", None), ("docs/guide.pdf", b"%PDF-1.7"), ("notes.txt", b"notes"))
    s3_stubber.add_response("get_object", get_object_response(archive), {"Bucket": ASSET_BUCKET, "Key": ASSET_KEY})
    for key, body, kind in (
        ("documents/samples/docs/guide.pdf", b"%PDF-1.7", "application/pdf"),
        ("documents/samples/notes.txt", b"notes", "text/plain"),
    ):
        params = {"Bucket": BUCKET, "Key": key, "Body": body, "ContentType": kind}
        s3_stubber.add_response("put_object", put_object_response(), params)

    assert copy_samples(s3_client, SAMPLES) == 2


def test_an_archive_of_directories_copies_nothing(s3_client: Any, s3_stubber: Stubber) -> None:
    archive = zip_bytes(("docs/", None))
    s3_stubber.add_response("get_object", get_object_response(archive), {"Bucket": ASSET_BUCKET, "Key": ASSET_KEY})

    assert copy_samples(s3_client, SAMPLES) == 0


@pytest.mark.parametrize("unsafe", ["../evil.md", "a/../../evil.md", "a/..", "/abs.md", "\\abs.md", "C:/evil.md"])
def test_unsafe_names_copy_nothing(s3_client: Any, s3_stubber: Stubber, unsafe: str) -> None:
    archive = zip_bytes(("fine.md", b"fine"), (unsafe, b"evil"))
    s3_stubber.add_response("get_object", get_object_response(archive), {"Bucket": ASSET_BUCKET, "Key": ASSET_KEY})

    with pytest.raises(ValueError, match="Unsafe entry name"):
        copy_samples(s3_client, SAMPLES)
