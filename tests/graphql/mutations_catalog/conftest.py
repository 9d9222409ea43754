"""Shared by the category and policy tests: ``org``, two businesses of each test module's own."""

from tests.graphql.mutations_catalog.helpers_orgs import org_by_module

# each test module's businesses of its own: Catco for the category tests, Polco for the policy ones
org = org_by_module({"test_category": ("Catco", 31), "test_policy": ("Polco", 41)})
