import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyServerCertificate } from '../crypto/certs.js';
import { fromPem } from '../crypto/x509.js';
import { loadOrCreateEum, loadOrCreatePki, loadOrCreateSmdsPki, loadPkiCi } from './pki-store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-pki-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('pki-store', () => {
  it('creates the SM-DP+ PKI once (0700 folder, 0600 keys) and loads the same certificates after', () => {
    const dir = join(root, 'a');
    const first = loadOrCreatePki(dir, 'localhost:8443');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.key.pem'))) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    expect(first.ciPath).toBe(join(dir, 'ci.pem'));
    const again = loadOrCreatePki(dir, 'localhost:9443');
    expect(again.identity.address).toBe('localhost:9443');
    expect(again.identity.dpAuth.certDer).toEqual(first.identity.dpAuth.certDer);
    expect(again.identity.tls.certPem).toBe(first.identity.tls.certPem); // same host: same DPtls
    expect(again.ci.certDer).toEqual(first.ci.certDer);
    const moved = loadOrCreatePki(dir, 'smdp.example.com');
    expect(moved.identity.tls.certPem).not.toBe(first.identity.tls.certPem); // host changed: re-issued
    expect(JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8'))).toEqual({ curve: 'P-256', tlsHost: 'smdp.example.com' });
    verifyServerCertificate({ trustedCis: [first.ci.certDer], cert: fromPem(moved.identity.tls.certPem), role: 'DPtls' });
  });

  it('SM-DS and EUM certificates under the same CI, stable across calls', () => {
    const dir = join(root, 'b');
    const { ci } = loadOrCreatePki(dir, 'localhost:1', 'brainpoolP256r1');
    const ds = loadOrCreateSmdsPki(dir, 'localhost:2');
    expect(ds.ciCerts).toEqual([ci.certDer]);
    verifyServerCertificate({ trustedCis: [ci.certDer], cert: ds.dsAuth.certDer, role: 'DSauth' });
    verifyServerCertificate({ trustedCis: [ci.certDer], cert: fromPem(ds.tls.certPem), role: 'DStls' });
    expect(loadOrCreateSmdsPki(dir, 'localhost:3').tls.certPem).toBe(ds.tls.certPem);
    expect(loadOrCreateSmdsPki(dir, 'ds.example.com').tls.certPem).not.toBe(ds.tls.certPem);
    const eum = loadOrCreateEum(dir);
    expect(eum.curve).toBe('brainpoolP256r1');
    expect(loadOrCreateEum(dir).certDer).toEqual(eum.certDer);
    expect(loadPkiCi(dir).certDer).toEqual(ci.certDer);
    expect(() => loadOrCreateSmdsPki(join(root, 'none'), 'x')).toThrow();
  });
});
