import asyncio


async def worker(n):
    total = 0
    for i in range(n):
        await asyncio.sleep(0)
        total += i
    return total


async def gather_them():
    results = await asyncio.gather(worker(3), worker(4))
    await asyncio.sleep(0.001)
    return sum(results)


async def ticker(n):
    for i in range(n):
        yield i
        await asyncio.sleep(0)


async def consume():
    seen = [i async for i in ticker(4)]
    return seen


PROFILED = [worker, gather_them, ticker, consume]


def run():
    asyncio.run(gather_them())
    asyncio.run(consume())
