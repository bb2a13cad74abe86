/**
 * A software eUICC in its own process, for crash-consistency tests: the parent starts it, sends command
 * APDUs on stdin and reads response APDUs on stdout (each framed as a 2-byte big-endian length + bytes,
 * as vpcd frames them), and kills it with SIGKILL at any moment.
 *
 *   node --import tsx test/support/card-process.ts <state file>
 */
import { SoftEuicc } from '../../src/euicc/card.js';

const statePath = process.argv[2];
if (!statePath) {
  process.stderr.write('usage: card-process <state file>\n');
  process.exit(2);
}
const card = SoftEuicc.open(statePath);
let buf = Buffer.alloc(0);

process.stdin.on('data', (chunk: Buffer) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 2) {
    const n = buf.readUInt16BE(0);
    if (buf.length < 2 + n) break;
    const apdu = new Uint8Array(buf.subarray(2, 2 + n));
    buf = buf.subarray(2 + n);
    const rsp = card.transmit(apdu);
    const out = Buffer.alloc(2 + rsp.length);
    out.writeUInt16BE(rsp.length, 0);
    out.set(rsp, 2);
    process.stdout.write(out);
  }
});
process.stdin.on('end', () => {
  card.close();
  process.exit(0);
});
process.stdout.write(Buffer.from([0, 0])); // ready
