"""Parsed and validated documents remembered per process, and validation errors that keep the
schema to themselves when introspection is off.

Both caches are bounded by the bytes of the document texts they hold (the documents and
errors kept are proportional to them) and are filled only for signed-in callers: an
anonymous request is parsed and validated every time, and only ever for introspection
(app/gate.py ``ValidationGate`` refuses the rest before validation).
"""

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NamedTypeNode,
    specified_scalar_types,
    validate,
    visit,
)
from graphql.language import Visitor
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from app.errors import rewritten
from execution.cache import DOCUMENT_CACHE_BYTES as DOCUMENT_CACHE_BYTES
from execution.cache import BoundedCache as BoundedCache


def signed_in(context: ExecutionContext) -> bool:
    """Return True when the request carries a valid credential (a principal)."""
    return getattr(context.context, "principal", None) is not None


def suggestions_hidden(context: ExecutionContext) -> bool:
    """Return True when the schema is private: introspection is off (production)."""
    return NoSchemaIntrospectionCustomRule in context.validation_rules


class DocumentParseCache(SchemaExtension):
    """Parsed documents by text, for signed-in callers; strawberry parses the rest itself.

    Replaces strawberry's ``ParserCache`` (an ``lru_cache`` bounded in entries only, filled
    by anyone). A document the gate refused is not kept. Pass the class: the store is
    shared by the class, entries are per text and parse options.
    """

    documents: BoundedCache[tuple[str, tuple[Any, ...]], DocumentNode] = BoundedCache(
        DOCUMENT_CACHE_BYTES
    )

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is None or not signed_in(context):
            yield
            return
        key = (query, tuple(sorted(context.parse_options.items())))
        document = self.documents.get(key)
        if document is not None:
            context.graphql_document = document
            yield
            return
        yield  # strawberry parses; a syntax error leaves no document
        if context.graphql_document is not None and context.pre_execution_errors is None:
            self.documents.put(key, context.graphql_document, len(query))


Key = tuple[int, int, tuple[type[Any], ...]]
Entry = tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[Any], ...],
    *,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """Return graphql-core's validation errors, with strawberry's own two rules added."""
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


class DocumentValidationCache(SchemaExtension):
    """What strawberry's ``ValidationCache`` does, keyed by the parsed document's identity.

    Its ``lru_cache`` hashes the document, and graphql-core's AST nodes are frozen
    dataclasses whose hash walks the whole tree, on every request. The parser cache hands
    back the same document object for the same text, so its identity is key enough. Each
    entry holds its schema and document, so their ids cannot be reused while it exists.
    Pass the class: the store is shared by the class.

    When introspection is off, validation runs without suggestions and every error about the
    document leaves without "Did you mean ..." and without type names it did not name.
    """

    entries: BoundedCache[Key, Entry] = BoundedCache(DOCUMENT_CACHE_BYTES)

    @classmethod
    def holds(cls, context: ExecutionContext) -> bool:
        """Return True when the request's document is validated already (costs nothing)."""
        document = context.graphql_document
        return document is not None and _key(context, document) in cls.entries

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        if result is not None and result.errors and suggestions_hidden(context):
            hidden = _SchemaHints(context.schema._schema, context.graphql_document)
            result.errors = [hidden.removed(error) for error in result.errors]

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # strawberry validates parsed documents only
        if context.pre_execution_errors is not None:  # refused before validation
            yield
            return
        schema, rules = context.schema._schema, tuple(context.validation_rules)
        cache = signed_in(context) and context.query is not None
        entry = self.entries.get(_key(context, document)) if cache else None
        if entry is None:
            errors = validate_document(
                schema, document, rules, hide_suggestions=suggestions_hidden(context)
            )
            entry = (schema, document, errors)
            if cache:
                self.entries.put(_key(context, document), entry, len(context.query or ""))
        context.pre_execution_errors = entry[2]
        yield


def _key(context: ExecutionContext, document: DocumentNode) -> Key:
    return (id(context.schema._schema), id(document), tuple(context.validation_rules))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# a quoted name, with the words before it that only make sense with a type name
_QUOTED = re.compile(
    r"(?P<lead>\s+expecting type\s+|\s+(?:of|on|by|to|for)\s+(?:[A-Za-z -]*?\s)?type\s+"
    r"|\bin\s+|\bEnum\s+)?'(?P<name>[^']*)'(?P<tail>\s+enum\b)?"
)


class _SchemaHints:
    """Removes from error messages what the client may not know: suggestions, type names."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode | None) -> None:
        self.types = schema.type_map
        self.named = set(specified_scalar_types)  # every schema has them: they tell nothing
        if document is not None:
            visit(document, _NamedTypes(self.named))

    def removed(self, error: GraphQLError) -> GraphQLError:
        """Return ``error`` without hints, when it is about the document (has no path)."""
        if error.path is not None:
            return error
        message = _QUOTED.sub(self._quoted, _SUGGESTION.sub("", error.message))
        if message == error.message:
            return error
        return rewritten(error, message, error.extensions, original_error=error.original_error)

    def _hidden(self, name: str) -> bool:
        name = name.strip("[]!")
        return name in self.types and name not in self.named

    def _quoted(self, match: re.Match[str]) -> str:
        lead, name, tail = match["lead"] or "", match["name"], match["tail"] or ""
        if not self._hidden(name):
            owner, dot, member = name.partition(".")
            if dot and self._hidden(owner):  # a coordinate: Type.field, Type.field(arg:)
                return f"{lead}'{member}'{tail}"
            return match[0]
        if "expecting" in lead:
            return " expecting another type"
        if "type" in lead:
            return tail
        if lead.startswith("in") and tail:
            return "in the enum"
        if lead.startswith("Enum"):
            return "The enum "
        return f"{lead}a hidden type{tail}"


class _NamedTypes(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_named_type(self, node: NamedTypeNode, *_: Any) -> None:
        self.names.add(node.name.value)
