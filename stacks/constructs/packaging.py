"""How a function's code is packaged: its `lambda/<package>`, the shared `lambda/common`, and pinned packages.

A function with a requirements file gets those packages in its own deployment package, installed at synth
with pip for Lambda's platform (no Docker), as the Lambda guide recommends for boto3 itself: the runtime's
copy may predate the APIs the function calls. Installs are cached in .build/ by the file's content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_ROOT = ROOT / "lambda"
BUILD_DIR = ROOT / ".build"
SHARED_PACKAGE = "common"
IGNORED = ("__pycache__", "*.pyc")
# What Lambda runs the functions on: Python 3.14 on arm64 (Graviton).
PIP_TARGET = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.14")


class PackagingError(RuntimeError):
    """A function's pinned packages could not be installed."""


def function_code(package: str, requirements: Path | None = None) -> lambda_.Code:
    """The asset of `lambda/<package>`: the package, `lambda/common`, and the packages of `requirements`."""
    if requirements is None:
        siblings = sorted(path.name for path in LAMBDA_ROOT.iterdir() if path.name not in (package, SHARED_PACKAGE))
        return lambda_.Code.from_asset(str(LAMBDA_ROOT), exclude=[*siblings, *(f"**/{p}" for p in IGNORED)])
    directory = assemble(package, requirements)
    # The directory's name carries the digest of everything in it: CDK need not read the files to hash them.
    return lambda_.Code.from_asset(str(directory), asset_hash=directory.name, asset_hash_type=cdk.AssetHashType.CUSTOM)


def _move_into_place(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError:
        # Another synth finished the same directory first; its content is identical.
        shutil.rmtree(staging, ignore_errors=True)


def install(requirements: Path, build_dir: Path = BUILD_DIR / "packages") -> Path:
    """Install hash-pinned `requirements` once per content; returns the directory they were installed into."""
    content = requirements.read_bytes() + " ".join(PIP_TARGET).encode()
    target = build_dir / hashlib.sha256(content).hexdigest()[:16]
    if target.is_dir():
        return target
    staging = build_dir / f"{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--only-binary=:all:", "--require-hashes", *PIP_TARGET, "--target", str(staging), "--requirement",
        str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - pip, fixed arguments
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise PackagingError(f"could not install {requirements} for Lambda (synth needs PyPI once): {last}")
    _move_into_place(staging, target)
    return target


def _sources(package: str) -> list[Path]:
    return sorted(
        path
        for directory in (LAMBDA_ROOT / package, LAMBDA_ROOT / SHARED_PACKAGE)
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def assemble(package: str, requirements: Path, build_dir: Path = BUILD_DIR / "functions") -> Path:
    """The deployment package directory: installed packages (hard links into the cache) and the sources."""
    installed = install(requirements)
    digest = hashlib.sha256(installed.name.encode())
    sources = _sources(package)
    for path in sources:
        digest.update(str(path.relative_to(LAMBDA_ROOT)).encode() + b"\0" + path.read_bytes())
    target = build_dir / f"{package}-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    staging = build_dir / f"{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(installed, staging, copy_function=_link_or_copy)
    for path in sources:
        destination = staging / path.relative_to(LAMBDA_ROOT)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    _move_into_place(staging, target)
    return target


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
