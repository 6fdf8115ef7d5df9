/** The shapes the widget and billing APIs return, and the byte and embed-snippet formats the widget pages share. */

export interface Limits {
  perIpPerMinute: number;
  perWidgetPerMinute: number;
}
export interface Widget {
  id: string;
  name: string;
  allowedOrigins: string[];
  systemPrompt: string;
  model: string;
  limits: Limits;
  createdAt: string;
  updatedAt: string;
}
export interface Doc {
  id: string;
  name: string;
  format: 'text' | 'markdown';
  bytes: number;
  chunks: number;
  createdAt: string;
}
export interface Usage {
  widgets: number;
  monthlyMessages: number;
  knowledgeBytes: number;
}
export interface Billing {
  plan: string;
  limits: Usage;
  usage: Usage;
  messageCredits: number;
}
export interface Provider {
  name: string;
  models: string[];
}

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
