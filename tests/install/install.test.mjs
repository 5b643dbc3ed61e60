// `make install` into a temporary DESTDIR, then the installed files at work (issue 15):
//  1. the layout: binaries and wnc-render-nginx in bin/, the Lua library, web root and nginx
//     files under share/wnc/, the units, the example env file;
//  2. systemd-analyze verify on the installed units, with --root=DESTDIR, run from inside it;
//  3. --check-config of both installed daemons: every variable of the table printed, each one
//     documented in wnc.env.example with its true default, the README table's variables there
//     too; an invalid value named, an unknown argument refused with the usage (exit 2);
//  4. the installed stack: a private redis-server; the installed wnc-fcgi started the way
//     wnc-fcgi.socket starts it (systemd-socket-activate holds the socket and passes it as fd 3)
//     and the installed wnc-pushd, both configured from an env file made from the installed
//     example; nginx with a system-style main configuration written here (an http {} block
//     with another server in it and an include of the site the installed wnc-render-nginx
//     rendered), checked with nginx -t, then serving: static page, a room created and read
//     back, a WebSocket subscription receiving an event, the other server untouched;
//  5. wnc-fcgi stopped under load: the socket stays (systemd keeps it), the requests that came
//     meanwhile wait in its backlog and are answered by the next worker, started the
//     spawn-fcgi way (the socket on fd 0).
// Everything on loopback ports picked here, under one temporary directory, removed at the end.
// As root (CI), nginx's workers run as nobody: the tree is made readable to them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort } from '../lib/stack.mjs';
import { api, sleep, subscribeWs } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';

const PREFIX = '/usr/local';
const UNITS = ['wnc-fcgi.socket', 'wnc-fcgi.service', 'wnc-pushd.service'];
const isRoot = process.getuid() === 0;

let tmp, dest, runDir, logDir, bin, share, unitDir, exampleText;
const procs = {}; // name -> { child, exited }

// The environment of a child: PATH and the given variables only (no WNC_* from the caller).
const cleanEnv = (vars = {}) => ({ PATH: process.env.PATH, ...vars });

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30000, ...opts });
  if (r.error) throw r.error;
  return r;
}

function start(name, cmd, args, env) {
  const out = path.join(logDir, `${name}.log`);
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => writeFileSync(out, d, { flag: 'a' }));
  child.stderr.on('data', (d) => writeFileSync(out, d, { flag: 'a' }));
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
  procs[name] = { child, exited };
  return procs[name];
}

async function stop(name, signal = 'SIGTERM', ms = 10000) {
  const p = procs[name];
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), ms);
  await p.exited;
  clearTimeout(t);
}

const log = (name) => (existsSync(path.join(logDir, `${name}.log`))
  ? readFileSync(path.join(logDir, `${name}.log`), 'utf8') : '');

// Every log of the run, for failure messages.
const allLogs = () => (logDir && existsSync(logDir) ? readdirSync(logDir) : [])
  .map((f) => `---- ${f}\n${readFileSync(path.join(logDir, f), 'utf8').slice(-3000)}`).join('\n');

