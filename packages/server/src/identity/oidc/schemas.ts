import { z } from 'zod';

/** A provider's name in paths: a-z, 0-9 and "-", at most 32. */
export const providerName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a-z, 0-9 and "-", at most 32');
