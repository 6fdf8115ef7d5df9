import type {
  Billing,
  EmbeddingStatus,
  ModelProvider,
  Widget,
  WidgetDocument,
} from '@rampart/server/api-types';

/** The shapes the widget and billing APIs return, and the byte and embed-snippet formats the widget pages share. */

export type { Billing, EmbeddingStatus, Widget };
export type Doc = WidgetDocument;
/** A model provider: the widget form suggests its models. */
export type Provider = Pick<ModelProvider, 'name' | 'models'>;

/** 1536 -> "1.5 KB" (decimal units, as the plans are stated). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}

/** The snippet a customer pastes into their site. */
export const embedSnippet = (origin: string, widgetId: string) =>
  `<script src="${origin}/widget.js" data-widget-id="${widgetId}" async></script>`;
