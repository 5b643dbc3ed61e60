/*
 * A small stand-in for the C stack, for developing the benchmark while the
 * real one is not available (`bench-sync.mjs --mock`). It implements only
 * what the video area needs: /api/time, rooms, join, the video routes and a
 * WebSocket event stream with video.* events and video.sync beacons, plus
 * static files from web/. Numbers measured against it say nothing about the
 * real stack.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

export function mockApi({ webDir, benchDir, syncIntervalMs = 2000 }) {
  const rooms = new Map();
  const wss = new WebSocketServer({ noServer: true });
  const now = () => Date.now();

  function publish(room, type, data, bump = true) {
    if (bump) room.seq++;
    const msg = JSON.stringify({ type, seq: room.seq, at: now(), data });
    for (const ws of room.subs) ws.send(msg);
  }
  const beacon = setInterval(() => {
    for (const r of rooms.values()) if (r.video && r.video.playing) publish(r, 'video.sync', { video: r.video }, false);
  }, syncIntervalMs);

  function send(res, status, obj) {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(obj === null ? '' : JSON.stringify(obj));
  }
  function user(room, req) {
    const t = (req.headers.authorization || '').replace(/^Bearer /, '') || new URL(req.url, 'http://x').searchParams.get('token');
    return room && room.tokens.get(t);
  }
  function body(req) {
    return new Promise((resolve) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        try {
          resolve(b ? JSON.parse(b) : {});
        } catch {
          resolve({});
        }
      });
    });
  }
  function expected(v, t) {
    return v.playing ? v.position + ((t - v.updatedAt) / 1000) * v.rate : v.position;
  }

  async function handle(req, res) {
    const u = new URL(req.url, 'http://x');
    const p = u.pathname;
    if (p === '/api/time') return send(res, 200, { now: now() }), true;
    if (p === '/api/rooms' && req.method === 'POST') {
      const b = await body(req);
      const id = randomBytes(3).toString('hex').toUpperCase();
      const room = { id, seq: 0, video: null, users: [], tokens: new Map(), subs: new Set(), createdAt: now() };
      rooms.set(id, room);
      const usr = { id: randomUUID(), name: b.hostName, isHost: true, joinedAt: now(), online: true };
      const token = randomBytes(16).toString('base64url');
      room.users.push(usr);
      room.tokens.set(token, usr);
      return send(res, 201, { roomId: id, userId: usr.id, token, room: view(room) }), true;
    }
    const m = /^\/api\/rooms\/([A-Z0-9]{6})(\/.*)?$/.exec(p);
    if (!m) return false;
    const room = rooms.get(m[1]);
    if (!room) return send(res, 404, { error: { code: 'room_not_found', message: 'no room', field: null } }), true;
    const rest = m[2] || '';
    if (rest === '/join' && req.method === 'POST') {
      const b = await body(req);
      const usr = { id: randomUUID(), name: b.userName, isHost: false, joinedAt: now(), online: true };
      const token = randomBytes(16).toString('base64url');
      room.users.push(usr);
      room.tokens.set(token, usr);
      publish(room, 'user.joined', { user: usr });
      return send(res, 201, { userId: usr.id, token, room: view(room), chat: [] }), true;
    }
    const me = user(room, req);
    if (!me) return send(res, 401, { error: { code: 'unauthorized', message: 'token', field: null } }), true;
    if (rest === '' && req.method === 'GET') return send(res, 200, { userId: me.id, room: view(room), chat: [] }), true;
    const vm = /^\/video(?:\/(play|pause|seek|rate))?$/.exec(rest);
    if (vm) {
      if (!me.isHost) return send(res, 403, { error: { code: 'not_host', message: 'Only hosts can do that.', field: null } }), true;
      const b = await body(req);
      const t = now();
      const op = vm[1];
      if (!op) {
        const kind = /\.m3u8/.test(b.url) ? 'hls' : /youtu/.test(b.url) ? 'youtube' : 'file';
        room.video = { url: b.url, kind, videoId: null, playing: false, position: 0, rate: 1, updatedAt: t };
        publish(room, 'video.set', { video: room.video });
      } else {
        const v = room.video;
        if (op === 'rate') Object.assign(v, { position: expected(v, t), rate: b.rate, updatedAt: t });
        else Object.assign(v, { position: b.position, playing: op === 'play' ? true : op === 'pause' ? false : v.playing, updatedAt: t });
        publish(room, `video.${op}`, { video: v });
      }
      return send(res, 200, { video: room.video }), true;
    }
    return send(res, 404, { error: { code: 'not_found', message: 'mock', field: null } }), true;
  }

  function view(room) {
    return { id: room.id, createdAt: room.createdAt, seq: room.seq, users: room.users, video: room.video };
  }

  function statics(req, res) {
    const u = new URL(req.url, 'http://x');
    let file;
    if (u.pathname.startsWith('/__bench/')) file = path.join(benchDir, path.basename(u.pathname));
    else file = path.join(webDir, path.normalize(u.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(webDir) && !file.startsWith(benchDir)) return false;
    if (!existsSync(file) || !statSync(file).isFile()) return false;
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
    return true;
  }

  return {
    /* (req, res) => boolean, for startMediaServer's extra handler. */
    handler(req, res) {
      if (req.url.startsWith('/api/')) {
        handle(req, res).then((done) => {
          if (!done) send(res, 404, { error: { code: 'not_found', message: 'mock', field: null } });
        });
        return true;
      }
      return statics(req, res);
    },
    attach(server) {
      server.on('upgrade', (req, sock, head) => {
        const m = /^\/api\/rooms\/([A-Z0-9]{6})\/events/.exec(req.url);
        const room = m && rooms.get(m[1]);
        if (!room || !user(room, req)) return sock.destroy();
        wss.handleUpgrade(req, sock, head, (ws) => {
          room.subs.add(ws);
          ws.on('close', () => room.subs.delete(ws));
        });
      });
    },
    close() {
      clearInterval(beacon);
      for (const r of rooms.values()) for (const ws of r.subs) ws.terminate();
      wss.close();
    },
  };
}
