// The one way the app talks to the API: JSON in and out, cookies for the
// session, the CSRF header on every request, and problem+json turned into
// ApiError so screens can show the message next to the field it names. A 503
// naming a dependency feeds the outage banner (outage.ts); any success clears it.
import { noteAvailable, noteUnavailable, parseRetryAfter } from './outage';

export interface ProblemDetail {
  location?: string; // e.g. "body.email" or "custom.tier"
  message?: string;
  value?: unknown;
}

export class ApiError extends Error {
  status: number;
  title: string;
  detail: string;
  errors: ProblemDetail[];
  body: Record<string, unknown>;
  /** on a 503: what is unavailable ("database", "identity", "redis") */
  dependency?: string;
  /** seconds to wait before trying again (Retry-After), when the server said */
  retryAfter?: number;
  constructor(status: number, body: Record<string, unknown>, retryAfter?: string | null) {
    const title = String(body.title ?? 'Error');
    const detail = String(body.detail ?? '');
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(body.errors) ? (body.errors as ProblemDetail[]) : [];
    this.body = body;
    if (typeof body.dependency === 'string') this.dependency = body.dependency;
    if (retryAfter) this.retryAfter = parseRetryAfter(retryAfter);
  }
}

export const CSRF_HEADER = 'X-Clientele-CSRF';

type Query = Record<string, string | number | boolean | undefined | null | Array<string | number>>;

export function withQuery(path: string, q?: Query): string {
  if (!q) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, String(x)));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** api calls /api/v1 + path. A path starting with "/t/" is tenant-scoped. */
export async function api<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', [CSRF_HEADER]: '1', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(withQuery('/api/v1' + path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (!opts.signal?.aborted) noteUnavailable('service', undefined);
    throw e;
  }
  if (res.status < 500) noteAvailable();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { title: res.statusText, detail: text.slice(0, 300) };
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (data as Record<string, unknown>) ?? { title: res.statusText }, res.headers.get('Retry-After'));
    // A full file store refuses uploads and exports, not the app: the form
    // that sent the file shows the problem; no banner, no retries.
    if (res.status === 503 && err.dependency !== 'files') noteUnavailable(err.dependency, res.headers.get('Retry-After'));
    throw err;
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, { query });
export const post = <T>(path: string, body?: unknown, query?: Query) => api<T>('POST', path, { body, query });
export const patch = <T>(path: string, body?: unknown) => api<T>('PATCH', path, { body });
export const put = <T>(path: string, body?: unknown) => api<T>('PUT', path, { body });
export const del = <T>(path: string) => api<T>('DELETE', path);

/** tpath builds a tenant-scoped API path: tpath('acme', '/customers') -> /t/acme/customers */
export const tpath = (tenant: string, p: string) => `/t/${encodeURIComponent(tenant)}${p}`;

/**
 * formErrors maps a problem's entries to Ant Design Form fields. "body.emails[0]"
 * becomes ["emails", 0]; "custom.tier" and "body.custom.tier" become ["custom", "tier"].
 * Entries that name no field come back in `rest`.
 */
export function formErrors(err: unknown): { fields: { name: (string | number)[]; errors: string[] }[]; rest: string[] } {
  const fields: { name: (string | number)[]; errors: string[] }[] = [];
  const rest: string[] = [];
  if (!(err instanceof ApiError)) return { fields, rest: [err instanceof Error ? err.message : String(err)] };
  for (const e of err.errors) {
    const loc = (e.location ?? '').replace(/^body\./, '');
    const msg = e.message ?? err.detail;
    if (!loc || loc === 'body') {
      rest.push(msg);
      continue;
    }
    const name = loc
      .split(/\.|\[(\d+)\]/)
      .filter((x) => x !== undefined && x !== '')
      .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    const hit = fields.find((f) => f.name.join('.') === name.join('.'));
    if (hit) hit.errors.push(msg);
    else fields.push({ name, errors: [msg] });
  }
  if (!err.errors.length) rest.push(err.detail || err.title);
  return { fields, rest };
}

/** message is what to tell the user about an error. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const first = err.errors.find((e) => e.message);
    return err.detail || first?.message || err.title;
  }
  return err instanceof Error ? err.message : String(err);
}
