"""Test support shared by every app's tests: factories, named actors, helpers."""
