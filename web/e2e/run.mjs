// The browser end-to-end journey (issue 6): an isolated `clientele dev` stack on a
// database, Redis database and ports of its own, driven through Debian's
// /usr/bin/chromium by playwright-core. It builds nothing (`make build` made
// bin/clientele and the embedded web app first) and never downloads a browser.
// Whatever it started it stops, and its databases are dropped, even on failure.
//
// ── Step contract ───────────────────────────────────────────────────────────────
// Steps live in web/e2e/steps/<name>.mjs and run in the order of STEPS below; a
// missing file is a FAILURE. Each exports
//
//     export default async function (ctx) { ... }
//
// and throws (an Error with a clear message) when what it checks does not hold.
// ctx holds:
//   page      the playwright-core Page (1440x900, English browser, Asia/Shanghai
//             clock), already signed in from step 01 on, unless a step logs out
//   baseURL   the app's origin, e.g. http://127.0.0.1:41234 (page.goto('/t/..')
//             works with a relative path too)
//   state     one object shared by every step, for what later steps need:
//               01-signup   sets email, password, name
//               02-company  sets slug, tenantName
//             other steps add their own keys (fieldKey, customerId, ...)
//   shot(name, otherPage?) saves docs/screenshots/<name>.png (1440x900 viewport) of
//             ctx.page, or of another page (a second browser context)
//   api(method, path, body?) fetches through the page, with its cookies and the
//             CSRF header; path "/t/acme/customers" means /api/v1/t/acme/customers
//             (a path starting with /api or /kratos is used as is). Resolves to
//             {status, body} (body parsed when JSON); never throws on a 4xx.
//   expect(cond, message) throws message when cond is falsy
//   dataDir   the stack's data directory (dev mail lands in <dataDir>/mail)
//   mailedCode(to, subject, since) waits (30s) for a mail to `to` whose subject
//             matches the RegExp `subject`, written after `since` (ms epoch), and
//             returns the 6-digit code in it (Kratos's recovery and verification)
//   mail(to, subject, since) the same wait, resolving to the whole message with
//             quoted-printable undone (links and codes of invitations)
//   log(...)  prints indented under the step's line
//   chromePath the Chromium to run anything else on (Lighthouse, step 15)
// When 03-field starts, the page shows the new company's overview (/t/<slug>),
// signed in as its owner, in English; 08 switches to 简体中文 and back again. The
// shell offers data-testid hooks: lang-switch, user-menu, bell, not-found.
// Steps 12-15 judge what the journey built: 12 the keyboard alone, 13 axe and the
// phone/tablet layout on every screen in both languages and themes, 14 the
// manifest, service worker and offline state, 15 Lighthouse's scores.
// Each step has STEP_TIMEOUT_MS. When one throws, the later steps are reported as
// not run (they depend on it), a screenshot of the failure is kept in the run's
// temporary directory, and the run fails.
// ─────────────────────────────────────────────────────────────────────────────────
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const STEPS = [
  '01-signup',
  '02-company',
  '03-field',
  '04-customer',
  '05-import',
  '06-search',
  '07-filter',
  '08-chinese',
  '09-invite',
  '10-logout',
  '11-cross-tenant',
  '12-keyboard',
  '13-screens',
  '14-offline',
  '15-lighthouse',
  '16-board',
  '17-analytics',
  '18-tickets',
  '19-dashboards',
  '20-webhooks',
  '21-forms',
  '22-close',
  '23-hostile',
];
// E2E_SKIP=15-lighthouse,... leaves steps out while working on others (never in CI).
const SKIP = new Set((process.env.E2E_SKIP ?? '').split(',').filter(Boolean));
const STEP_TIMEOUT_MS = Number(process.env.E2E_STEP_TIMEOUT_MS ?? 120_000);
const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 240_000);
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const stepsDir = join(here, 'steps');
const shotsDir = join(repo, 'docs/screenshots');
const bin = join(repo, 'bin/clientele');

const t0 = Date.now();
// What this run started, undone in reverse order by cleanupAll (once).
const cleanups = [];
async function cleanupAll() {
  while (cleanups.length) {
    const c = cleanups.pop();
    try {
      await c();
    } catch (e) {
      say(`cleanup: ${e?.message ?? e}`);
    }
  }
}
const secs = (ms) => (ms / 1000).toFixed(1) + 's';
const say = (...a) => console.log('e2e:', ...a);

