/**
 * Test helper: a reference SM-DS on 127.0.0.1 (HTTPS, a random port, address `localhost:<port>`), with a
 * CERT.DStls for `localhost` from the given (or a new) test CI, an ES12 client presenting a CERT.DPtls of
 * the same CI (mutual TLS), and restart on the same database and port.
 */
import type { IssuedCertificate } from '../../src/crypto/pki.js';
import { createCi, createDpTls } from '../../src/crypto/pki.js';
import { Es12Client } from '../../src/smdp/es12.js';
import { createSmdsIdentity, SmdsServer, type SmdsIdentity, type SmdsServerOptions } from '../../src/smdp/smds.js';

export interface TestSmds {
  server: SmdsServer;
  readonly identity: SmdsIdentity;
  readonly ci: IssuedCertificate;
  /** localhost:<port> */
  readonly address: string;
  /** CERT.DPtls (client certificate of the SM-DP+ for ES12), for `localhost` and `*.example.com`. */
  readonly dpTls: IssuedCertificate;
  /** An ES12 client with mutual TLS (closed by close()). */
  es12(opts?: { clientTls?: { certPem: string; keyPem: string } | null; trustedCis?: Uint8Array[] }): Es12Client;
  /** Close and start again on the same database file and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestSmds(
  o: { ci?: IssuedCertificate; dbPath?: string } & Partial<Pick<SmdsServerOptions, 'es12ClientAuth' | 'sessionTtlMs' | 'port'>> = {},
): Promise<TestSmds> {
  const ci = o.ci ?? createCi();
  const identity = createSmdsIdentity({ address: 'localhost:0', ci, tlsHost: 'localhost' });
  const dbPath = o.dbPath ?? ':memory:';
  const opts = (port: number | undefined): SmdsServerOptions => ({
    identity,
    dbPath,
    host: '127.0.0.1',
    ...(port !== undefined && { port }),
    ...(o.es12ClientAuth !== undefined && { es12ClientAuth: o.es12ClientAuth }),
    ...(o.sessionTtlMs !== undefined && { sessionTtlMs: o.sessionTtlMs }),
  });
  let server = await SmdsServer.start(opts(o.port));
  // the SM-DS accepts events only for hosts in the caller's DPtls: the test SM-DP+ is localhost and *.example.com
  const dpTls = createDpTls(ci, 'localhost', { extraDnsNames: ['*.example.com'] });
  const dpTlsPem = { certPem: dpTls.certPem, keyPem: dpTls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const clients: Es12Client[] = [];
  const t: TestSmds = {
    get server() {
      return server;
    },
    set server(s: SmdsServer) {
      server = s;
    },
    identity,
    ci,
    get address() {
      return server.address;
    },
    dpTls,
    es12(x = {}) {
      const c = new Es12Client({
        smdsAddress: server.address,
        trustedCis: x.trustedCis ?? [ci.certDer],
        ...(x.clientTls !== null && { clientTls: x.clientTls ?? dpTlsPem }),
        connectAddress: '127.0.0.1',
        timeoutMs: 5_000,
      });
      clients.push(c);
      return c;
    },
    async restart() {
      const port = server.port;
      await server.close();
      server = await SmdsServer.start(opts(port));
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.close();
    },
  };
  return t;
}
