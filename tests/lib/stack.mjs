// A private Watch N Chill stack for tests: redis-server, wnc-fcgi, wnc-pushd and nginx+nchan on
// free loopback ports in a temporary run directory, started through scripts/stack.sh (the same
// script `make run` uses). Needs `make build` first.
//
//   const stack = await startStack({ env: { WNC_GRACE_MS: '2000' } });
//   ... stack.url, stack.port, stack.redisPort, stack.runDir ...
//   await stack.stop();
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// A free loopback port below the kernel's ephemeral range (as scripts/bench.sh picks them): a
// port from that range can be taken as the local port of some outgoing connection between this
// check and the server's bind (CI saw nginx fail with "Address already in use" that way).
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch { return 32768; }
})();
function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
export async function freePort() {
  const low = 20000, high = Math.max(low + 1000, EPHEMERAL_LOW);
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

// Defaults suited to tests: no AOF fsync cost, limits high enough that a test's own traffic
// from 127.0.0.1 is not throttled (tests of the limits set them low explicitly).
const TEST_DEFAULTS = {
  WNC_REDIS_APPENDONLY: 'no',
  WNC_RATE_LIMIT: '100000',
  WNC_MAX_SUBS_PER_IP: '1000',
  WNC_CHAT_RATE: '1000',
  WNC_CONTROL_RATE: '1000',
  WNC_NGINX_RATE: '100000',
  WNC_NGINX_BURST: '100000',
  WNC_FCGI_QUEUE: '100000',
  WNC_WORKERS: '4',
  WNC_LOG_LEVEL: 'info',
  // Two nginx workers whatever the box: the shape of a bigger machine, where nchan hands
  // publishes and subscriber checks between workers (a 2-core box defaults to one).
  WNC_NGINX_WORKERS: '2',
};

// Starts one of the scripts (its path under ROOT) with the test defaults and env, in the
// foreground, and resolves once its output shows ready; throws with the output when it exits or
// times out first. stop() ends it (SIGTERM, waits) and removes runDir.
export async function runUntilReady(script, ready, timeoutMs, runDir, env) {
  const child = spawn(path.join(ROOT, script), [], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_DEFAULTS, ...env },
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
        if (output.includes(ready)) return true;
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
    // WNC_TEST_KEEP_RUN_DIR=1 keeps the logs of a run for a post-mortem.
    if (process.env.WNC_TEST_KEEP_RUN_DIR === '1') console.log(`# run directory kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  };
  if (!started) {
    await stop();
    throw new Error(`${script} did not start:\n${output}`);
  }
  return { stop, output: () => output };
}

// With WNC_TEST_CLUSTER=1 in the environment (make test-cluster) it starts the scale-out shape
// instead (tests/lib/cluster.mjs: 2 instances on a Redis Cluster behind the balancer), and
// url/port are the balancer's, runDir the first instance's.
export async function startStack({ env = {}, timeoutMs = 20000, redisPort: fixedRedisPort } = {}) {
  if (process.env.WNC_TEST_CLUSTER === '1' && fixedRedisPort === undefined) {
    const { startCluster } = await import('./cluster.mjs');
    const c = await startCluster({ env });
    return { url: c.url, port: c.port, redisPort: c.redisPorts[0], runDir: path.join(c.runDir, '1'),
             stop: c.stop, output: c.output, cluster: c };
  }
  const port = await freePort();
  const redisPort = fixedRedisPort ?? await freePort();
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-test-'));
  const { stop, output } = await runUntilReady('scripts/stack.sh', 'is running at', timeoutMs, runDir,
    { ...env, PORT: String(port), REDIS_PORT: String(redisPort), WNC_RUN_DIR: runDir });
  const url = `http://127.0.0.1:${port}`;
  return { url, port, redisPort, runDir, stop, output };
}

// Takes a stack's FastCGI pool down the way a crash does and keeps it down: wnc-fcgi is killed
// (and with it the connections nginx keeps to it) while the supervisor is paused, so nothing
// listens on the socket; with noSocket the socket file is moved away too (connect: ENOENT).
// Returns a function that brings it back: socket restored, supervisor resumed, and it waits
// until the API answers again (at most 10 s).
export async function poolDown(stack, { noSocket = false } = {}) {
  const pidOf = (name) => Number(readFileSync(path.join(stack.runDir, `${name}.pid`), 'utf8'));
  const gone = (pid) => {
    try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z'; } catch { return true; }
  };
  const supervisor = pidOf('stack'), fcgi = pidOf('fcgi');
  const sock = path.join(stack.runDir, 'fcgi.sock');
  process.kill(supervisor, 'SIGSTOP');
  process.kill(fcgi, 'SIGKILL');
  while (!gone(fcgi)) await new Promise((r) => setTimeout(r, 10));
  if (noSocket) renameSync(sock, `${sock}.away`);
  return async () => {
    if (existsSync(`${sock}.away`)) renameSync(`${sock}.away`, sock);
    process.kill(supervisor, 'SIGCONT');
    for (const t = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
      const status = await fetch(`${stack.url}/api/time`).then((r) => r.status, () => 0);
      if (status === 200 && pidOf('fcgi') !== fcgi) return;
      if (Date.now() - t > 10000) throw new Error('the FastCGI pool did not come back');
    }
  };
}
