// Summarise a V8 .cpuprofile: self time by function and by file, and inclusive time of selected frames.
// usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [top=40]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...dt.values()].reduce((a, b) => a + b, 0);
const short = (u) => (u ? u.replace(/^.*\/(src|bench|test|node_modules)\//, '$1/') : '');
const label = (n) => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const self = new Map();
const incl = new Map();
const files = new Map();
for (const [id, t] of dt) {
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + t);
  const f = short(n.callFrame.url) || n.callFrame.functionName;
  files.set(f, (files.get(f) ?? 0) + t);
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const l = label(byId.get(x));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + t);
  }
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
const show = (title, m, n) => {
  console.log(`\n== ${title} (total ${(total / 1000).toFixed(0)} ms)`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(pct(t), k);
};
show('self by function', self, top);
show('self by file', files, 25);
show('inclusive', incl, top * 2);
// Callers of native frames (self time attributed to the nearest JS caller), when asked: CALLERS=run,get,...
if (process.env.CALLERS) {
  for (const name of process.env.CALLERS.split(',')) {
    const m = new Map();
    for (const [id, t] of dt) {
      const n = byId.get(id);
      if (n.callFrame.functionName !== name) continue;
      const chain = [];
      for (let x = parent.get(id); x !== undefined && chain.length < 3; x = parent.get(x)) chain.push(label(byId.get(x)));
      const k = chain.join(' < ');
      m.set(k, (m.get(k) ?? 0) + t);
    }
    show(`callers of ${name}`, m, 12);
  }
}
// Buckets: each sample goes to the category of its leaf-most JS frame (native frames count for their caller).
// DOWNLOADS=n divides by the number of downloads in the window (ms per download).
{
  const cats = [
    ['sqlite', /better-sqlite3|src\/euicc\/state\.ts|src\/smdp\/inventory\.ts|inventory\.js/],
    ['crypto (node:crypto)', /node:internal\/crypto/],
    ['crypto (src/crypto)', /src\/crypto\//],
    ['asn1/codec', /src\/asn1\/|src\/util\//],
    ['apdu', /src\/apdu\//],
    ['euicc', /src\/euicc\//],
    ['lpa', /src\/lpa\//],
    ['smdp', /src\/smdp\//],
    ['http client (undici)', /node_modules\/undici/],
    ['http server (fastify)', /node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify|fast-json|secure-json|process-warning|abstract-logging|pino)/],
    ['node net/tls/http/streams', /node:(net|tls|_tls|_http|http|https|internal\/(streams|stream_base|http|tls|net|js_stream))|node:stream/],
    ['node timers/events/async', /node:(internal\/(timers|process|event_target|abort_controller|async_hooks|events)|events|timers)/],
    ['node buffer/other', /node:/],
    ['bench', /bench\//],
  ];
  const m = new Map();
  for (const [id, t] of dt) {
    let cat;
    const leaf = byId.get(id).callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(garbage collector)' || leaf === '(program)') cat = leaf;
    for (let x = id; cat === undefined && x !== undefined; x = parent.get(x)) {
      const u = byId.get(x).callFrame.url;
      if (!u) continue;
      // the bundled child: map by function names of known modules is not possible; use the file name
      for (const [name, re] of cats) if (re.test(u)) { cat = name; break; }
      if (cat === undefined && /child\.mjs$/.test(u)) cat = 'esimkit (bundled child)';
    }
    cat ??= 'other native';
    m.set(cat, (m.get(cat) ?? 0) + t);
  }
  const n = Number(process.env.DOWNLOADS ?? 0);
  console.log(`\n== buckets (leaf-most JS frame)${n ? `, ms per download over ${n}` : ''}`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1])) console.log(pct(t), n ? (t / 1000 / n).toFixed(2).padStart(7) + ' ms' : '', k);
}
// Self time with native frames attributed to their nearest src/ or node_modules JS caller (BYCALLER=1).
if (process.env.BYCALLER) {
  const m = new Map();
  for (const [id, t] of dt) {
    let k;
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const n = byId.get(x);
      if (/\/(src|node_modules|bench)\//.test(n.callFrame.url)) { k = label(n); break; }
    }
    k ??= label(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + t);
  }
  show('self, natives and node internals charged to the nearest project/package frame', m, Number(process.env.BYCALLER) > 1 ? Number(process.env.BYCALLER) : 50);
}
