import metadata from 'libphonenumber-js/metadata.min.json';

/**
 * National numbers written with a trunk prefix `0` (`07700 063 966`, `03.93.92.16.85`, `(08) 8747 6301`),
 * checked against the numbering plans of libphonenumber-js (its `min` metadata: each region's national number
 * pattern and possible lengths).
 *
 * The text does not say which country a number belongs to, so a number counts when it is valid in at least one
 * region whose trunk prefix is `0`. That alone is a weak filter (most ten-digit strings starting with `0` are
 * valid somewhere); the grouping rules in `phone.ts` do the rest. The patterns are compiled once, grouped by
 * national length, and one candidate costs one native regex test per length: a bounded input (at most 14
 * digits), so the check is constant time per candidate.
 */

type Plan = [string, string, string, number[], unknown, unknown[]?];

/** National number patterns of the regions with trunk prefix `0`, and of those without one, by length. */
const trunkZero = new Map<number, RegExp>();
const noTrunk = new Map<number, RegExp>();

function build(): void {
  const zero = new Map<number, string[]>();
  const none = new Map<number, string[]>();
  const countries = (metadata as unknown as { countries: Record<string, Plan> }).countries;
  for (const plan of Object.values(countries)) {
    const prefix = plan[5]?.[0];
    const into = prefix === '0' ? zero : prefix === undefined || prefix === 0 ? none : undefined;
    if (into === undefined) continue;
    for (const length of plan[3]) {
      const list = into.get(length) ?? [];
      list.push(plan[2]);
      into.set(length, list);
    }
  }
  for (const [from, to] of [
    [zero, trunkZero],
    [none, noTrunk],
  ] as const) {
    for (const [length, list] of from) to.set(length, new RegExp(`^(?:${[...new Set(list)].join('|')})$`));
  }
}

/** Is `digits` (all digits, starting with the trunk `0`) a valid national number in some region? */
export function validNational(digits: string): boolean {
  if (trunkZero.size === 0) build();
  if (digits.charCodeAt(0) !== 0x30) return false;
  const national = digits.slice(1);
  return trunkZero.get(national.length)?.test(national) === true;
}

/** Is `digits` a valid national number in some region that has no trunk prefix (Spain, Norway, Denmark...)? */
export function validWithoutTrunk(digits: string): boolean {
  if (trunkZero.size === 0) build();
  return noTrunk.get(digits.length)?.test(digits) === true;
}
