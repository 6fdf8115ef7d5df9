import { z } from 'zod';

/** Path ids are UUIDs; anything else is 400 before any lookup. */
export const orgParams = z.object({ orgId: z.uuid() });
export const orgItemParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const okBody = z.object({ ok: z.literal(true) });
export const bearer = [{ bearer: [] }];

/** Data-residency regions: an org's home, a provider's location, a key's pin. */
export const REGIONS = ['us', 'eu', 'apac'] as const;
export type Region = (typeof REGIONS)[number];
export const region = z.enum(REGIONS);
