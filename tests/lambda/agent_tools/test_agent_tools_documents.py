"""common.documents: a retrieved passage names its document relative to the indexed prefix, never the bucket."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.documents import DOCUMENTS_PREFIX, document_name
from stacks.constructs.documents import Documents

BUCKET = "genai-documents-bucket-a1b2c3"


def s3(uri: Any) -> dict[str, Any]:
    return {"type": "S3", "s3Location": {"uri": uri}}


def test_the_prefix_is_the_one_the_knowledge_base_indexes() -> None:
    assert DOCUMENTS_PREFIX == Documents.PREFIX


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (s3(f"s3://{BUCKET}/documents/guides/sync.md"), "guides/sync.md"),
        (s3(f"s3://{BUCKET}/documents/readme.md"), "readme.md"),
        (s3(f"s3://{BUCKET}/documents/documents/nested.md"), "documents/nested.md"),
        (s3(f"s3://{BUCKET}/documents/with space/é.md"), "with space/é.md"),
        # Outside the prefix only the file name is shown: the rest of the key says nothing to the reader.
        (s3(f"s3://{BUCKET}/archive/2024/old.md"), "old.md"),
        (s3(f"s3://{BUCKET}/top-level.md"), "top-level.md"),
        # A bucket called "documents" is not the prefix.
        (s3("s3://documents/guides/a.md"), "a.md"),
        (s3("s3://documents/documents/guides/a.md"), "guides/a.md"),
        ({"type": "WEB", "webLocation": {"url": "https://docs.example.com/kb"}}, "https://docs.example.com/kb"),
    ],
)
def test_document_names(location: dict[str, Any], expected: str) -> None:
    assert document_name(location) == expected


@pytest.mark.parametrize(
    "location",
    [
        {},
        {"type": "S3"},
        {"type": "S3", "s3Location": None},
        {"type": "S3", "s3Location": {}},
        s3(None),
        s3(""),
        s3(42),
        s3(f"s3://{BUCKET}"),
        s3(f"s3://{BUCKET}/"),
        s3(f"s3://{BUCKET}/documents/"),
        s3(f"https://{BUCKET}.s3.amazonaws.com/documents/a.md"),
        {"type": "WEB", "webLocation": {"url": ""}},
        {"type": "WEB", "webLocation": None},
        {"type": "CONFLUENCE", "confluenceLocation": {"url": "https://wiki.example.com/x"}},
    ],
)
def test_locations_without_a_document_name(location: dict[str, Any]) -> None:
    assert document_name(location) is None


def test_an_s3_document_wins_over_a_web_page() -> None:
    location = {**s3(f"s3://{BUCKET}/documents/a.md"), "webLocation": {"url": "https://docs.example.com/a"}}

    assert document_name(location) == "a.md"


segment = st.text(alphabet=st.characters(blacklist_characters="/", blacklist_categories=["Cs"]), min_size=1)
bucket = st.from_regex(r"bkt-[a-z0-9]{3,20}", fullmatch=True)


@given(bucket=bucket, path=st.lists(segment, min_size=1, max_size=5))
def test_a_document_under_the_prefix_is_named_by_its_relative_key(bucket: str, path: list[str]) -> None:
    relative = "/".join(path)

    name = document_name(s3(f"s3://{bucket}/{DOCUMENTS_PREFIX}{relative}"))

    assert name == relative


@given(bucket=bucket, key=st.lists(segment, min_size=1, max_size=5).map("/".join))
def test_no_s3_name_shows_the_bucket_or_the_scheme(bucket: str, key: str) -> None:
    name = document_name(s3(f"s3://{bucket}/{key}"))

    assert name is not None
    assert "s3://" not in name or "s3://" in key
    assert bucket not in name or bucket in key
    assert key.endswith(name)
