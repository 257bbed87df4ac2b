"""Writes of the analytics app, one module per part, re-exported here."""
