import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import type { ChannelUrls } from '../platform/operator-alerts.js';
import { bearer } from '../platform/params.js';
import { isSettingKey, SETTING_KEYS, type SettingKey } from '../platform/settings.js';

const setting = z.object({
  key: z.enum(SETTING_KEYS as [SettingKey, ...SettingKey[]]),
  env: z.string(),
  label: z.string(),
  secret: z.boolean(),
  source: z.enum(['env', 'database', 'unset']),
  value: z.string().nullable(),
  stored: z.boolean(),
  updatedAt: z.string().nullable(),
});
const keyParams = z.object({ key: z.string().max(64) });
const tags = ['admin'];

/** The key from the path, or 404 (an unknown setting is not a thing that exists). */
function keyOf(raw: string): SettingKey {
  if (!isSettingKey(raw)) throw new AppError('not_found', 'No such platform setting');
  return raw;
}

/**
 * Tells the operators' channels which setting changed (the name, never the value); `before` are the channels in
 * force before the change, so a redirected or cleared channel still hears that it was changed.
 */
function alert(
  s: IdentityServices,
  key: SettingKey,
  change: 'set' | 'cleared',
  by: string,
  before: ChannelUrls,
): void {
  s.operatorAlerts.post(
    {
      title: `Rampart platform setting ${change}: ${key}`,
      facts: [
        ['Setting', key],
        ['Change', change],
        ['Operator', `user:${by}`],
        ['Source in force', s.settings.view(key).source],
      ],
    },
    before,
  );
}

/**
 * Platform settings for operators (docs/OPERATIONS.md "Platform settings"): list with the source in force, set
 * (validated, sealed, announced to every node, audited by name) and clear. A secret is never returned.
 */
export function registerPlatformSettingsRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/admin/settings',
    {
      schema: {
        tags,
        summary:
          'Platform settings with the source in force (environment, database or unset); secrets masked',
        security: bearer,
        response: { 200: z.object({ settings: z.array(setting) }) },
      },
    },
    async (request) => {
      await s.auth.requireOperator(request);
      return { settings: s.settings.list() };
    },
  );

  app.put(
    '/api/admin/settings/:key',
    {
      schema: {
        tags,
        summary: 'Store a platform setting (sealed); every node uses it at once unless its variable is set',
        security: bearer,
        params: keyParams,
        body: z.strictObject({ value: z.string().min(1).max(8_192) }),
        response: { 200: z.object({ setting }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const key = keyOf(request.params.key);
      const before = { ...s.settings.current() };
      const setting = await s.settings.set(actorOf(request, { userId: op.userId }), key, request.body.value);
      alert(s, key, 'set', op.userId, before);
      return { setting };
    },
  );

  app.delete(
    '/api/admin/settings/:key',
    {
      schema: {
        tags,
        summary: 'Remove a stored platform setting (the environment variable, if set, stays in force)',
        security: bearer,
        params: keyParams,
        response: { 200: z.object({ setting }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const key = keyOf(request.params.key);
      const before = { ...s.settings.current() };
      const setting = await s.settings.clear(actorOf(request, { userId: op.userId }), key);
      alert(s, key, 'cleared', op.userId, before);
      return { setting };
    },
  );
}