// ── the servers this run uses ───────────────────────────────────────────────────

/** Reads KEY=VALUE lines of services.env, as scripts/test.sh does. */
function servicesEnv() {
  const f = join(resolve(repo, process.env.CLIENTELE_DATA_DIR ?? '.clientele'), 'services.env');
  const out = {};
  if (!existsSync(f)) return out;
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * redis sends commands down one connection and resolves their replies: strings
 * for +/$ replies, numbers for :, null for nil, Error objects for -.
 */
function redis(base, cmds) {
  const u = new URL(base);
  if (u.password) cmds = [['AUTH', ...(u.username ? [decodeURIComponent(u.username)] : []), decodeURIComponent(u.password)], ...cmds];
  return new Promise((res, rej) => {
    const sock = connect(Number(u.port || 6379), u.hostname || '127.0.0.1');
    let buf = Buffer.alloc(0);
    const replies = [];
    sock.setTimeout(5000, () => {
      sock.destroy();
      rej(new Error('redis: timeout'));
    });
    sock.on('error', rej);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.subarray(0, nl).toString();
        const kind = line[0];
        if (kind === '$') {
          const len = Number(line.slice(1));
          if (len < 0) {
            replies.push(null);
            buf = buf.subarray(nl + 2);
            continue;
          }
          if (buf.length < nl + 2 + len + 2) break;
          replies.push(buf.subarray(nl + 2, nl + 2 + len).toString());
          buf = buf.subarray(nl + 2 + len + 2);
          continue;
        }
        replies.push(kind === ':' ? Number(line.slice(1)) : kind === '-' ? new Error(line.slice(1)) : line.slice(1));
        buf = buf.subarray(nl + 2);
      }
      if (replies.length >= cmds.length) {
        sock.end();
        res(u.password ? replies.slice(1) : replies);
      }
    });
    sock.write(cmds.map((p) => `*${p.length}\r\n` + p.map((x) => `$${Buffer.byteLength(String(x))}\r\n${x}\r\n`).join('')).join(''));
  });
}

/**
 * claimRedisDB leases one of Redis databases 1..15 the way platform/testkit does
 * (SET clientele:testkit:db:<n> NX, 30 minutes), so parallel Go tests never
 * share ours; release flushes it and gives the lease back if it is still ours.
 */
async function claimRedisDB(base) {
  const token = randomBytes(8).toString('hex');
  for (let n = 15; n >= 1; n--) {
    const key = `clientele:testkit:db:${n}`;
    const [, ok] = await redis(base, [['SELECT', 0], ['SET', key, token, 'NX', 'EX', 1800]]);
    if (ok !== 'OK') continue;
    await redis(base, [['SELECT', n], ['FLUSHDB']]);
    return {
      n,
      release: () =>
        redis(base, [
          ['SELECT', n],
          ['FLUSHDB'],
          ['SELECT', 0],
          ['EVAL', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, key, token],
        ]),
    };
  }
  throw new Error('all 15 Redis test databases are leased (stale leases expire after 30 minutes)');
}

