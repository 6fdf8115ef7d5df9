// Setup for the widget bench: the workload (knowledge base, visitor message, model stub answer, plan) and a
// Rampart instance with its orgs, provider, widget, document, visitor session and API key.
import { signup } from '@rampart/testing';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { callJson, type Listening, startBenchRampart } from '../lib/rampart.js';

export const CONCURRENCIES = [1, 32] as const;
export const CONTENDED = 32;
export const MODEL = 'chat-model';
export const SHOP = 'https://shop.example.com';
export const STUB_PATH = '/v1/chat/completions';
export const UPSTREAM_KEY = 'sk-bench-widget-upstream-0123456789';
/** Orgs with a usage row each, for admission at the same concurrency without a shared row. */
export const SPREAD_ORGS = CONTENDED;
/** Client addresses the load cycles through (RFC 2544 benchmarking range), so per-IP limits never bind. */
export const CLIENT_IPS = Array.from({ length: 1024 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);

export const SYSTEM_PROMPT =
  'You are the help assistant of Northwind Outfitters, an online shoe and outdoor-gear shop. Answer ' +
  'briefly and politely, only about orders, shipping, returns, sizing and products.';

/** The visitor's question: it matches a few sections of the help centre, so retrieval returns several chunks. */
export const VISITOR_MESSAGE =
  'Hi! I bought hiking boots five weeks ago and they are too small. Can I still return or exchange them, ' +
  'and how long does shipping to Canada take for the replacement?';

const section = (title: string, ...paragraphs: string[]) => `# ${title}\n\n${paragraphs.join('\n\n')}`;

const PRODUCT_LINES = [
  {
    kind: 'hiking boots',
    names: [
      'Ridgeline Mid',
      'Summit GTX',
      'Cascade Low',
      'Alpine Trek',
      'Canyon Pro',
      'Timberline',
      'Granite Peak',
      'Highland',
    ],
    material: 'full-grain leather and a waterproof membrane',
    fit: 'run half a size small',
  },
  {
    kind: 'trail-running shoes',
    names: [
      'Swift Trail',
      'Mudrunner',
      'Skyline Racer',
      'Ridge Dash',
      'Forest Sprint',
      'Gravel King',
      'Ultra Glide',
      'Switchback',
    ],
    material: 'engineered mesh with a rock plate',
    fit: 'fit true to size',
  },
  {
    kind: 'sandals',
    names: ['River Strap', 'Coastline', 'Desert Walk', 'Lagoon', 'Sunset Trail', 'Canyon Slide'],
    material: 'quick-drying webbing and a contoured footbed',
    fit: 'fit true to size',
  },
  {
    kind: 'rain jackets',
    names: ['Stormshell', 'Drizzle Lite', 'Monsoon Pro', 'Squall', 'Cloudburst', 'Tempest'],
    material: 'a three-layer waterproof and breathable fabric',
    fit: 'are cut for a layer underneath',
  },
  {
    kind: 'backpacks',
    names: ['Daytripper 22', 'Ridge 35', 'Expedition 60', 'Summit Pack 28', 'Trailhead 18', 'Basecamp 45'],
    material: 'recycled ripstop nylon with a rain cover',
    fit: 'come in two back lengths',
  },
  {
    kind: 'hiking socks',
    names: ['Merino Crew', 'Trail Light', 'Cushion Hiker', 'Alpine Wool', 'Summit Sock', 'Blister Guard'],
    material: 'merino wool blended with nylon',
    fit: 'come in four sizes',
  },
];

/** Product pages: one section each, so retrieval ranks a realistic number of matching chunks. */
const PRODUCT_PAGES = PRODUCT_LINES.flatMap((line) =>
  line.names.map((name, i) =>
    section(
      `${name} ${line.kind}`,
      `The ${name} is one of our ${line.kind}, made of ${line.material}. It weighs ${380 + i * 35} g ` +
        `and comes in ${3 + (i % 4)} colours. Our ${line.kind} ${line.fit}; see the size chart on the ` +
        'product page.',
      `Care: brush off dirt after each trip and let the ${name} dry away from direct heat. Like everything ` +
        'we sell, it can be returned within 30 days and exchanged within 60 days of delivery, and it carries ' +
        'our one-year warranty.',
    ),
  ),
);

/** A help centre of about 25 KB in markdown: each heading starts a chunk (the ingest splits on headings). */
export const KNOWLEDGE_BASE = [
  section(
    'Returns',
    'You can return unworn shoes and gear within 30 days of delivery for a full refund to the original ' +
      'payment method. Items must be in their original packaging with all tags attached. Start a return from ' +
      'the Orders page of your account; we email a prepaid return label for orders shipped within the United ' +
      'States.',
    'Returns received after 30 days, or items that show signs of wear, can be exchanged for store credit ' +
      'at our discretion. Final-sale items (marked in red on the product page) cannot be returned.',
  ),
  section(
    'Exchanges',
    'Exchanges for a different size or colour are free within 60 days of delivery. We ship the replacement ' +
      'as soon as the carrier scans your return, so you do not have to wait for the return to arrive. If ' +
      'the size you want is out of stock we refund the order instead.',
    'Hiking boots and trail-running shoes can be exchanged once per order. For a second exchange, return ' +
      'the item for store credit and place a new order.',
  ),
  section(
    'Shipping within the United States',
    'Standard shipping takes three to five business days and is free on orders over $75. Expedited ' +
      'shipping takes two business days and costs $14. Orders placed before 1 pm Eastern on a business day ' +
      'leave our warehouse the same day.',
  ),
  section(
    'International shipping',
    'We ship to Canada and Mexico in five to eight business days, and to the European Union and the United ' +
      'Kingdom in seven to twelve business days. Duties and taxes are shown at checkout and collected with ' +
      'the order, so the carrier will not ask for payment on delivery.',
    'Replacements sent for an exchange ship with the same service as the original order. Canadian orders ' +
      'over CA$100 ship free; returns from Canada use a prepaid label as well.',
  ),
  section(
    'Order tracking',
    'Every shipment has a tracking number, sent by email when the parcel leaves the warehouse and shown on ' +
      'the Orders page. Tracking can take up to 24 hours to show the first scan.',
  ),
  section(
    'Changing or cancelling an order',
    'Orders can be changed or cancelled within one hour of being placed, from the Orders page. After that ' +
      'the order is being packed; you can refuse the delivery or return the items instead.',
  ),
  section(
    'Sizing',
    'Our boots run half a size small; we recommend ordering half a size up, especially for thick hiking ' +
      'socks. The size chart on each product page lists foot length in centimetres and inches. Wide fits are ' +
      'marked W and are available for most hiking boots.',
    'If you are between two sizes, order both: the exchange and return of the pair that does not fit is ' +
      'free within 30 days.',
  ),
  section(
    'Warranty',
    'Footwear and gear carry a one-year warranty against manufacturing defects such as separated soles, ' +
      'broken eyelets or failed seams. Normal wear, damage from misuse and cosmetic marks are not covered. ' +
      'Send us photos of the defect from the Orders page and we will replace or refund the item.',
  ),
  section(
    'Care',
    'Clean leather boots with a soft brush and lukewarm water, let them dry at room temperature away from ' +
      'heaters, and treat them with wax twice a season. Waterproof membranes keep working longer when the ' +
      'outer material is kept clean.',
  ),
  section(
    'Payment',
    'We accept major credit cards, PayPal and Apple Pay. Cards are charged when the order ships. Gift cards ' +
      'can be combined with any other payment method and never expire.',
  ),
  section(
    'Store credit and gift cards',
    'Store credit is issued as a gift card code, sent by email, and can be used on any order. Store credit ' +
      'and gift cards cannot be exchanged for cash.',
  ),
  section(
    'Price match',
    'If you find the same item cheaper at an authorised retailer within 14 days of your purchase, we refund ' +
      'the difference. Send us a link from the Orders page; marketplace and auction listings do not qualify.',
  ),
  section(
    'Contact',
    'Our support team answers within one business day, Monday to Saturday. For an urgent question about an ' +
      'order that has not shipped yet, use the chat on the Orders page.',
  ),
  ...PRODUCT_PAGES,
].join('\n\n');

export const REPLY =
  'Yes: exchanges are free within 60 days of delivery, so your boots qualify. Start the exchange from the ' +
  'Orders page; the replacement ships to Canada in five to eight business days.';

export const STUB_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench-widget',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 620, completion_tokens: 44, total_tokens: 664 },
});

