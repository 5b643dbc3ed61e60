// A private scale-out shape for tests: scripts/cluster.sh (the script `make run-cluster` uses)
// with a Redis Cluster of 3 masters and 3 replicas, `instances` full instances and the
// balancer, on free loopback ports in a temporary run directory. Needs `make build` first.
//
//   const c = await startCluster({ instances: 2, env: { WNC_GRACE_MS: '2000' } });
//   ... c.url (the balancer), c.instancePorts, c.redisPorts, c.runDir ...
//   await c.stop();
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runUntilReady } from './stack.mjs';

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// Ports below the kernel's ephemeral range (ip_local_port_range starts at 32768): a listener
// drawn from that range can collide with any outgoing connection on the box, and a Redis node
// whose cluster-bus port is taken that way aborts. `count` consecutive ports from
// [low, low + span), all free, and each also free `bus` above when bus is set.
async function freeRange(count, low, span, bus = 0) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (span - count));
    let ok = true;
    for (let i = 0; ok && i < count; i++) {
      ok = await portIsFree(base + i) && (!bus || await portIsFree(base + bus + i));
    }
    if (ok) return base;
  }
  throw new Error('no free port range');
}

export async function startCluster({ instances = 2, env = {}, timeoutMs = 60000 } = {}) {
  // The balancer and the instances in 27000..31999; the 6 Redis nodes in 10000..12999 with
  // their cluster buses 10000 above (20000..22999).
  const port = await freeRange(instances + 1, 27000, 5000);
  const redisBase = await freeRange(6, 10000, 3000, 10000);
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-cluster-'));
  const { stop, output } = await runUntilReady('scripts/cluster.sh', 'Ctrl-C stops everything',
    timeoutMs, runDir, { WNC_CLUSTER_NODE_TIMEOUT_MS: '1000', ...env, PORT: String(port),
      WNC_INSTANCES: String(instances), WNC_CLUSTER_REDIS_PORT: String(redisBase), WNC_RUN_DIR: runDir });
  const instancePorts = Array.from({ length: instances }, (_, i) => port + 1 + i);
  const redisPorts = Array.from({ length: 6 }, (_, i) => redisBase + i);
  return { url: `http://127.0.0.1:${port}`, port, instancePorts, redisPorts, runDir, stop,
           output };
}
