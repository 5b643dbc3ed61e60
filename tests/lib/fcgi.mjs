// A FastCGI client for tests that talk to the worker's socket directly (as nginx does, with
// parameters of the test's choosing): records, one request, or many over one kept connection.
import net from 'node:net';
import path from 'node:path';

// One FastCGI record: version 1, type, request id, content (no padding).
export function record(type, content, id = 1) {
  const head = Buffer.alloc(8);
  head[0] = 1;
  head[1] = type;
  head.writeUInt16BE(id, 2);
  head.writeUInt16BE(content.length, 4);
  return Buffer.concat([head, content]);
}

function length(n) {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

// The records of one request: BEGIN_REQUEST (responder; KEEP_CONN when keep), PARAMS, STDIN.
export function requestRecords(params, body = '', { keep = false, id = 1 } = {}) {
  const pairs = Buffer.concat(Object.entries(params).map(([k, v]) => {
    const [kb, vb] = [Buffer.from(k), Buffer.from(v)];
    return Buffer.concat([length(kb.length), length(vb.length), kb, vb]);
  }));
  const stdin = Buffer.from(body);
  return Buffer.concat([
    record(1, Buffer.from([0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0]), id),
    record(4, pairs, id), record(4, Buffer.alloc(0), id),
    ...(stdin.length ? [record(5, stdin, id)] : []), record(5, Buffer.alloc(0), id),
  ]);
}

// A connection to the stack's FastCGI socket that reads records: next() resolves with the next
// whole answer {status, headers, body, id, protocolStatus} (at END_REQUEST), or null once the
// worker closed the connection.
export function connect(stack) {
  const sock = net.createConnection(path.join(stack.runDir, 'fcgi.sock'));
  const answers = [], waiters = [];
  let buf = Buffer.alloc(0), out = Buffer.alloc(0), closed = false;
  const settle = () => {
    while (waiters.length && (answers.length || closed)) waiters.shift()(answers.length ? answers.shift() : null);
  };
  sock.on('error', () => {});
  sock.on('close', () => { closed = true; settle(); });
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8) {
      const type = buf[1], id = buf.readUInt16BE(2), len = buf.readUInt16BE(4), pad = buf[6];
      if (buf.length < 8 + len + pad) break;
      const content = buf.subarray(8, 8 + len);
      buf = buf.subarray(8 + len + pad);
      if (type === 6) out = Buffer.concat([out, content]); // STDOUT
      if (type === 3 || type === 11) { // END_REQUEST, or UNKNOWN_TYPE for a management record
        const raw = out.toString('utf8');
        out = Buffer.alloc(0);
        const split = raw.indexOf('\r\n\r\n');
        const headers = split < 0 ? {} : Object.fromEntries(raw.slice(0, split).split('\r\n').map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
        }));
        answers.push({ type, id, protocolStatus: content[4], status: Number(headers.status), headers, body: split < 0 ? '' : raw.slice(split + 4) });
        settle();
      }
    }
  });
  return {
    write: (bytes) => new Promise((resolve) => sock.write(bytes, resolve)),
    next: () => new Promise((resolve) => { waiters.push(resolve); settle(); }),
    end: () => sock.end(),
    destroy: () => sock.destroy(),
    get closed() { return closed; },
  };
}

// One request on a fresh connection, closed after: {status, headers, body}.
export async function fcgiRequest(stack, params, body = '') {
  const c = connect(stack);
  await c.write(requestRecords(params, body));
  const answer = await c.next();
  c.end();
  if (answer === null) throw new Error('the worker closed the connection without an answer');
  return answer;
}
