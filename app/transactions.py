"""Commit a request's writes once execution is over, before the response leaves."""

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult


class CommitWrites(SchemaExtension):
    """Commit the request's write transaction after execution (never after the response).

    If the commit fails the client must not believe the writes happened: the result is
    replaced by the error (coded by :class:`app.errors.ErrorCodes`).
    """

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        db = self.execution_context.context.db
        if not db.writing or db.hold_commit:
            return
        try:
            await db.commit()
        except Exception as error:
            self.execution_context.result = ExecutionResult(
                data=None, errors=[GraphQLError("commit failed", path=[], original_error=error)]
            )