async function until(what, check, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${allLogs()}`);
    await sleep(50);
  }
}

// NAME=value lines of an env file, as systemd's EnvironmentFile= reads them (comments skipped,
// one level of quotes removed).
function parseEnvFile(text) {
  const vars = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2].trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return vars;
}

// The variables --check-config prints, as { NAME: value }.
function printed(stdout) {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wnc-install-'));
  chmodSync(tmp, 0o711);
  dest = path.join(tmp, 'root');
  runDir = path.join(tmp, 'run');
  logDir = path.join(tmp, 'logs');
  for (const d of [runDir, logDir, path.join(tmp, 'nginx'), path.join(tmp, 'redis'),
    path.join(tmp, 'sites-enabled'), path.join(tmp, 'modules-enabled')]) {
    mkdirSync(d);
    chmodSync(d, 0o711);
  }
  // A make of our own (not the caller's jobserver or flags): the binaries are built already.
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const r = run('make', ['--no-print-directory', '-s', '-C', ROOT, 'install', `PREFIX=${PREFIX}`,
    `DESTDIR=${dest}`], { env, timeout: 120000 });
  assert.equal(r.status, 0, `make install failed:\n${r.stdout}${r.stderr}`);
  // Readable to nginx's workers (nobody) whatever the umask.
  assert.equal(run('chmod', ['-R', 'a+rX', dest]).status, 0);
  bin = path.join(dest, PREFIX, 'bin');
  share = path.join(dest, PREFIX, 'share/wnc');
  unitDir = path.join(dest, PREFIX, 'lib/systemd/system');
  exampleText = readFileSync(path.join(dest, 'etc/wnc/wnc.env.example'), 'utf8');
});

after(async () => {
  // The worker's supervisor loop first (it would start the next worker), then the rest.
  const fcgiPid = path.join(runDir ?? '', 'fcgi.pid');
  await stop('pushd');
  if (procs.fcgi) {
    procs.fcgi.child.kill('SIGTERM'); // the loop's shell: no further worker
    if (existsSync(fcgiPid)) {
      try { process.kill(Number(readFileSync(fcgiPid, 'utf8')), 'SIGTERM'); } catch { /* gone */ }
    }
    await stop('fcgi');
  }
  await stop('nginx', 'SIGQUIT');
  await stop('redis');
  // WNC_TEST_KEEP=1 keeps the tree (and its logs) for a look.
  if (tmp && process.env.WNC_TEST_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
});

test('make install lays out binaries, Lua library, web root, nginx files, units, env example', () => {
  for (const b of ['wnc-fcgi', 'wnc-pushd', 'wnc-render-nginx']) {
    assert.ok(existsSync(path.join(bin, b)), `bin/${b}`);
  }
  const lua = readdirSync(path.join(share, 'sql')).sort();
  assert.deepEqual(lua, readdirSync(path.join(ROOT, 'sql')).filter((f) => f.endsWith('.lua')).sort());
  assert.equal(readFileSync(path.join(share, 'web/index.html'), 'utf8'),
    readFileSync(path.join(ROOT, 'web/index.html'), 'utf8'));
  for (const f of ['wnc-site.conf.in', 'wnc-fastcgi.conf', 'wnc-headers.conf']) {
    assert.ok(existsSync(path.join(share, 'nginx', f)), `share/wnc/nginx/${f}`);
  }
  for (const u of UNITS) assert.ok(existsSync(path.join(unitDir, u)), u);
  const service = readFileSync(path.join(unitDir, 'wnc-fcgi.service'), 'utf8');
  assert.match(service, new RegExp(`^ExecStart=${PREFIX}/bin/wnc-fcgi$`, 'm'));
  assert.match(service, new RegExp(`^ExecStartPre=${PREFIX}/bin/wnc-fcgi --check-config$`, 'm'));
  assert.match(exampleText, new RegExp(`^WNC_SQL_DIR=${PREFIX}/share/wnc/sql$`, 'm'));
});

test('systemd-analyze verify passes on the installed units', (t) => {
  const which = run('sh', ['-c', 'command -v systemd-analyze']);
  assert.equal(which.status, 0, 'systemd-analyze is missing: scripts/deps.sh installs systemd');
  const units = UNITS.map((u) => path.relative(dest, path.join(unitDir, u)));
  // From inside the DESTDIR, as in a container without systemd as init.
  const r = run('systemd-analyze', ['verify', '--man=no', '--recursive-errors=no', `--root=${dest}`,
    ...units], { cwd: dest });
  t.diagnostic(`systemd-analyze verify ${units.join(' ')}: status ${r.status}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warnings');
});

