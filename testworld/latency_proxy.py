"""A userspace TCP proxy that adds latency, for measuring round trips (loopback only).

Each direction delays every chunk by half the round-trip time, preserving order, and a new
connection's first bytes by one more round trip (the TCP handshake). It counts
connections and request "flights": client data that follows server data (or opens a
connection), i.e. the exchanges a client waits a round trip for.
"""

from __future__ import annotations

import asyncio
import threading


class LatencyProxy:
    def __init__(self, upstream_port: int, rtt: float):
        self.upstream_port = upstream_port
        self.half = rtt / 2
        self.connections = 0
        self.flights = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def reset(self):
        self.connections = 0
        self.flights = 0

    async def _serve(self, client_reader, client_writer):
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        state = {"last": "server"}
        # The TCP handshake happens locally here; charge its round trip by holding the client's
        # first bytes back one RTT, as a real SYN / SYN-ACK would.
        opened = self._loop.time()

        async def pipe(reader, writer, direction):
            queue: asyncio.Queue = asyncio.Queue()

            async def pump():
                while True:
                    try:
                        data = await reader.read(65536)
                    except (ConnectionError, OSError):
                        data = b""
                    if direction == "client" and data and state["last"] == "server":
                        self.flights += 1
                    if data:
                        state["last"] = direction
                    due = self._loop.time() + self.half
                    if direction == "client":
                        due = max(due, opened + 2 * self.half + self.half)
                    await queue.put((due, data))
                    if not data:
                        return

            async def deliver():
                while True:
                    due, data = await queue.get()
                    await asyncio.sleep(max(0.0, due - self._loop.time()))
                    if not data:
                        try:
                            writer.close()
                        except Exception:
                            pass
                        return
                    try:
                        writer.write(data)
                        await writer.drain()
                    except (ConnectionError, OSError):
                        return

            await asyncio.gather(pump(), deliver())

        await asyncio.gather(pipe(client_reader, upstream_writer, "client"), pipe(upstream_reader, client_writer, "server"))
