/** The LPA figures over each transport that can run here (virtual always; AT with socat; PC/SC with pcscd + vpcd). */
import { AtTransport } from '../src/apdu/transports/at.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { SOCAT, SimulatedModem } from '../test/support/at-modem.js';
import { benchAt } from './at.bench.js';
import { benchPcsc } from './pcsc.bench.js';
import { benchLpaOver } from './lpa.bench.js';

export async function benchLpa(seconds: number): Promise<void> {
  {
    const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity });
    const t = new VirtualTransport(card);
    await benchLpaOver('virtual', t, card, seconds);
    await t.close();
    card.close();
  }
  if (SOCAT) {
    const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity });
    const modem = await SimulatedModem.start(card, {});
    try {
      const t = await AtTransport.open({ path: modem.hostPath, timeoutMs: 10_000 });
      await benchLpaOver('at', t, card, seconds);
      await t.close();
    } finally {
      await modem.close();
      card.close();
    }
  }
  await benchAt(seconds);
  await benchPcsc(seconds, (t, card) => benchLpaOver('pcsc', t, card, seconds));
}
