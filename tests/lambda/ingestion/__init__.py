"""Tests of the knowledge-base ingestion Lambda."""
