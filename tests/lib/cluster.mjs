// A private scale-out shape for tests: scripts/cluster.sh (the script `make run-cluster` uses)
// with a Redis Cluster of 3 masters and 3 replicas, `instances` full instances and the
// balancer, on free loopback ports in a temporary run directory. Needs `make build` first.
//
//   const c = await startCluster({ instances: 2, env: { WNC_GRACE_MS: '2000' } });
//   ... c.url (the balancer), c.instancePorts, c.redisPorts, c.runDir ...
//   await c.stop();
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TEST_DEFAULTS } from './stack.mjs';

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// A base port p, picked at random in 20000..50000, with p..p+http-1 free (the balancer and the
// instances) and the 6 after them free, 10000 above too (Redis nodes and their cluster bus).
async function freeRange(http) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; ok && i < http + 6; i++) {
      ok = await portIsFree(base + i) && (i < http || await portIsFree(base + 10000 + i));
    }
    if (ok) return base;
  }
  throw new Error('no free port range');
}

export async function startCluster({ instances = 2, env = {}, timeoutMs = 60000 } = {}) {
  const port = await freeRange(instances + 1);
  const redisBase = port + instances + 1;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-cluster-'));
  const child = spawn(path.join(ROOT, 'scripts/cluster.sh'), [], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_DEFAULTS, WNC_CLUSTER_NODE_TIMEOUT_MS: '1000', ...env,
           PORT: String(port), WNC_INSTANCES: String(instances),
           WNC_CLUSTER_REDIS_PORT: String(redisBase), WNC_RUN_DIR: runDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const started = await Promise.race([
    (async () => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (output.includes('Ctrl-C stops everything')) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    })(),
    exited.then(() => false),
  ]);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(runDir, { recursive: true, force: true });
  };
  if (!started) {
    await stop();
    throw new Error(`cluster did not start:\n${output}`);
  }
  const instancePorts = Array.from({ length: instances }, (_, i) => port + 1 + i);
  const redisPorts = Array.from({ length: 6 }, (_, i) => redisBase + i);
  return { url: `http://127.0.0.1:${port}`, port, instancePorts, redisPorts, runDir, stop,
           output: () => output };
}
