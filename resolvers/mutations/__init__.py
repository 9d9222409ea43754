"""Mutations: business rules and writes. Rule failures become the payload's userErrors."""
