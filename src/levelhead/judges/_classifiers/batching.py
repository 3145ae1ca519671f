"""Micro-batching for async judges over a batched, blocking classifier.

A classifier costs about the same for one text as for a few hundred (profanity-check: ~3 ms a
call), so concurrent ``judge`` calls are gathered: every text submitted while the loop is busy
goes into the next batch, scored in one call in a worker thread. While a batch is in the thread,
new texts wait for the next one, so batches grow with the load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Batcher"]

R = TypeVar("R")


class Batcher(Generic[R]):
    """Scores texts submitted from async code in batches, with ``score`` run in a thread.

    Args:
        score: the blocking batched function: one result per text, in order.
    """

    def __init__(self, score: Callable[[list[str]], list[R]]) -> None:
        self._score = score
        # One queue per running event loop (tests and scripts may run several, one after another).
        self._queues: dict[asyncio.AbstractEventLoop, list[tuple[str, asyncio.Future[R]]]] = {}
        self._drainers: set[asyncio.Task[None]] = set()

    async def submit(self, text: str) -> R:
        """The result for ``text``, scored with whatever else is submitted meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = []
            # The drainer's first step runs after the tasks already ready in this turn of the
            # loop, so their texts join the same batch.
            task = loop.create_task(self._drain(loop, queue))
            self._drainers.add(task)
            task.add_done_callback(self._drainers.discard)
        queue.append((text, future))
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop,
                     queue: list[tuple[str, asyncio.Future[R]]]) -> None:
        try:
            while queue:
                batch = queue[:]
                del queue[:]
                try:
                    results = await asyncio.to_thread(self._score, [text for text, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:  # e.g. a missing package: every caller in the batch sees it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # its caller may have been cancelled
                        future.set_result(result)
        finally:
            # No await since the queue was last seen empty: nothing can have joined it.
            del self._queues[loop]
            for _, future in queue:
                if not future.done():
                    future.cancel()
