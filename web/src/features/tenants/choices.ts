// Choices for the company's regional settings.

const FALLBACK_ZONES = ['UTC', 'Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles'];

export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const zones = intl.supportedValuesOf?.('timeZone') ?? FALLBACK_ZONES;
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

export const CURRENCIES = ['CNY', 'USD', 'EUR', 'GBP', 'JPY', 'HKD', 'TWD', 'SGD', 'KRW', 'AUD', 'CAD', 'CHF', 'INR', 'MYR', 'THB', 'VND', 'IDR', 'PHP', 'AED', 'BRL', 'MXN', 'RUB', 'SEK', 'NZD'];

export function currencyLabel(code: string, uiLocale: string): string {
  try {
    const n = new Intl.DisplayNames([uiLocale], { type: 'currency' }).of(code);
    return n && n !== code ? `${code} · ${n}` : code;
  } catch {
    return code;
  }
}

/** slugify proposes a web address from a company name; CJK names give "". */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
}

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** The browser's own zone is the best first guess for a new company. */
export function guessZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
