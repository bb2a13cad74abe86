/**
 * The seed's own examples (../shared/seed/esim-system-api.md, read at test time), written as separate
 * OpenHarmony-style .ts files that import '@kit.TelephonyKit' / '@kit.BasicServicesKit', each run in a child
 * `node --import tsx --import <repo>/src/api/register.ts <file>` against a temporary ESIM_HOME (the embedded
 * default, in-process: no daemon). Each must print its success line, print no error, and exit by itself.
 *
 * The obvious typos of the seed are fixed, nothing else:
 * - getEid: `let eid: string = eSIM.getEid(0)` → `await eSIM.getEid(0)` (it returns a Promise);
 * - cancelSession: `CancelReason::X` → `eSIM.CancelReason.X`, and `.then((data: string)` → `(data: eSIM.ResultCode)`
 *   (it resolves a ResultCode);
 * - the undefined `testId`, `testName`, `testAddress` are defined (an ICCID on the card, a nickname, the demo
 *   SM-DP+ address), and the placeholder activation code `'1'` is a free activation code of the demo SM-DP+.
 *
 * The same files, with the package's `types/kits.d.ts`, must type-check as an OpenHarmony developer's code.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createESim, SHELL_CALLER } from '../src/index.js';
import { ensureHome, homePaths } from '../src/service/home.js';
import { describeWithSeed, HAVE_SEED, seed } from './support/api-seed.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REGISTER = join(repo, 'src', 'api', 'register.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `file` in a child `node --import tsx --import register`; it must exit by itself (bounded by a kill after 120 s). */
function runExample(file: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, ['--import', 'tsx', '--import', REGISTER, file], { cwd: repo, env, timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      resolveRun({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ESIM_HOME: home };
  delete env.ESIM_SOCKET;
  delete env.ESIM_TOKEN;
  delete env.NODE_OPTIONS;
  return env;
}

/** The literal start of the example's success `console.log` (before the first interpolation). */
function successLine(example: string): string {
  const m = /console\.log\(`([^`$]*)/.exec(example);
  if (!m) throw new Error('no console.log in the example');
  return m[1]!;
}

interface Values {
  testId: string;
  testName: string;
  testAddress: string;
  activationCode: string;
}

/** The seed example of `fn` with the typos fixed (see the file comment). */
function fixedExample(fn: string, example: string, v: Values): string {
  let code = example
    .replace(/=\s*eSIM\.getEid\(/, '= await eSIM.getEid(')
    .replace(/(?<!eSIM\.)CancelReason::/g, 'eSIM.CancelReason.')
    .replace(/activationCode:\s*'1'/g, `activationCode: ${JSON.stringify(v.activationCode)}`);
  if (fn === 'cancelSession') code = code.replace('.then((data: string)', '.then((data: eSIM.ResultCode)');
  const defs: string[] = [];
  if (/\btestId\b/.test(code)) defs.push(`const testId: string = ${JSON.stringify(v.testId)};`);
  if (/\btestName\b/.test(code)) defs.push(`const testName: string = ${JSON.stringify(v.testName)};`);
  if (/\btestAddress\b/.test(code)) defs.push(`const testAddress: string = ${JSON.stringify(v.testAddress)};`);
  // one statement per line, as a developer would write it
  const body = code.replace(/;\s+(?=(?:import|let|eSIM)\b)/g, ';\n');
  return `${defs.map((d) => `${d}\n`).join('')}${body}\nexport {};\n`;
}

describeWithSeed('the seed examples through esimkit/register (child processes, in-process service)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-api-seed-'));
  const home = join(dir, 'home');
  const src = join(dir, 'examples');
  let demo: { smdpAddress: string; activationCodes: string[] };
  const written: string[] = [];
  /** ICCID on slot 0 (the profile the download example installs); read between examples. */
  let testId = '89000000000000000000';

  beforeAll(() => {
    ensureHome(home);
    demo = JSON.parse(readFileSync(homePaths(home).demoFile, 'utf8')) as typeof demo;
    expect(demo.activationCodes.length).toBeGreaterThanOrEqual(2);
    mkdirSync(src);
    writeFileSync(join(src, 'package.json'), '{ "type": "module" }\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const order = HAVE_SEED ? seed().functions : [];
  let codeIndex = 0;
  for (const f of order) {
    it(`${f.name}: the example succeeds and exits by itself`, async () => {
      expect(f.example, `${f.name} has an example`).toBeDefined();
      const uses = /activationCode:\s*'1'/.test(f.example!);
      const values: Values = {
        // in cancelSession testId is a transactionId (hex); no download runs, so the card answers 215
        testId: f.name === 'cancelSession' ? '0123456789ABCDEF0123456789ABCDEF' : testId,
        testName: 'My eSIM',
        testAddress: demo.smdpAddress,
        activationCode: uses ? demo.activationCodes[codeIndex++]! : '',
      };
      const file = join(src, `${f.name}.ts`);
      writeFileSync(file, fixedExample(f.name, f.example!, values));
      written.push(file);
      const r = await runExample(file, childEnv(home));
      expect(r.signal, `${f.name} was killed: it did not exit by itself\n${r.stderr}`).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('err->');
      expect(r.stdout).toContain(successLine(f.example!));
      const data = /data->(.*)$/m.exec(r.stdout)?.[1];
      switch (f.name) {
        case 'getEid':
          expect(r.stdout).toMatch(/the EID is:[0-9]{32}/);
          break;
        case 'getDownloadableProfileMetadata':
        case 'getDownloadableProfiles':
        case 'downloadProfile':
        case 'getEuiccProfileInfoList':
          expect(JSON.parse(data!)).toMatchObject({ responseResult: 0 });
          break;
        case 'getEuiccInfo':
          expect(typeof (JSON.parse(data!) as { osVersion: unknown }).osVersion).toBe('string');
          break;
        case 'getDefaultSmdpAddress':
          expect(JSON.parse(data!)).toBe(demo.smdpAddress);
          break;
        case 'cancelSession':
          expect(JSON.parse(data!)).toBe(215); // no session with that transactionId: RESULT_TRANSACTION_ID_INVALID
          break;
      }
      if (f.name === 'downloadProfile') {
        // the profile just installed and enabled is the testId of the examples that follow
        const api = createESim({ caller: SHELL_CALLER, home });
        try {
          const list = await api.getEuiccProfileInfoList(0);
          const enabled = list.profiles.find((p) => p.state === 1);
          expect(enabled).toBeDefined();
          testId = enabled!.iccid;
        } finally {
          await api.close();
        }
      }
      if (f.name === 'setProfileNickname') {
        const api = createESim({ caller: SHELL_CALLER, home });
        try {
          const list = await api.getEuiccProfileInfoList(0);
          expect(list.profiles.find((p) => p.iccid === testId)?.nickName).toBe('My eSIM');
        } finally {
          await api.close();
        }
      }
    });
  }

  it('a plain .mjs script and the OpenHarmony import styles: one BusinessError class, enums as values', async () => {
    const file = join(src, 'kits.mjs');
    writeFileSync(
      file,
      [
        `import { eSIM } from '@kit.TelephonyKit';`,
        `import { BusinessError } from '@kit.BasicServicesKit';`,
        `import esim from '@ohos.telephony.esim';`,
        `import { BusinessError as BaseError } from '@ohos.base';`,
        `import * as pkg from ${JSON.stringify(join(repo, 'src', 'index.ts'))};`,
        `if (esim !== eSIM || pkg.eSIM !== eSIM || BaseError !== BusinessError || pkg.BusinessError !== BusinessError) throw new Error('two copies');`,
        `if (eSIM.ResultCode.RESULT_OK !== 0 || eSIM.CancelReason.CANCEL_REASON_PPR_NOT_ALLOWED !== 3) throw new Error('enums');`,
        `try { eSIM.getEid('0'); throw new Error('no sync throw'); } catch (e) { if (!(e instanceof BusinessError) || e.code !== 401) throw e; }`,
        `const err = await eSIM.getEid(7).catch((e) => e);`,
        `if (!(err instanceof BusinessError) || err.code !== 401) throw new Error('expected 401, got ' + JSON.stringify(err));`,
        `console.log('isSupported', eSIM.isSupported(0), eSIM.isSupported(5), 'err->' === '', JSON.stringify(err));`,
        `eSIM.getEid(1, (e, eid) => console.log('callback', e, eid));`,
      ].join('\n'),
    );
    const r = await runExample(file, childEnv(home));
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('isSupported true false false {"code":401,"message":');
    expect(r.stdout).toMatch(/callback null [0-9]{32}/);
  });

  it('the examples type-check as OpenHarmony code with types/kits.d.ts', () => {
    expect(written.length).toBe(order.length);
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(repo, 'node_modules', '@types')],
      paths: { esimkit: [join(repo, 'src', 'index.ts')] },
    };
    const kits = join(repo, 'types', 'kits.d.ts');
    // diagnostics of the example files and kits.d.ts only (checking all of esimkit's sources is the project typecheck's job)
    const diagnose = (files: string[]): ts.Diagnostic[] => {
      const program = ts.createProgram([kits, ...files], options);
      const out: ts.Diagnostic[] = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
      for (const f of [kits, ...files]) {
        const sf = program.getSourceFile(f);
        expect(sf, f).toBeDefined();
        out.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
      }
      return out;
    };
    const text = diagnose(written).map((d) => `${d.file ? `${d.file.fileName}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(text).toEqual([]);
    // and a wrong call is a type error (the declarations are not `any`)
    const bad = join(src, 'bad.ts');
    writeFileSync(bad, `import { eSIM } from '@kit.TelephonyKit';\nconst n: number = await eSIM.getEid('0');\nexport {};\n`);
    const d2 = diagnose([bad]).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(d2.join('\n')).toMatch(/not assignable to parameter of type 'number'|No overload matches this call/);
  });
});
