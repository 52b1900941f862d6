"""Fixtures for a real local OCI registry (docker-registry) and images built by code."""
