// What a TypeScript integration writes over the types openapi-typescript
// generates from the API document (gen/schema.d.ts, written by
// scripts/openapi.sh). tsc checks it in strict mode, so a document the
// generator cannot type, or types a client cannot use, fails the run.
import type { components, operations } from './gen/schema';

export type Problem = components['schemas']['Problem'];
export type Me = components['schemas']['Me'];
export type CustomerPage = components['schemas']['CustomerPage'];
export type NewAPIKey = components['schemas']['NewAPIKey'];
export type CreatedAPIKey = components['schemas']['CreatedAPIKey'];
type CustomerQuery = NonNullable<operations['list-customers']['parameters']['query']>;

/** A person's session token, or one of a company's API keys. */
export type Credential = { sessionToken: string } | { apiKey: string };

function authHeaders(c: Credential): Record<string, string> {
  return 'apiKey' in c ? { Authorization: `Bearer ${c.apiKey}` } : { 'X-Session-Token': c.sessionToken };
}

/** ApiError carries the problem document of a refused request. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

async function call<T>(base: string, path: string, c: Credential, init: RequestInit = {}): Promise<T> {
  const res = await fetch(base + path, { ...init, headers: { Accept: 'application/json', ...authHeaders(c), ...(init.headers ?? {}) } });
  if (!res.ok) throw new ApiError((await res.json()) as Problem);
  return (await res.json()) as T;
}

/** The query string of the customer list: plain parameters, and filters as field[op]=value. */
export function customerQuery(q: CustomerQuery): string {
  const p = new URLSearchParams();
  for (const [name, value] of Object.entries(q)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => p.append(name, String(v)));
    else if (typeof value === 'object') for (const [op, v] of Object.entries(value)) p.append(`${name}[${op}]`, String(v));
    else p.append(name, String(value));
  }
  return p.toString();
}

export const me = (base: string, sessionToken: string) => call<Me>(base, '/api/v1/me', { sessionToken });

export const listCustomers = (base: string, tenant: string, c: Credential, q: CustomerQuery = {}) =>
  call<CustomerPage>(base, `/api/v1/t/${encodeURIComponent(tenant)}/customers?${customerQuery(q)}`, c);

export const createAPIKey = (base: string, tenant: string, sessionToken: string, body: NewAPIKey) =>
  call<CreatedAPIKey>(base, `/api/v1/t/${encodeURIComponent(tenant)}/api-keys`, { sessionToken }, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

// The filters are typed: a tag filter takes contains, in and empty only.
export const vipLeads = (base: string, tenant: string, c: Credential) =>
  listCustomers(base, tenant, c, { lifecycle: ['lead'], tags: { contains: 'vip' }, created_at: { gte: '2026-01-01' }, limit: 50 });
