"""The Tracer: X-Ray through Powertools when tracing is on; when it is off, a no-op that loads no X-Ray SDK."""

import contextlib
import numbers
import os
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

TRUTHY = frozenset({"1", "true", "yes", "on", "y", "t"})


class NoOpSegment(BaseSegment):
    """A segment that records nothing."""

    def close(self, end_time: int | None = None) -> None:
        """Nothing to close."""

    def add_subsegment(self, subsegment: Any) -> None:
        """Nothing to add."""

    def remove_subsegment(self, subsegment: Any) -> None:
        """Nothing to remove."""

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        """Annotations are dropped."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Metadata is dropped."""

    def add_exception(self, exception: BaseException, stack: list[Any], remote: bool = False) -> None:
        """Exceptions are dropped (the function logs them)."""


class NoOpProvider(BaseProvider):
    """The provider of a disabled Tracer: Powertools would otherwise build an X-Ray recorder and client anyway."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield NoOpSegment()

    @contextlib.contextmanager
    def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield NoOpSegment()

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        """Annotations are dropped."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Metadata is dropped."""

    def patch(self, modules: Sequence[str]) -> None:
        """Nothing to patch."""

    def patch_all(self) -> None:
        """Nothing to patch."""


def tracing_disabled(environ: Mapping[str, str]) -> bool:
    """Powertools' rule: off when POWERTOOLS_TRACE_DISABLED is truthy, or outside Lambda (or in SAM local)."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in TRUTHY:
        return True
    return not environ.get("LAMBDA_TASK_ROOT") or bool(environ.get("AWS_SAM_LOCAL"))


def create_tracer(environ: Mapping[str, str] = os.environ) -> Tracer:
    """A Tracer that patches botocore only (the one library the function calls AWS with)."""
    if tracing_disabled(environ):
        return Tracer(disabled=True, auto_patch=False, provider=NoOpProvider())
    return Tracer(patch_modules=("botocore",))
