// Dates, numbers and money in the company's locale, time zone and currency.
// Pure functions here; useFormat() (in useFormat.ts) binds them to the current
// tenant's settings and the user's language.

export interface FormatSettings {
  /** BCP 47 locale for numbers and dates, e.g. "en" or "zh-CN". */
  locale: string;
  /** IANA time zone the company works in, e.g. "Asia/Shanghai". */
  timeZone: string;
  /** ISO 4217 code, e.g. "CNY". */
  currency: string;
}

export const defaultFormat: FormatSettings = { locale: 'en', timeZone: 'UTC', currency: 'USD' };

/**
 * localeFor picks the formatting locale: the UI language decides the language
 * of month names and the like, and a zh UI always formats as zh-CN.
 */
export function localeFor(uiLang: string, tenantLocale?: string): string {
  if (uiLang === 'zh') return 'zh-CN';
  if (tenantLocale && tenantLocale.toLowerCase().startsWith('en')) return tenantLocale;
  return 'en';
}

/** zoneOffset is how far ahead of UTC the zone's clocks are at the instant ms, in ms. */
export function zoneOffset(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(ms));
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour') % 24, n('minute'), n('second')) - (ms - (ms % 1000));
}

/**
 * zoneInstant is the instant (ms) at which the zone's clocks read wall, a
 * wall-clock time given as if it were UTC (Date.UTC(y, m, d, h, mi)),
 * daylight saving included. A time the clocks skip is read with the offset
 * before the change.
 */
export function zoneInstant(wall: number, timeZone: string): number {
  const ms = wall - zoneOffset(wall, timeZone);
  return wall - zoneOffset(ms, timeZone);
}

/**
 * zoneWall is what the zone's clocks read at the instant ms, as a wall-clock
 * time given as if it were UTC: read it with getUTCHours() and the like.
 */
export function zoneWall(ms: number, timeZone: string): Date {
  return new Date(ms + zoneOffset(ms, timeZone));
}

function toDate(v: string | number | Date | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();
function dtf(locale: string, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const k = 'd' + locale + JSON.stringify(o);
  let f = cache.get(k) as Intl.DateTimeFormat | undefined;
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, o);
    } catch {
      // An unknown time zone must not break the page: fall back to UTC.
      f = new Intl.DateTimeFormat(locale, { ...o, timeZone: 'UTC' });
    }
    cache.set(k, f);
  }
  return f;
}
function nf(locale: string, o: Intl.NumberFormatOptions): Intl.NumberFormat {
  const k = 'n' + locale + JSON.stringify(o);
  let f = cache.get(k) as Intl.NumberFormat | undefined;
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, o);
    } catch {
      f = new Intl.NumberFormat(locale, { ...o, style: 'decimal', currency: undefined });
    }
    cache.set(k, f);
  }
  return f;
}

/** formatDateTime shows an instant in the company's time zone: "Nov 23, 2026, 14:05". */
export function formatDateTime(s: FormatSettings, v: string | number | Date | null | undefined): string {
  const d = toDate(v);
  if (!d) return '';
  return dtf(s.locale, { timeZone: s.timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

/** formatDate shows the calendar day of an instant in the company's time zone. */
export function formatDate(s: FormatSettings, v: string | number | Date | null | undefined): string {
  const d = toDate(v);
  if (!d) return '';
  return dtf(s.locale, { timeZone: s.timeZone, year: 'numeric', month: 'short', day: 'numeric' }).format(d);
}

/**
 * formatDay shows a date-only value ("2026-11-16") as that calendar day, never
 * shifted by a time zone.
 */
export function formatDay(s: FormatSettings, day: string | null | undefined, opts: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric' }): string {
  if (!day) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  if (!m) return day;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return dtf(s.locale, { ...opts, timeZone: 'UTC' }).format(d);
}

/** formatNumber groups digits the locale's way. */
export function formatNumber(s: FormatSettings, n: number | string | null | undefined, maxFraction = 2): string {
  if (n === null || n === undefined || n === '') return '';
  const x = typeof n === 'string' ? Number(n) : n;
  if (!Number.isFinite(x)) return String(n);
  return nf(s.locale, { maximumFractionDigits: maxFraction }).format(x);
}

/**
 * formatMoney shows an amount in its currency (the company's when none is
 * given). Amounts arrive as exact decimal strings; display may round to the
 * currency's minor unit, storage never does.
 */
export function formatMoney(s: FormatSettings, amount: number | string | null | undefined, currency?: string): string {
  if (amount === null || amount === undefined || amount === '') return '';
  const x = typeof amount === 'string' ? Number(amount) : amount;
  if (!Number.isFinite(x)) return String(amount);
  return nf(s.locale, { style: 'currency', currency: (currency || s.currency || 'USD').toUpperCase() }).format(x);
}

/** formatRelative says how long ago an instant was: "5 minutes ago", "5分钟前". */
export function formatRelative(s: FormatSettings, v: string | number | Date | null | undefined, now: Date = new Date()): string {
  const d = toDate(v);
  if (!d) return '';
  const sec = Math.round((d.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(sec);
  const rtf = new Intl.RelativeTimeFormat(s.locale, { numeric: 'auto' });
  if (abs < 60) return rtf.format(sec, 'second');
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
  if (abs < 86400 * 7) return rtf.format(Math.round(sec / 86400), 'day');
  return formatDate(s, d);
}
