"""How a retrieved passage names its document: relative to the documents prefix, never the bucket's URI."""

from collections.abc import Mapping
from typing import Any

# The prefix the knowledge base indexes (stacks/constructs/documents.py, Documents.PREFIX).
DOCUMENTS_PREFIX = "documents/"


def document_name(location: Mapping[str, Any]) -> str | None:
    """`guides/sync.md` for s3://<bucket>/documents/guides/sync.md; a web page's URL; None for anything else."""
    uri = (location.get("s3Location") or {}).get("uri")
    if isinstance(uri, str) and uri.startswith("s3://"):
        _, _, key = uri.removeprefix("s3://").partition("/")
        name = key.removeprefix(DOCUMENTS_PREFIX) if key.startswith(DOCUMENTS_PREFIX) else key.rpartition("/")[2]
        return name or None
    url = (location.get("webLocation") or {}).get("url")
    return url if isinstance(url, str) and url else None
