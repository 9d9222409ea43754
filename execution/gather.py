"""Await many awaitables together inside the current task: the compiled executor's gather."""

import asyncio
import contextvars
from collections.abc import Awaitable, Generator, Sequence
from typing import Any


async def gather(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    """Return the results of ``awaitables``, run concurrently without a task apiece.

    ``asyncio.gather`` wraps every coroutine in a Task, and a 50-row page with eight
    resolved fields per row makes hundreds of them. Here each awaitable is stepped the
    way a Task steps its coroutine: started at once, and resumed from the done-callback
    of the future it waits for, so DataLoaders still see every key before they dispatch
    and a lock held by one awaitable can be released while another waits for it. They
    share one copy of the caller's context.

    After an error the others still run to their end (one may be in the middle of a
    statement on the request's connection), then the first error is raised. If the
    caller is cancelled, the cancellation is thrown into every awaitable still waiting.
    """
    if not awaitables:
        return []
    run = _Run([awaitable.__await__() for awaitable in awaitables])
    for i in range(len(run.steps)):
        run.context.run(run.step, i)
    try:
        return await run.finished
    except asyncio.CancelledError:
        run.cancel()
        raise


class _Run:
    """The shared state of one gather: the steps, their results, the first error."""

    def __init__(self, steps: list[Generator[Any, None, Any]]) -> None:
        self.loop = asyncio.get_running_loop()
        self.context = contextvars.copy_context()
        self.steps = steps
        self.results: list[Any] = [None] * len(steps)
        self.running = set(range(len(steps)))
        self.error: BaseException | None = None
        self.finished: asyncio.Future[list[Any]] = self.loop.create_future()

    def step(self, i: int) -> None:
        """Resume one awaitable until it waits again, finishes or fails."""
        if i not in self.running:  # cancelled meanwhile
            return
        try:
            future = self.steps[i].send(None)
        except StopIteration as stop:
            self.results[i] = stop.value
            self._end(i)
            return
        except BaseException as error:  # handed to the awaiting caller
            if isinstance(error, asyncio.CancelledError):  # a future it awaited was cancelled
                error = RuntimeError("an awaited future was cancelled")
            self.error = self.error or error
            self._end(i)
            return
        if future is None:  # a bare yield (sleep(0)) asks for one turn of the loop
            self.loop.call_soon(self.step, i, context=self.context)
        elif asyncio.isfuture(future):
            future._asyncio_future_blocking = False  # as Task.__step does
            future.add_done_callback(lambda _: self.step(i), context=self.context)
        else:
            self.steps[i].close()
            self.error = self.error or RuntimeError(f"awaitable yielded {future!r}")
            self._end(i)

    def _end(self, i: int) -> None:
        self.running.discard(i)
        if self.running or self.finished.done():
            return
        if self.error is not None:
            self.finished.set_exception(self.error)
        else:
            self.finished.set_result(self.results)

    def cancel(self) -> None:
        """Throw the caller's cancellation into every awaitable still waiting, then close it."""
        running, self.running = self.running, set()
        for i in running:
            step = self.steps[i]
            try:
                step.throw(asyncio.CancelledError())
            except BaseException:  # it ends either way
                pass
            step.close()
