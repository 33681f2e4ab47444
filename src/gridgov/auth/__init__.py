"""Tokens, roles and scopes."""
