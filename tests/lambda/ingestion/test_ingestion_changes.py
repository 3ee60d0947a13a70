"""Parsing the EventBridge S3 object events out of SQS messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ingestion.changes import ChangeMessage, DocumentChange, MalformedMessageError, parse_change, relevant_messages

from .ingestion_fakes import (
    BUCKET,
    LogLines,
    document_message,
    eventbridge_body,
    eventbridge_event,
    sqs_event,
    sqs_message,
)


@pytest.mark.parametrize("detail_type", ["Object Created", "Object Deleted"])
def test_created_and_deleted_objects_are_changes(detail_type: str) -> None:
    assert parse_change(eventbridge_body("documents/a.md", detail_type)) == DocumentChange(
        detail_type, BUCKET, "documents/a.md"
    )


def test_the_documented_example_event_is_a_change() -> None:
    body = (
        '{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created",'
        '"source":"aws.s3","account":"123456789012","time":"2021-11-12T00:00:00Z","region":"us-east-1",'
        '"resources":["arn:aws:s3:::example-bucket"],"detail":{"version":"0","bucket":{"name":"example-bucket"},'
        '"object":{"key":"documents/example-key.md","size":5,"etag":"b1946ac92492d2347c6235b4d2611184",'
        '"version-id":"IYV3p45BhZA4w7pOtk2bVcHivL4u1vOs","sequencer":"617f08299329d189"},'
        '"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","source-ip-address":"1.2.3.4",'
        '"reason":"PutObject"}}'
    )

    assert parse_change(body) == DocumentChange("Object Created", "example-bucket", "documents/example-key.md")


def test_a_lifecycle_expiration_is_a_change() -> None:
    event = eventbridge_event("documents/old.md", "Object Deleted")
    event["detail"].update({"reason": "Lifecycle Expiration", "deletion-type": "Delete Marker Created"})

    assert parse_change(json.dumps(event)) == DocumentChange("Object Deleted", BUCKET, "documents/old.md")


@pytest.mark.parametrize("key", ["documents/my+file%281%29.md", "documents/café + crème.pdf", "documents/a b.md"])
def test_keys_are_kept_as_eventbridge_sends_them(key: str) -> None:
    assert parse_change(eventbridge_body(key)).key == key


def _event_with(**changes: Any) -> str:
    event = eventbridge_event("documents/a.md")
    event.update(changes)
    return json.dumps(event)


def _detail_with(**changes: Any) -> str:
    event = eventbridge_event("documents/a.md")
    event["detail"].update(changes)
    return json.dumps(event)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json {", id="not-json"),
        pytest.param(None, id="no-body"),
        pytest.param("[1, 2]", id="json-array"),
        pytest.param('"a string"', id="json-string"),
        pytest.param(json.dumps({"hello": "world"}), id="not-an-event"),
        pytest.param(json.dumps({"Records": [{"eventSource": "aws:s3"}]}), id="s3-notification"),
        pytest.param(_event_with(source="aws.events"), id="other-source"),
        pytest.param(_event_with(source=None), id="no-source"),
        pytest.param(_event_with(**{"detail-type": "Object Restore Completed"}), id="restore"),
        pytest.param(_event_with(**{"detail-type": "Object Tags Added"}), id="tags"),
        pytest.param(_event_with(**{"detail-type": "object created"}), id="detail-type-case"),
        pytest.param(_event_with(**{"detail-type": None}), id="no-detail-type"),
        pytest.param(_event_with(detail=None), id="no-detail"),
        pytest.param(_event_with(detail="documents/a.md"), id="detail-not-object"),
        pytest.param(_detail_with(bucket={}), id="no-bucket-name"),
        pytest.param(_detail_with(bucket={"name": ""}), id="empty-bucket-name"),
        pytest.param(_detail_with(bucket="documents-bucket"), id="bucket-not-object"),
        pytest.param(_detail_with(object={"size": 5}), id="no-key"),
        pytest.param(_detail_with(object={"key": ""}), id="empty-key"),
        pytest.param(_detail_with(object={"key": 5}), id="key-not-string"),
        pytest.param(_detail_with(object=None), id="no-object"),
    ],
)
def test_malformed_bodies_are_rejected(body: str | None) -> None:
    with pytest.raises(MalformedMessageError):
        parse_change(body)


def test_only_messages_with_document_changes_are_kept(log_lines: LogLines) -> None:
    event = sqs_event(
        document_message("good-1", "documents/a+b.md"),
        sqs_message("not-json", "{{{"),
        document_message("restore", "documents/c.md", "Object Restore Completed"),
        document_message("good-2", "documents/d.md", "Object Deleted"),
        {"body": eventbridge_body("documents/e.md")},
    )

    assert relevant_messages(event) == [
        ChangeMessage("good-1", DocumentChange("Object Created", BUCKET, "documents/a+b.md")),
        ChangeMessage("good-2", DocumentChange("Object Deleted", BUCKET, "documents/d.md")),
    ]
    logged = log_lines()
    warnings = [line for line in logged if line["level"] == "WARNING"]
    assert [(line["message"], line.get("message_id")) for line in warnings] == [
        ("Malformed message skipped", "not-json"),
        ("Malformed message skipped", "restore"),
        ("SQS record without messageId skipped", None),
    ]
    assert "Object Restore Completed" in warnings[1]["reason"]
    assert [(line["message_id"], line["detail_type"], line["key"]) for line in logged if line["level"] == "INFO"] == [
        ("good-1", "Object Created", "documents/a+b.md"),
        ("good-2", "Object Deleted", "documents/d.md"),
    ]


def test_an_event_without_records_has_no_messages() -> None:
    assert relevant_messages({}) == []
