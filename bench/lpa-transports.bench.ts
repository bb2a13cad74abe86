/** The LPA figures over each transport that can run here. */
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { benchLpaOver } from './lpa.bench.js';

export async function benchLpa(seconds: number): Promise<void> {
  const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity });
  const t = new VirtualTransport(card);
  await benchLpaOver('virtual', t, card, seconds);
  await t.close();
  card.close();
}
