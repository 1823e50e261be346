// Server errors placed next to the form fields they name.
import { formErrors } from '../../app/api';
import { splitList } from './fields';

const LISTS = ['emails', 'phones', 'tags'];

/**
 * placeErrors maps a problem to antd setFields entries. An entry about one item
 * of a list input ("emails[1]") goes to the list's field, naming the item; what
 * names no field of the form comes back in rest, to show above it.
 */
export function placeErrors(err: unknown, has: (top: string) => boolean, values?: Record<string, unknown>) {
  const { fields, rest } = formErrors(err);
  const out: { name: (string | number)[]; errors: string[] }[] = [];
  for (const f of fields) {
    let name = f.name;
    let errors = f.errors;
    if (name[0] === 'query' || name[0] === 'path') {
      rest.push(...errors);
      continue;
    }
    if (LISTS.includes(String(name[0])) && typeof name[1] === 'number') {
      const item = splitList(values?.[String(name[0])], name[0] === 'emails' ? /[,;\s]+/ : /[,;，；]+/)[name[1]];
      errors = errors.map((e) => (item ? `${item}: ${e}` : e));
      name = [name[0]];
    }
    if (!has(String(name[0]))) {
      rest.push(...errors);
      continue;
    }
    const hit = out.find((x) => x.name.join('.') === name.join('.'));
    if (hit) hit.errors.push(...errors);
    else out.push({ name, errors });
  }
  return { fields: out, rest };
}