test('--check-config prints every variable, each documented with its default; refuses bad ones', () => {
  const sqlDir = path.join(share, 'sql');
  for (const daemon of ['wnc-fcgi', 'wnc-pushd']) {
    const exe = path.join(bin, daemon);
    // Built-in defaults (but the installed library).
    const r = run(exe, ['--check-config'], { env: cleanEnv({ WNC_SQL_DIR: sqlDir }) });
    assert.equal(r.status, 0, r.stderr);
    const vars = printed(r.stdout);
    assert.ok(Object.keys(vars).length >= 20, r.stdout);
    assert.equal(vars.WNC_SQL_DIR, sqlDir);
    // Every variable is in the example, commented lines showing the true default.
    const example = {};
    for (const m of exampleText.matchAll(/^#?(WNC_[A-Z0-9_]+)=(.*)$/gm)) {
      example[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    }
    for (const [name, value] of Object.entries(vars)) {
      assert.ok(name in example, `${name} is not documented in wnc.env.example`);
      const commented = new RegExp(`^#${name}=`, 'm').test(exampleText);
      // WNC_WORKERS=0 prints the threads it stands for, an empty WNC_INSTANCE the host name.
      if (commented && !['WNC_WORKERS', 'WNC_INSTANCE'].includes(name)) {
        assert.equal(example[name], value, `wnc.env.example's default for ${name}`);
      }
    }
    // The example as an operator would use it (its values, every default uncommented) passes.
    const all = parseEnvFile(exampleText.replace(/^#(WNC_[A-Z0-9_]+=.+)$/gm, '$1'));
    const ok = run(exe, ['--check-config'], { env: cleanEnv({ ...all, WNC_SQL_DIR: sqlDir }) });
    assert.equal(ok.status, 0, ok.stderr);
    // An invalid value: non-zero, named.
    const bad = run(exe, ['--check-config'], { env: cleanEnv({ WNC_SQL_DIR: sqlDir, WNC_GRACE_MS: '5' }) });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /WNC_GRACE_MS="5"/);
    assert.equal(bad.stdout, '');
    const noLib = run(exe, ['--check-config'], { env: cleanEnv({ WNC_SQL_DIR: tmp }) });
    assert.notEqual(noLib.status, 0);
    assert.match(noLib.stderr, /WNC_SQL_DIR/);
    // Anything else: the usage, exit 2.
    for (const args of [['--check'], ['--check-config', 'x'], ['-h']]) {
      const u = run(exe, args, { env: cleanEnv() });
      assert.equal(u.status, 2, `${daemon} ${args.join(' ')}`);
      assert.match(u.stderr, /^usage: /);
    }
  }
  // README's configuration table: each WNC_ variable is in the example too.
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  for (const [name] of table.matchAll(/WNC_[A-Z0-9_]+/g)) {
    assert.ok(exampleText.includes(name), `README's ${name} is not in wnc.env.example`);
  }
});

test('the installed stack serves behind a system-style nginx configuration', async () => {
  const [port, otherPort, redisPort] = [await freePort(), await freePort(), await freePort()];

  // The env file, made from the installed example with this test's ports and paths.
  const envText = exampleText
    .replace(/^WNC_REDIS_PORT=.*$/m, `WNC_REDIS_PORT=${redisPort}`)
    .replace(/^WNC_SQL_DIR=.*$/m, `WNC_SQL_DIR=${path.join(share, 'sql')}`)
    .replace(/^WNC_FCGI_SOCKET=.*$/m, `WNC_FCGI_SOCKET=${runDir}/fcgi.sock`)
    .replace(/^WNC_PUBLISH_SOCKET=.*$/m, `WNC_PUBLISH_SOCKET=${runDir}/publish.sock`)
    .replace(/^WNC_NGINX_PID=.*$/m, `WNC_NGINX_PID=${tmp}/nginx.pid`)
    .replace(/^#WNC_WORKERS=.*$/m, 'WNC_WORKERS=4');
  const envFile = path.join(tmp, 'wnc.env');
  writeFileSync(envFile, envText);
  const wncEnv = parseEnvFile(envText);
  assert.equal(wncEnv.WNC_REDIS_PORT, String(redisPort));

  start('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', path.join(tmp, 'redis')], cleanEnv());
  await until('redis', () => run('redis-cli', ['-p', String(redisPort), 'ping']).stdout.trim() === 'PONG');

  // wnc-fcgi as wnc-fcgi.socket starts it: systemd-socket-activate holds the socket and hands it
  // over as fd 3 (LISTEN_FDS=1) at the first connection. A small loop stands for systemd's
  // Restart=: a second worker, on the same socket, passed the spawn-fcgi way (fd 0).
  const loop = path.join(tmp, 'fcgi-loop.sh');
  writeFileSync(loop, `#!/bin/sh
# $1: the installed wnc-fcgi; $2: where its pid and exit statuses go.
sh -c 'echo $$ > "$2/fcgi.pid"; LISTEN_PID=$$; export LISTEN_PID; exec "$1"' sh "$1" "$2"
echo $? >> "$2/fcgi.status"
sh -c 'echo $$ > "$2/fcgi.pid"; unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; exec "$1" 0<&3 3<&-' sh "$1" "$2"
echo $? >> "$2/fcgi.status"
`, { mode: 0o755 });
  const sock = path.join(runDir, 'fcgi.sock');
  start('fcgi', 'systemd-socket-activate', ['-l', sock,
    ...Object.keys(wncEnv).flatMap((k) => ['-E', k]), loop, path.join(bin, 'wnc-fcgi'), runDir],
  cleanEnv(wncEnv));
  await until('the activation socket', () => existsSync(sock));
  // Reachable to nginx's workers (nobody), as SocketMode= and SocketGroup= make it.
  chmodSync(sock, 0o666);

  // The site, rendered by the installed script from its installed template, and a main
  // configuration shaped like a distribution's (Debian's /etc/nginx/nginx.conf).
  const rendered = run(path.join(bin, 'wnc-render-nginx'), ['--env', envFile,
    '--listen', `127.0.0.1:${port}`, '--run-dir', runDir], {
    env: cleanEnv({ ACCESS_LOG: `${logDir}/wnc-access.log`, ERROR_LOG: `${logDir}/wnc-error.log` }),
  });
  assert.equal(rendered.status, 0, rendered.stderr);
  assert.ok(rendered.stdout.includes(`root ${share}/web;`), 'web root from the installation');
  assert.ok(rendered.stdout.includes(`include ${share}/nginx/wnc-headers.conf;`));
  assert.ok(rendered.stdout.includes(`server unix:${sock} max_conns=128;`), 'WNC_WORKERS=4 from --env');
  writeFileSync(path.join(tmp, 'sites-enabled/wnc.conf'), rendered.stdout);
  writeFileSync(path.join(tmp, 'modules-enabled/50-mod-nchan.conf'),
    'load_module /usr/lib/nginx/modules/ngx_nchan_module.so;\n');
  const conf = path.join(tmp, 'nginx.conf');
  writeFileSync(conf, `${isRoot ? 'user nobody nogroup;\n' : ''}worker_processes 2;
pid ${tmp}/nginx.pid;
error_log ${logDir}/nginx-error.log warn;
daemon off;
include ${tmp}/modules-enabled/*.conf;

events {
    worker_connections 768;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    access_log ${logDir}/access.log;
    gzip on;
    client_body_temp_path ${tmp}/nginx/body;
    proxy_temp_path ${tmp}/nginx/proxy;
    fastcgi_temp_path ${tmp}/nginx/fastcgi;
    uwsgi_temp_path ${tmp}/nginx/uwsgi;
    scgi_temp_path ${tmp}/nginx/scgi;

    # Somebody else's site on the same nginx.
    server {
        listen 127.0.0.1:${otherPort} default_server;
        server_name other.example;
        location / {
            default_type text/plain;
            return 200 "the other site\\n";
        }
    }

    include ${tmp}/sites-enabled/*;
}
`);
  const nginxArgs = ['-p', `${tmp}/nginx/`, '-c', conf, '-e', `${logDir}/nginx-error.log`];
  const check = run('nginx', ['-t', ...nginxArgs]);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stderr, /test is successful/);
  start('nginx', 'nginx', nginxArgs, cleanEnv());
  start('pushd', path.join(bin, 'wnc-pushd'), [], cleanEnv(wncEnv));

  const url = `http://127.0.0.1:${port}`;
  const req = api(url);
  // The first connection starts the worker (systemd-socket-activate waits for it).
  const health = await until('/health', async () => {
    await sleep(150); // under nginx's /health limit (10/s)
    try { const r = await req('GET', '/health'); return r.status === 200 ? r : null; } catch { return null; }
  }, 15000);
  assert.deepEqual(health.json, { status: 'ok' });
  // The worker logs its start once its threads run: the first answer can come before the line.
  await until('the worker\'s start line', async () => /listening on the inherited socket \(fd 3\)/.test(log('fcgi')) || null, 5000);
  assert.match(log('fcgi'), /listening on the inherited socket \(fd 3\)/);
  assert.doesNotMatch(log('fcgi'), /error/);

  const other = await fetch(`http://127.0.0.1:${otherPort}/`);
  assert.equal(other.status, 200);
  assert.equal(await other.text(), 'the other site\n');

  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), readFileSync(path.join(share, 'web/index.html'), 'utf8'));

  const { roomId, host } = await makeRoom(req, 'Alice');
  const read = await req('GET', `/api/rooms/${roomId}`, null, host.token);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.json.room.id, roomId);
  assert.deepEqual(read.json.room.users.map((u) => u.name), ['Alice']);

  const ws = await subscribeWs(port, roomId, host.token);
  const joined = await req('POST', `/api/rooms/${roomId}/join`, { userName: 'Bob' });
  assert.equal(joined.status, 201, joined.text);
  const event = await ws.next((e) => e.type === 'user.joined' && e.data.user.id === joined.json.userId);
  assert.equal(event.data.user.name, 'Bob');
  ws.close();
  assert.match(log('pushd'), /started/);

  // ---- 5: a restart keeps the socket ----------------------------------------------------
  const first = Number(readFileSync(path.join(runDir, 'fcgi.pid'), 'utf8'));
  const inFlight = [];
  for (let i = 0; i < 5; i++) inFlight.push(req('GET', '/api/time'));
  process.kill(first, 'SIGTERM');
  // Requests sent while no worker accepts wait in the socket's backlog for the next one.
  for (let i = 0; i < 20; i++) {
    inFlight.push(req('GET', '/api/time'));
    await sleep(5);
  }
  const statuses = (await Promise.all(inFlight)).map((r) => r.status);
  assert.deepEqual(statuses, statuses.map(() => 200), 'no request lost to the restart');
  const status = path.join(runDir, 'fcgi.status');
  await until('the first worker to exit', () => existsSync(status));
  assert.equal(readFileSync(status, 'utf8'), '0\n', 'a clean stop');
  await until('the second worker', () => /inherited socket \(fd 0\)/.test(log('fcgi')));
  assert.notEqual(Number(readFileSync(path.join(runDir, 'fcgi.pid'), 'utf8')), first);
  const after2 = await makeRoom(req, 'Carol');
  assert.equal((await req('GET', `/api/rooms/${after2.roomId}`, null, after2.host.token)).status, 200);
});
