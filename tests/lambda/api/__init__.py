"""Tests of the REST API Lambda."""
