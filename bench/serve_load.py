"""A small closed-loop load check for `sinter serve` (not a benchmark of
record: Python clients cost CPU on the same two cores). Usage:
  python3 bench/serve_load.py URL CLIENTS REQUESTS_PER_CLIENT
Each request embeds one sentence; prints p50/p99 latency and requests/s."""
import json
import sys
import threading
import time
import urllib.request

url, clients, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat, lock = [], threading.Lock()


def client(k):
    for i in range(per):
        body = json.dumps({"inputs": [f"request {k}-{i}: the quick brown fox jumps"]}).encode()
        req = urllib.request.Request(url + "/embed", data=body,
                                     headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req) as r:
            r.read()
        with lock:
            lat.append(time.perf_counter() - t0)


t0 = time.perf_counter()
threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - t0
lat.sort()
print(f"clients {clients}: {len(lat) / wall:.1f} req/s, p50 {lat[len(lat) // 2] * 1e3:.2f} ms, "
      f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3:.2f} ms")
