"""Tests of the Lambda functions, one package per function."""