export interface Plan {
  readonly warmup: number;
  /** Recorded requests per point and target, split over the rounds. */
  readonly requests: number;
  /** Interleaved rounds (direct, gateway and widget take turns going first). */
  readonly rounds: number;
  readonly profileRequests: number;
  /** Admission calls per point and approach. */
  readonly admissions: number;
  /** Sequential runs of each piece timed alone. */
  readonly pieceRuns: number;
}

export const planFor = (full: boolean): Plan =>
  full
    ? { warmup: 300, requests: 6000, rounds: 6, profileRequests: 2000, admissions: 6000, pieceRuns: 1000 }
    : { warmup: 60, requests: 450, rounds: 3, profileRequests: 300, admissions: 600, pieceRuns: 200 };

// --- Rampart under test ---------------------------------------------------------------------------------

export interface Instance extends Listening {
  readonly orgId: string;
  readonly widgetId: string;
  /** A visitor session for the widget. */
  readonly visitorToken: string;
  /** An org API key for `POST /v1/chat/completions` (org default: redaction on). */
  readonly apiKey: string;
  /** More orgs on the business plan, one usage row each (admission without a shared row). */
  readonly spreadOrgIds: readonly string[];
}

export function startRampart(engine: EngineName, stubOrigin: string): Promise<Instance> {
  const env = { RAMPART_TRUST_PROXY: '127.0.0.1', RAMPART_SIGNUP_PER_IP_PER_HOUR: '1000' };
  return startBenchRampart(engine, env, async ({ rampart: r, origin }) => {
    // Set up as a customer would: sign up, register the stub as the org's provider, create a widget with
    // the help centre as its knowledge base; then a visitor on the shop's site starts a session.
    const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      callJson(origin, method, path, body, headers);
    const signUp = async (n: number) => {
      const s = await signup(origin, {
        email: `widget-bench-${n}@example.com`,
        orgName: `Widget Bench ${n}`,
      });
      const orgId = String(s.orgId);
      // The business plan (200,000 messages a month); the bench resets the month's usage between rounds.
      await r.services.db.org(orgId, (q) =>
        q.query(
          `INSERT INTO org_billing (org_id, plan) VALUES ($1, 'business')
           ON CONFLICT (org_id) DO UPDATE SET plan = 'business'`,
          [orgId],
        ),
      );
      return { orgId, session: { authorization: `Bearer ${String(s.token)}` } };
    };

    const { orgId, session } = await signUp(0);
    await call(
      'PUT',
      `/api/orgs/${orgId}/providers/stub`,
      { baseUrl: `${stubOrigin}/v1`, apiKey: UPSTREAM_KEY, models: [MODEL] },
      session,
    );
    const widget = await call(
      'POST',
      `/api/orgs/${orgId}/widgets`,
      {
        name: 'Help',
        allowedOrigins: [SHOP],
        systemPrompt: SYSTEM_PROMPT,
        model: MODEL,
        limits: { perIpPerMinute: 10_000, perWidgetPerMinute: 1_000_000 },
      },
      session,
    );
    const widgetId = String(widget.id);
    await call(
      'POST',
      `/api/orgs/${orgId}/widgets/${widgetId}/documents`,
      { name: 'help-centre.md', format: 'markdown', content: KNOWLEDGE_BASE },
      session,
    );
    const visitor = await call('POST', `/widget/${widgetId}/session`, undefined, {
      origin: SHOP,
      'x-forwarded-for': '198.51.100.7',
    });
    const key = await call('POST', `/api/orgs/${orgId}/api-keys`, { name: 'bench' }, session);

    const spreadOrgIds: string[] = [];
    for (let i = 1; i <= SPREAD_ORGS; i++) spreadOrgIds.push((await signUp(i)).orgId);

    return {
      orgId,
      widgetId,
      visitorToken: String(visitor.visitorToken),
      apiKey: String(key.key),
      spreadOrgIds,
    };
  });
}
