"""Validated documents remembered by identity: a repeated query skips validation for free."""

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

Key = tuple[int, int, tuple[type[Any], ...]]
Entry = tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]


class DocumentValidationCache(SchemaExtension):
    """What strawberry's ``ValidationCache`` does, keyed by the parsed document's identity.

    Its ``lru_cache`` hashes the document, and graphql-core's AST nodes are frozen
    dataclasses whose hash walks the whole tree, on every request. The parser cache hands
    back the same document object for the same text, so its identity is key enough. Each
    entry holds its schema and document, so their ids cannot be reused while it exists.
    Pass a factory (``lambda: DocumentValidationCache(n)``): the entries are per class.
    """

    _entries: "OrderedDict[Key, Entry]" = OrderedDict()

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document = context.schema._schema, context.graphql_document
        assert document is not None  # strawberry validates parsed documents only
        rules = tuple(context.validation_rules)
        key = (id(schema), id(document), rules)
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            entry = (schema, document, validate_document(schema, document, rules))
            entries[key] = entry
            if len(entries) > self.maxsize:
                entries.popitem(last=False)  # the least recently used goes first
        else:
            entries.move_to_end(key)
        context.pre_execution_errors = entry[2]
        yield
