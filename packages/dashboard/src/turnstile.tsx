import { useEffect, useRef } from 'react';

declare global {
  interface Window {
    turnstile?: {
      render(
        el: HTMLElement,
        opts: { sitekey: string; callback: (token: string) => void; 'expired-callback': () => void },
      ): string;
      remove(id: string): void;
    };
  }
}

let loading: Promise<void> | null = null;
function loadScript(): Promise<void> {
  loading ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit';
    s.async = true;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error('Turnstile could not load'));
    document.head.append(s);
  });
  return loading;
}

/** Cloudflare Turnstile, rendered only when the server has a site key (the CSP allows its origin only then). */
export function Turnstile({
  siteKey,
  onToken,
}: {
  siteKey: string | null;
  onToken: (t: string | null) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!siteKey || !el.current) return;
    let id: string | null = null;
    let cancelled = false;
    loadScript()
      .then(() => {
        if (cancelled || !el.current || !window.turnstile) return;
        id = window.turnstile.render(el.current, {
          sitekey: siteKey,
          callback: (t) => onToken(t),
          'expired-callback': () => onToken(null),
        });
      })
      .catch(() => onToken(null));
    return () => {
      cancelled = true;
      if (id && window.turnstile) window.turnstile.remove(id);
    };
  }, [siteKey, onToken]);
  if (!siteKey) return null;
  return <div ref={el} className="turnstile" />;
}
