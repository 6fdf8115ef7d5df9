// Tricky negatives for the labelled corpus: text that looks numeric or address-like and must be left alone.
// Each generator builds its values to break a documented rule on purpose (see ../detect.ts); where a class of
// real identifiers can collide with a card number by chance (a Luhn-valid 13-digit ISBN or millisecond
// timestamp), the generator keeps only the non-colliding ones and says so: those collisions are documented
// false positives, not mislabelled cases.
import { group, luhnNumber, luhnSum, nanpCode, nonLuhnNumber, type Rng } from './values.js';

type Generator = (rng: Rng) => string;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function isoDate(rng: Rng): string {
  return `${rng.int(1990, 2030)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}`;
}

function time(rng: Rng): string {
  return `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}`;
}

function isbn10(rng: Rng): string {
  const body = rng.digits(9);
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (10 - i) * Number(body[i]);
  const check = (11 - (sum % 11)) % 11;
  return body + (check === 10 ? 'X' : String(check));
}

function isbn13(rng: Rng): string {
  const body = `978${rng.digits(9)}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (i % 2 === 0 ? 1 : 3) * Number(body[i]);
  return body + String((10 - (sum % 10)) % 10);
}

/** Each class: a name and a generator of whole sentences. */
export const NEGATIVE_CLASSES: ReadonlyArray<readonly [string, Generator]> = [
  [
    'order-number',
    (r) =>
      r.pick([
        `Order #${r.digits(r.int(5, 12))} has shipped.`,
        `Your order ORD-${r.int(2019, 2025)}-${r.digits(6)} is confirmed.`,
        `Invoice INV-${r.int(2019, 2025)}-${r.digits(6)} is attached.`,
        `Ticket ${r.pick(['JIRA', 'OPS', 'SEC'])}-${r.int(1, 99999)} was closed.`,
        `PR #${r.int(1, 9999)} fixes it, see issue #${r.int(1, 9999)}.`,
        `Case no. ${r.int(2019, 2025)}-CV-${r.digits(5)} was filed.`,
      ]),
  ],
  [
    'timestamp',
    (r) =>
      r.pick([
        `[${isoDate(r)} ${time(r)},${r.digits(3)}] INFO worker started`,
        `Created at ${isoDate(r)}T${time(r)}.${r.digits(3)}Z by the scheduler.`,
        `The job ran at ${time(r)} and again at ${time(r)}.`,
        `epoch=${r.int(1_000_000_000, 1_999_999_999)} seq=${r.digits(4)}`,
        // 13-digit millisecond timestamps: only non-Luhn ones (a Luhn-valid one is card-shaped by
        // definition).
        `ts_ms: ${nonLuhnNumber(r, `1${r.int(6, 7)}`, 13)} (UTC)`,
        `Last seen ${isoDate(r)} ${time(r)}+0${r.int(0, 9)}:00.`,
      ]),
  ],
  [
    'date',
    (r) => {
      const y = r.int(1950, 2030);
      const m = pad(r.int(1, 12), 2);
      const d = pad(r.int(1, 28), 2);
      return r.pick([
        `The deadline is ${y}-${m}-${d}.`,
        `Born ${d}/${m}/${y} in Lyon.`,
        `Due ${m}/${d}/${y}, no extensions.`,
        `Archived on ${y}/${m}/${d}.`,
        `Datum: ${d}.${m}.${y}`,
        `Batch ${y}${m}${d} was reprocessed.`,
      ]);
    },
  ],
  [
    'version',
    (r) =>
      r.pick([
        `Upgrade to v${r.int(1, 30)}.${r.int(0, 40)}.${r.int(0, 99)} before ${isoDate(r)}.`,
        `Tested on ${r.int(1, 12)}.${r.int(0, 9)}.${r.int(0, 9)}.${r.int(0, 9999)} and later.`,
        `Windows build 10.0.${r.int(10000, 22631)}.${r.int(1, 4000)} is affected.`,
        `Kernel ${r.int(4, 6)}.${r.int(0, 19)}.0-${r.int(10, 120)}-generic panicked.`,
        `Pinned node ${r.int(18, 22)}.${r.int(0, 20)}.${r.int(0, 50)} and npm ${r.int(8, 11)}.${r.int(0, 9)}.${r.int(0, 9)}.`,
        `Release 1.2.3-beta.${r.int(1, 9)} is out.`,
      ]),
  ],
  [
    'ipv4',
    (r) => {
      const ip = `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
      return r.pick([
        `Blocked requests from ${ip} after 5 failures.`,
        `Listening on ${ip}:${r.int(1024, 65535)}.`,
        `Allow ${r.int(10, 192)}.${r.int(0, 255)}.0.0/${r.int(8, 24)} in the firewall.`,
        `ping ${ip} -c 4`,
        `Gateway ${ip}, DNS 8.8.8.8 and 1.1.1.1.`,
      ]);
    },
  ],
  [
    'ipv6',
    (r) => {
      const h = () => r.hex(4);
      return r.pick([
        `Client ${h()}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()} connected.`,
        `Route 2001:db8:${h()}::${r.int(1, 9999)}/64 added.`,
        `Link-local fe80::${h()}:${h()}:${h()}:${h()}%eth0 is up.`,
        `Bind to [::1]:${r.int(1024, 65535)} for tests.`,
        `Peer 2001:0db8:0000:${r.digits(4)}:0000:0000:${r.digits(4)}:${r.digits(4)} timed out.`,
      ]);
    },
  ],
  [
    'isbn',
    (r) => {
      const i10 = isbn10(r);
      let i13 = isbn13(r);
      // A contiguous 13-digit ISBN that happens to pass Luhn is card-shaped; keep the others (documented).
      while (luhnSum(i13) === 0) i13 = isbn13(r);
      return r.pick([
        `ISBN ${i10.slice(0, 1)}-${i10.slice(1, 4)}-${i10.slice(4, 9)}-${i10.slice(9)} is out of print.`,
        `See ISBN ${i13.slice(0, 3)}-${i13.slice(3, 4)}-${i13.slice(4, 7)}-${i13.slice(7, 12)}-${i13.slice(12)}.`,
        `ISBN-13: ${i13}`,
        `ISBN-10 ${i10} (paperback)`,
      ]);
    },
  ],
  [
    'uuid',
    (r) =>
      `Request ${r.hex(8)}-${r.hex(4)}-4${r.hex(3)}-${r.pick(['8', '9', 'a', 'b'])}${r.hex(3)}-${r.hex(12)} failed.`,
  ],
  [
    'uuid-digits',
    (r) =>
      `Row id ${r.digits(8)}-${r.digits(4)}-4${r.digits(3)}-8${r.digits(3)}-${r.digits(12)} was deleted.`,
  ],
  [
    'hex-hash',
    (r) =>
      r.pick([
        `commit ${r.hex(40)}`,
        `sha256:${r.hex(64)} verified.`,
        `MD5 ${r.hex(32)} matches.`,
        `Fixed in ${r.hex(7)}, reverted in ${r.hex(7)}.`,
        `etag "${r.hex(16)}"`,
      ]),
  ],
  [
    'non-luhn-card',
    (r) => {
      const length = r.pick([13, 15, 16, 16, 16, 19]);
      const n = nonLuhnNumber(r, r.pick(['4', '51', '37', '6011']), length);
      const groups =
        length === 16
          ? [4, 4, 4, 4]
          : length === 15
            ? [4, 6, 5]
            : length === 19
              ? [4, 4, 4, 4, 3]
              : [4, 4, 5];
      const shown = r.pick([n, group(n, groups, ' '), group(n, groups, '-')]);
      return r.pick([
        `Reference ${shown} is not a card.`,
        `Serial: ${shown}`,
        `Batch id ${shown} was reissued.`,
      ]);
    },
  ],
  [
    'invalid-ssn',
    (r) => {
      const area = pad(r.int(1, 665), 3);
      const grp = pad(r.int(1, 99), 2);
      const serial = pad(r.int(1, 9999), 4);
      const [a, g, s] = r.pick([
        ['000', grp, serial],
        ['666', grp, serial],
        [String(r.int(900, 999)), grp, serial],
        [area, '00', serial],
        [area, grp, '0000'],
      ]);
      const sep = r.pick(['-', ' ']);
      return r.pick([`SSN ${a}${sep}${g}${sep}${s} is invalid.`, `Rejected value: ${a}${sep}${g}${sep}${s}`]);
    },
  ],
  ['itin', (r) => `ITIN 9${r.digits(2)}-${r.int(70, 88)}-${r.digits(4)} belongs to a nonresident filer.`],
  [
    'bare-digits',
    (r) =>
      r.pick([
        `Account ${r.int(1, 8)}${r.digits(8)} was closed.`,
        `Routing number ${r.digits(9)}.`,
        `Record ${r.int(2, 9)}${r.digits(9)} updated.`,
        `Customer no. ${r.int(1, 9)}${r.digits(10)}`,
      ]),
  ],
  [
    'tracking',
    (r) =>
      r.pick([
        `UPS tracking 1Z${r.hex(6).toUpperCase()}${r.digits(10)} is out for delivery.`,
        `USPS ${group(`9400${r.digits(18)}`, [4, 4, 4, 4, 4, 2], ' ')} delivered.`,
        `USPS 9400${r.digits(18)} delivered.`,
        `FedEx ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} in transit.`,
        `DHL waybill ${r.digits(10)}`,
      ]),
  ],
  [
    'price',
    (r) =>
      r.pick([
        `Total: $${r.int(1, 999)},${r.digits(3)}.${r.digits(2)} incl. tax.`,
        `Preis ${r.int(1, 999)}.${r.digits(3)},${r.digits(2)} EUR`,
        `Budget USD ${r.int(1, 99)},${r.digits(3)},${r.digits(3)}.00 approved.`,
        `It costs £${r.int(1, 99)}.${r.digits(2)} per month.`,
        `Revenue grew to ${r.int(1, 9)} ${r.digits(3)} ${r.digits(3)},${r.digits(2)} €.`,
      ]),
  ],
  [
    'short-phone',
    (r) =>
      r.pick([
        `Call ${nanpCode(r)}-${r.digits(4)} locally.`,
        `Dial +${r.int(2, 9)}${r.digits(r.int(4, 6))} for the operator.`,
        `Extension ext. ${r.digits(4)} or x${r.digits(3)}.`,
        `Code ${r.digits(2)}-${r.digits(2)}-${r.digits(2)} applies.`,
        `Try +44 20 ${r.digits(3)} (incomplete).`,
        `Try +1 ${nanpCode(r)} ${r.digits(3)} (incomplete).`,
        `Call 911 or 411.`,
      ]),
  ],
  [
    'nanp-invalid',
    (r) => {
      const bad = r.pick([
        `${r.int(0, 1)}${r.digits(2)}-${nanpCode(r)}-${r.digits(4)}`,
        `${nanpCode(r)}-${r.int(0, 1)}${r.digits(2)}-${r.digits(4)}`,
        `${r.int(2, 9)}11-${nanpCode(r)}-${r.digits(4)}`,
        `(${r.int(0, 1)}${r.digits(2)}) ${nanpCode(r)}-${r.digits(4)}`,
        `${nanpCode(r)}-${nanpCode(r)}-${r.digits(5)}`,
        `+1 ${r.int(0, 1)}${r.digits(2)} ${nanpCode(r)} ${r.digits(4)}`,
      ]);
      return `Reference ${bad} is not a phone number.`;
    },
  ],
  [
    'handle',
    (r) => {
      const u = r.pick(['root', 'admin', 'jane', 'deploy', 'ci']);
      return r.pick([
        `Log in as ${u}@localhost first.`,
        `ssh ${u}@buildhost -p 22`,
        `Ping @${u} on chat.`,
        `The service account ${u}@10.0.${r.int(0, 255)}.${r.int(1, 254)} is disabled.`,
        `Unqualified address ${u}@example is rejected.`,
        `Typo: ${u}@example.c`,
        `Incomplete: ${u}@`,
        `Missing local part: @example.com`,
        `Double dot: ${u}@example..com`,
        `Label starts with a dash: ${u}@-example.com`,
      ]);
    },
  ],
  [
    'package-spec',
    (r) =>
      r.pick([
        `npm install lodash@4.17.${r.int(0, 21)}`,
        `Bump @types/node@${r.int(18, 22)}.${r.int(0, 19)}.${r.int(0, 99)} too.`,
        `Pin nginx@sha256:${r.hex(64)} in the chart.`,
        `We depend on react@^18.${r.int(0, 3)}.0 and vue@3.`,
        `Image python@3.${r.int(8, 13)}-slim builds fine.`,
      ]),
  ],
  [
    'bare-phone-digits',
    (r) =>
      r.pick([
        `Id ${nanpCode(r)}${nanpCode(r)}${r.digits(4)} matched.`,
        `Legacy key 1${nanpCode(r)}${nanpCode(r)}${r.digits(4)}`,
      ]),
  ],
  [
    'glued-number',
    (r) => {
      const n = luhnNumber(r, '4', 16);
      return r.pick([
        `Token ID${n} expired.`,
        `Key ${n}abc rotated.`,
        `Field x_${n} is unused.`,
        `Path /v1/items/${n}xyz returned 404.`,
        `Composite key ${r.digits(3)}-${n} found.`,
        `Decimal ${r.digits(2)}.${n} rounds down.`,
      ]);
    },
  ],
  [
    'overlong-number',
    (r) =>
      r.pick([
        `2^64 = 18446744073709551616`,
        `Sequence ${r.int(1, 9)}${r.digits(r.int(19, 30))} exhausted.`,
        `Batch ${group(`${r.int(1, 9)}${r.digits(19)}`, [4, 4, 4, 4, 4], ' ')} closed.`,
        `Ref ${group(`${r.int(1, 9)}${r.digits(19)}`, [4, 4, 4, 4, 4], '-')} closed.`,
      ]),
  ],
  [
    'iban',
    (r) =>
      r.pick([
        `IBAN DE${r.digits(2)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(2)}`,
        `IBAN GB${r.digits(2)} WEST ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(2)}`,
        `IBAN FR${r.digits(2)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(3)}`,
        `IBAN NL${r.digits(2)}ABNA${r.digits(10)}`,
      ]),
  ],
  [
    'measurement',
    (r) =>
      r.pick([
        `Location ${r.int(-89, 89)}.${r.digits(4)}, -${r.int(1, 179)}.${r.digits(4)}`,
        `Resolution ${r.int(640, 3840)}x${r.int(480, 2160)} at ${r.int(30, 240)}Hz.`,
        `pi = 3.${r.digits(15)}`,
        `Temperature rose +${r.int(1, 9)}.${r.digits(1)}% to ${r.int(10, 40)}.${r.digits(1)}°C.`,
        `Avogadro: 6.02214076e23, score ${r.int(0, 9)}-${r.int(0, 9)}.`,
        `Open ${r.int(7, 10)}:00-${r.int(16, 22)}:30, Mon-Fri.`,
      ]),
  ],
  [
    'masked-or-partial',
    (r) =>
      r.pick([
        `Card ending in ${r.digits(4)} was charged.`,
        `**** **** **** ${r.digits(4)} expires ${pad(r.int(1, 12), 2)}/${r.int(25, 31)}.`,
        `XXX-XX-${r.digits(4)} on file.`,
        `Zip ${r.digits(5)}-${r.digits(4)} or ${r.digits(5)}.`,
        `EIN ${r.digits(2)}-${r.digits(7)} is registered.`,
        `MAC ${r.hex(2)}:${r.hex(2)}:${r.hex(2)}:${r.hex(2)}:${r.hex(2)}:${r.hex(2)}`,
      ]),
  ],
];
