/**
 * Rampart's embeddable chat widget. A site adds
 *
 *   <script src="https://<rampart>/widget.js" data-widget-id="<id>" async></script>
 *
 * and gets a launcher button and a chat panel, drawn inside a Shadow DOM so the site's styles cannot reach
 * them (and ours cannot reach the site). Nothing touches the network until the visitor sends a first message.
 * Every piece of text (the visitor's, the model's, ours) goes in through textContent, never as markup.
 * The bundle is an IIFE: it defines no globals.
 */
import { type Client, createClient, errorText, MAX_MESSAGE_LENGTH } from './client.js';
import { CSS } from './styles.js';

const HOST_TAG = 'rampart-chat';
const SVG_NS = 'http://www.w3.org/2000/svg';

/** The widget ids that already have a panel on this page (one panel per widget, however often it is embedded). */
const hosted = (): string[] =>
  Array.from(document.getElementsByTagName(HOST_TAG), (h) => h.getAttribute('data-widget-id') ?? '');

/**
 * This script's own element. `document.currentScript` is set while a classic script (async included) first
 * runs; when it is not (a loader that evaluates the code, a null override), take the first embed whose widget
 * has no panel yet.
 */
function ownScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.hasAttribute('data-widget-id')) return current;
  const taken = hosted();
  for (const s of Array.from(document.querySelectorAll<HTMLScriptElement>('script[data-widget-id]'))) {
    if (s.src && !taken.includes(s.getAttribute('data-widget-id') ?? '')) return s;
  }
  return null;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A speech-bubble icon, built node by node (no markup strings). */
function icon(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  svg.append(path);
  return svg;
}

function mount(widgetId: string, client: Client, title: string): void {
  const host = document.createElement(HOST_TAG);
  host.setAttribute('data-widget-id', widgetId);
  const root = host.attachShadow({ mode: 'open' });
  // A constructed stylesheet is not subject to the host page's style-src CSP; <style> is the fallback.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    root.append(el('style', {}, CSS));
  }

  const launcher = el('button', {
    type: 'button',
    class: 'launcher',
    'aria-label': 'Open chat',
    'aria-expanded': 'false',
    'aria-controls': 'panel',
  });
  launcher.append(icon());

  const panel = el('div', { id: 'panel', class: 'panel', role: 'dialog', 'aria-label': title });
  panel.hidden = true;
  const header = el('div', { class: 'head' });
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close chat' }, '×');
  const forget = el('button', { type: 'button', class: 'forget' }, 'Delete my conversation');
  header.append(el('h2', {}, title), forget, close);

  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
  const form = el('form', { class: 'form' });
  const input = el('textarea', {
    id: 'input',
    rows: '1',
    maxlength: String(MAX_MESSAGE_LENGTH),
    placeholder: 'Type a message…',
    autocomplete: 'off',
  });
  const send = el('button', { type: 'submit', class: 'send' }, 'Send');
  form.append(el('label', { for: 'input', class: 'sr' }, 'Your message'), input, send);
  panel.append(header, log, form);
  root.append(launcher, panel);

  let busy = false;
  let blockedUntil = 0;
  const refresh = () => {
    send.disabled = busy || Date.now() < blockedUntil;
  };

  const add = (kind: 'me' | 'bot' | 'note', text: string) => {
    const m = el('div', { class: `msg ${kind}` });
    if (kind !== 'note') m.append(el('span', { class: 'sr' }, kind === 'me' ? 'You: ' : 'Assistant: '));
    m.append(document.createTextNode(text));
    log.append(m);
    log.scrollTop = log.scrollHeight;
  };

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    launcher.setAttribute('aria-label', open ? 'Close chat' : 'Open chat');
    (open ? input : launcher).focus();
  };

  const submit = async () => {
    const text = input.value.trim();
    if (busy || text === '' || Date.now() < blockedUntil) return;
    busy = true;
    refresh();
    input.value = '';
    input.focus();
    add('me', text);
    const typing = el('div', { class: 'msg bot typing' });
    typing.append(el('span', { class: 'sr' }, 'The assistant is typing'));
    for (let i = 0; i < 3; i++) typing.append(el('span', { class: 'dot', 'aria-hidden': 'true' }));
    log.append(typing);
    log.scrollTop = log.scrollHeight;

    const out = await client.send(text);
    typing.remove();
    busy = false;
    if (out.ok) {
      add('bot', out.reply);
    } else {
      add('note', errorText(out));
      // The message did not get through: give it back for another try.
      if (input.value === '') input.value = text;
      if (out.error === 'rate_limited') {
        blockedUntil = Date.now() + out.retryAfter * 1000;
        setTimeout(refresh, out.retryAfter * 1000 + 50);
      }
    }
    refresh();
  };

  forget.addEventListener('click', async () => {
    if (busy) return;
    busy = true;
    forget.disabled = true;
    refresh();
    const out = await client.forget();
    busy = false;
    forget.disabled = false;
    if (out.ok) {
      log.replaceChildren();
      add('note', 'Your conversation was deleted.');
    } else {
      add('note', errorText(out));
    }
    refresh();
  });
  launcher.addEventListener('click', () => setOpen(panel.hidden));
  close.addEventListener('click', () => setOpen(false));
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      setOpen(false);
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  });

  document.body.append(host);
}

const script = ownScript();
const widgetId = script?.getAttribute('data-widget-id')?.trim() ?? '';
if (script && widgetId) {
  // Rampart's base URL: where this script came from (a path prefix behind a proxy is kept).
  const base = new URL('./', script.src).href;
  const title = script.getAttribute('data-title')?.trim() || 'Chat';
  const start = () => {
    if (!hosted().includes(widgetId)) mount(widgetId, createClient(base, widgetId), title);
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
}
