import type { GatewayServices } from '../gateway/services.js';
import type { PublicWidgetCache } from './visits.js';

/** What the widget routes use: the gateway's (routing, limits) and the per-node cache of public widget lookups. */
export interface WidgetServices extends GatewayServices {
  publicWidgets: PublicWidgetCache;
}