function psql(maintURL, sql) {
  execFileSync('psql', [maintURL, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

// ── the stack ───────────────────────────────────────────────────────────────────

async function waitReady(url, proc, logFile) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`clientele dev exited with ${proc.exitCode} before it was ready; see ${logFile}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `${r.status} ${(await r.text()).slice(0, 200)}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the stack was not ready after ${READY_TIMEOUT_MS / 1000}s (${last}); see ${logFile}`);
}

function tail(file, n = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

// ── main ────────────────────────────────────────────────────────────────────────

async function main() {
  if (!existsSync(bin)) {
    say(`FAILED: ${bin.replace(repo + '/', '')} is missing; run \`make build\` (or \`make e2e\` after it) first`);
    return 1;
  }
  if (!existsSync(CHROMIUM)) {
    say(`FAILED: ${CHROMIUM} is missing; \`make deps\` installs Debian's chromium`);
    return 1;
  }
  const svc = servicesEnv();
  const pgMaint = process.env.CLIENTELE_TEST_DATABASE_URL || svc.CLIENTELE_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable';
  const redisBase = (process.env.CLIENTELE_TEST_REDIS_URL || svc.CLIENTELE_TEST_REDIS_URL || 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
  let kratosBin = process.env.CLIENTELE_KRATOS_BIN;
  if (!kratosBin) {
    say('building or finding Kratos (scripts/kratos.sh)');
    kratosBin = execFileSync('bash', [join(repo, 'scripts/kratos.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  }

  const dbName = `clientele_e2e_${randomBytes(5).toString('hex')}`;
  const dbURL = new URL(pgMaint);
  dbURL.pathname = '/' + dbName;
  const tmp = mkdtempSync(join(tmpdir(), 'clientele-e2e-'));
  const dataDir = join(tmp, 'data');
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(tmp, 'stack.log');
  const [http, admin, wadmin, kpub, kadm] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const baseURL = `http://127.0.0.1:${http}`;

  let lease;
  let proc;
  let browser;
  let status = 0;
  try {
    lease = await claimRedisDB(redisBase);
    cleanups.push(() => lease.release());
    // Nothing of the caller's Clientele configuration leaks in (an app database URL or
    // a config file would point the stack elsewhere); only what is set here.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CLIENTELE_') || k === 'CLIENTELE_CACHE'));
    const env = {
      ...inherited,
      CLIENTELE_ENV: 'development',
      CLIENTELE_DATABASE_URL: dbURL.toString(),
      CLIENTELE_REDIS_URL: `${redisBase}/${lease.n}`,
      CLIENTELE_HTTP_ADDR: `127.0.0.1:${http}`,
      CLIENTELE_PUBLIC_URL: baseURL,
      CLIENTELE_ADMIN_ADDR: `127.0.0.1:${admin}`,
      CLIENTELE_WORKER_ADMIN_ADDR: `127.0.0.1:${wadmin}`,
      CLIENTELE_KRATOS_PUBLIC_URL: `http://127.0.0.1:${kpub}`,
      CLIENTELE_KRATOS_ADMIN_URL: `http://127.0.0.1:${kadm}`,
      CLIENTELE_KRATOS_BIN: kratosBin,
      CLIENTELE_DATA_DIR: dataDir,
      CLIENTELE_LOG_FORMAT: 'text',
      CLIENTELE_LOG_LEVEL: 'warn',
      CLIENTELE_SWEEP_INTERVAL: '5s',
      // Step 20 subscribes a receiver it runs on loopback.
      CLIENTELE_WEBHOOK_ALLOW: '127.0.0.1/32',
    };
    // The stack's own database, its Kratos database, and nothing else.
    cleanups.push(() => {
      for (const name of [dbName, `${dbName}_kratos`]) {
        try {
          psql(pgMaint, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } catch (e) {
          say(`could not drop database ${name}: ${String(e.stderr ?? e.message).trim()}`);
        }
      }
    });
    say(`stack: ${baseURL} on database ${dbName}, Redis db ${lease.n}; log ${logFile}`);
    const out = openSync(logFile, 'a');
    // Its own process group, so that stopping it stops the Kratos it starts too.
    proc = spawn(bin, ['dev'], { cwd: repo, env, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    cleanups.push(() => stopStack(proc));
    const tReady = Date.now();
    await waitReady(`http://127.0.0.1:${admin}/readyz`, proc, logFile);
    say(`stack ready in ${secs(Date.now() - tReady)}`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    cleanups.push(() => browser.close().catch(() => {}));
    const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai', deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const browserErrors = [];
    page.on('pageerror', (e) => browserErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && browserErrors.push(`console: ${m.text()}`));
    mkdirSync(shotsDir, { recursive: true });

    const state = {};
    let current = '';
    const ctx = {
      page,
      baseURL,
      state,
      dataDir,
      chromePath: CHROMIUM,
      shot: async (name, of = page) => {
        await of.waitForLoadState('networkidle').catch(() => {});
        await of.screenshot({ path: join(shotsDir, `${name}.png`) });
      },
      api: (method, path, body) =>
        page.evaluate(
          async ([method, path, body]) => {
            const url = path.startsWith('/api') || path.startsWith('/kratos') ? path : '/api/v1' + path;
            const r = await fetch(url, {
              method,
              credentials: 'same-origin',
              headers: { Accept: 'application/json', 'X-Clientele-CSRF': '1', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
              body: body !== undefined ? JSON.stringify(body) : undefined,
            });
            const text = await r.text();
            let parsed = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {}
            return { status: r.status, body: parsed };
          },
          [method, path, body],
        ),
      expect: (cond, message) => {
        if (!cond) throw new Error(message);
      },
      log: (...a) => console.log(`      ${current}:`, ...a),
      mailedCode: (to, subject, since = 0) => mailedCode(join(dataDir, 'mail'), to, subject, since),
      mail: (to, subject, since = 0) => readMail(join(dataDir, 'mail'), to, subject, since),
    };

    let broken = '';
    for (const name of STEPS) {
      current = name;
      const file = join(stepsDir, `${name}.mjs`);
      if (!existsSync(file)) {
        say(`  ${name.padEnd(16)} FAILED: the step file web/e2e/steps/${name}.mjs is missing`);
        status = 1;
        continue;
      }
      if (SKIP.has(name)) {
        say(`  ${name.padEnd(16)} SKIPPED (E2E_SKIP)`);
        continue;
      }
      if (broken) {
        say(`  ${name.padEnd(16)} NOT RUN (after ${broken} failed)`);
        continue;
      }
      const ts = Date.now();
      browserErrors.length = 0;
      try {
        const mod = await import(pathToFileURL(file).href);
        if (typeof mod.default !== 'function') throw new Error(`web/e2e/steps/${name}.mjs has no default export function`);
        let timer;
        // A step that judges many screens may ask for more time (export const timeoutMs).
        const limit = Math.max(STEP_TIMEOUT_MS, Number(mod.timeoutMs ?? 0));
        await Promise.race([
          mod.default(ctx),
          new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${limit / 1000}s`)), limit))),
        ]).finally(() => clearTimeout(timer));
        say(`  ${name.padEnd(16)} ok (${secs(Date.now() - ts)})`);
      } catch (e) {
        status = 1;
        broken = name;
        const shot = join(tmp, `failure-${name}.png`);
        await page.screenshot({ path: shot }).catch(() => {});
        say(`  ${name.padEnd(16)} FAILED (${secs(Date.now() - ts)}): ${e?.stack ?? e}`);
        say(`      at ${page.url()}; screenshot ${shot}`);
        for (const b of browserErrors.slice(-10)) say(`      browser ${b}`);
      }
    }
  } catch (e) {
    status = 1;
    say(`FAILED: ${e?.message ?? e}`);
    const t = tail(logFile);
    if (t) say(`last lines of the stack's log:\n${t}`);
  } finally {
    await cleanupAll();
    if (status === 0) rmSync(tmp, { recursive: true, force: true });
  }
  say(status === 0 ? `every step passed (${secs(Date.now() - t0)})` : `FAILED (${secs(Date.now() - t0)}); logs and failure screenshots are kept in ${tmp}`);
  return status;
}

/** readMail: see the contract at the top. Mail files are <UTC stamp>.<seq>-<to>.eml. */
async function readMail(dir, to, subject, since) {
  const suffix = '-' + to.toLowerCase().replace(/[^a-zA-Z0-9@._+-]+/g, '_') + '.eml';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(suffix)).sort().reverse();
    } catch {}
    for (const n of names) {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/.exec(n);
      if (m && Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + 1000 < since) break;
      const raw = readFileSync(join(dir, n), 'utf8');
      if (!new RegExp(`^Subject: .*(${subject.source})`, 'im').test(raw)) continue;
      // Undo quoted-printable (soft breaks, =XX bytes) so links and codes read whole.
      const bytes = raw.replace(/=\r?\n/g, '').replace(/(=[0-9A-F]{2})+/g, (q) => Buffer.from(q.split('=').slice(1).map((h) => parseInt(h, 16))).toString('utf8'));
      return bytes;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no mail to ${to} matching ${subject} within 30s (looked in ${dir})`);
}

/** mailedCode: the 6-digit code of the newest matching mail (alone on a line, or after "code"). */
async function mailedCode(dir, to, subject, since) {
  const text = await readMail(dir, to, subject, since);
  const code = /^(\d{6})\s*$/m.exec(text) ?? /code:?\s+(\d{6})\b/i.exec(text);
  if (!code) throw new Error(`the mail to ${to} matching ${subject} holds no 6-digit code`);
  return code[1];
}

/** SIGTERM to the stack's process group (it stops Kratos itself), SIGKILL after 30s. */
async function stopStack(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timeout = new Promise((r) => setTimeout(() => r('timeout'), 30_000));
  if ((await Promise.race([gone, timeout])) === 'timeout') {
    say('the stack did not stop within 30s; killing it');
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {}
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    say(`${sig}: stopping the stack and dropping its databases`);
    await cleanupAll();
    process.exit(130);
  });
}
process.exitCode = await main();
