/**
 * Fuzz below gRPC: a TCP connection to a listener that sends random bytes, or the HTTP/2 client
 * preface followed by frames with random types, flags, stream ids and lying lengths, or a gRPC
 * message prefix declaring a huge length, then closes. The server must survive (checked by the
 * runner through the processes' PIDs and health); what it answers is not judged.
 */
import { connect } from 'node:net';
import type { FuzzRandom } from './fuzz-random.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** An HTTP/2 frame header (9 bytes) and payload; the declared length may lie. */
function randomFrame(random: FuzzRandom): Buffer {
  const payload = random.bytes(64);
  const header = Buffer.alloc(9);
  const declared = random.chance(0.8) ? payload.length : random.pick([0, 16_384, 16_777_215]);
  header.writeUIntBE(declared, 0, 3);
  header[3] = random.chance(0.7) ? random.int(0, 9) : random.int(0, 255);
  header[4] = random.int(0, 255);
  header.writeUInt32BE(random.chance(0.5) ? random.int(0, 7) : random.int(0, 2 ** 31 - 1), 5);
  return Buffer.concat([header, payload]);
}

/** The bytes of one raw connection. */
export function rawConnectionBytes(random: FuzzRandom): Buffer {
  switch (random.int(0, 3)) {
    case 0:
      return random.bytes(512);
    case 1:
      return Buffer.concat([PREFACE, ...Array.from({ length: random.int(1, 8) }, () => randomFrame(random))]);
    case 2: {
      // A gRPC length-prefixed message claiming up to 4 GiB, inside a DATA frame on stream 1.
      const message = Buffer.alloc(5);
      message[0] = random.int(0, 1);
      message.writeUInt32BE(random.pick([0, 5, 2 ** 31, 2 ** 32 - 1]), 1);
      const data = Buffer.alloc(9);
      data.writeUIntBE(message.length, 0, 3);
      data[3] = 0;
      data.writeUInt32BE(1, 5);
      return Buffer.concat([PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), data, message]);
    }
    default:
      return Buffer.from(`GET /${random.oddText()} HTTP/1.1\r\nHost: x\r\n\r\n`, 'utf8');
  }
}

/**
 * Opens a connection to `address`, writes `bytes`, and closes it once the server closed or
 * `holdMs` passed. Resolves with 'closed-by-server', 'held' or 'refused'; never rejects.
 */
export function fireRawConnection(address: string, bytes: Buffer, holdMs: number): Promise<'closed-by-server' | 'held' | 'refused'> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let outcome: 'closed-by-server' | 'held' | 'refused' | null = null;
    const timer = setTimeout(() => {
      outcome ??= 'held';
      socket.destroy();
    }, holdMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => {
      outcome ??= socket.bytesWritten === 0 ? 'refused' : 'closed-by-server';
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(outcome ?? 'closed-by-server');
    });
  });
}
