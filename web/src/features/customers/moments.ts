// Moments on the company's clocks: what a date picker shows for a filter's
// value, and the instant a picked value means.
import dayjs, { type Dayjs } from 'dayjs';
import { zoneInstant, zoneWall } from '../../app/format';

const isDay = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);

/**
 * pickerValue is a filter's value as its picker shows it: a day as it is, an
 * instant as the company's clocks read it (the picker itself knows only the
 * browser's zone, so it gets that wall-clock time in the browser's zone).
 */
export function pickerValue(s: string, timeZone: string): Dayjs | null {
  if (!s) return null;
  if (isDay(s)) return dayjs(s);
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return null;
  const w = zoneWall(ms, timeZone);
  return dayjs(new Date(w.getUTCFullYear(), w.getUTCMonth(), w.getUTCDate(), w.getUTCHours(), w.getUTCMinutes(), w.getUTCSeconds(), w.getUTCMilliseconds()));
}

/** pickedInstant is the instant (RFC 3339, UTC) at which the company's clocks read what the picker shows. */
export function pickedInstant(d: Dayjs, timeZone: string): string {
  const wall = Date.UTC(d.year(), d.month(), d.date(), d.hour(), d.minute(), d.second(), d.millisecond());
  return new Date(zoneInstant(wall, timeZone)).toISOString().replace('.000Z', 'Z');
}
