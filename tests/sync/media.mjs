/*
 * Test media for the sync benchmark and browser tests: a WebM (VP8 + Opus)
 * with the frame number and time burnt in, made by ffmpeg at run time and
 * cached under var/media/ (git-ignored), and a small HTTP server with Range
 * support to serve it on a free loopback port.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, renameSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/* Makes (or reuses) a test video of `seconds` seconds; resolves to its path. */
export async function testVideo({ seconds = 60, dir = path.join(ROOT, 'var', 'media') } = {}) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `sync-test-${seconds}s-v1.webm`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  const tmp = `${file}.${process.pid}.tmp.webm`;
  const text = existsSync(FONT)
    ? `,drawtext=fontfile=${FONT}:text='%{n}  %{pts\\:hms}':fontsize=24:fontcolor=white:box=1:boxcolor=black@0.6:x=8:y=8`
    : '';
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-vf', `format=yuv420p${text}`,
    '-af', 'volume=0.05',
    /* A key frame every half second keeps seeks cheap. */
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '15',
    '-c:a', 'libopus', '-b:a', '32k',
    tmp,
  ];
  await new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg failed (${code}): ${err}`))));
  });
  renameSync(tmp, file);
  return file;
}

/*
 * Serves `files` ({'/name.webm': '/abs/path'}) plus optional extra handler
 * (req, res) => boolean on 127.0.0.1 and a free port. Range requests answer
 * 206. Resolves to {url, port, server, close}.
 */
export function startMediaServer(files, extra = null) {
  const server = http.createServer((req, res) => {
    if (extra && extra(req, res)) return;
    const u = new URL(req.url, 'http://x');
    /* hls.js fetches with XHR, so the media must allow other origins (as HLS CDNs do). */
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Allow-Methods': 'GET, HEAD' }).end();
      return;
    }
    const file = files[u.pathname];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    const types = { '.webm': 'video/webm', '.mp4': 'video/mp4', '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' };
    const type = types[path.extname(file)] || 'application/octet-stream';
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range) {
      if (range[1] === '') {
        start = Math.max(0, size - Number(range[2]));
      } else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
    }
    const headers = {
      'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
      'Content-Type': type,
      'Accept-Ranges': 'bytes',
      'Content-Length': end - start + 1,
      'Cache-Control': 'no-cache',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.keepAliveTimeout = 1000;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        server,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

/*
 * Makes (or reuses) a short HLS stream (H.264 + AAC in MPEG-TS segments,
 * which hls.js transmuxes for Media Source Extensions). Resolves to
 * {dir, files: {'/hls/index.m3u8': path, '/hls/seg0.ts': path, ...}}.
 */
export async function testHls({ seconds = 20, dir = path.join(ROOT, 'var', 'media') } = {}) {
  const out = path.join(dir, `hls-${seconds}s-v1`);
  const index = path.join(out, 'index.m3u8');
  if (!existsSync(index)) {
    mkdirSync(out, { recursive: true });
    const args = [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=30:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod',
      '-hls_segment_filename', path.join(out, 'seg%d.ts'),
      index,
    ];
    await new Promise((resolve, reject) => {
      const p = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg (hls) failed (${code}): ${err}`))));
    });
  }
  const files = {};
  for (const name of readdirSync(out)) files[`/hls/${name}`] = path.join(out, name);
  return { dir: out, files };
}
