/**
 * All of the widget's styles, applied inside its shadow root only. `:host` resets every property with
 * `!important`: for important declarations the shadow tree's win over the page's, so even a page rule such as
 * `* { display: none !important }` cannot hide or restyle the widget (inherited properties stop at the host).
 */
export const CSS = `
:host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important}
*{box-sizing:border-box;margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2433;letter-spacing:normal;text-transform:none}
button{cursor:pointer;border:0}
button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;background:#2451c7;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.3)}
.launcher svg{width:26px;height:26px;fill:#fff}
.panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:min(370px,calc(100vw - 40px));height:min(540px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}
.panel[hidden]{display:none}
.head{display:flex;align-items:center;justify-content:space-between;padding:10px 8px 10px 16px;background:#2451c7}
h2{font-size:16px;font-weight:600;color:#fff}
.forget{margin-left:auto;padding:4px 8px;border-radius:6px;background:none;color:#fff;font-size:12px;text-decoration:underline}
.forget:disabled{opacity:.6;cursor:default}
.close{width:32px;height:32px;border-radius:6px;background:none;color:#fff;font-size:22px;line-height:1}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f5f6f8}
.msg{max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.me{align-self:flex-end;background:#2451c7;color:#fff}
.bot{align-self:flex-start;background:#fff;border:1px solid #d9dde4}
.note{align-self:stretch;max-width:none;text-align:center;background:#fdecea;color:#8a1f11;font-size:13px}
.dot{display:inline-block;width:7px;height:7px;margin:0 2px;border-radius:50%;background:#8a93a3;animation:b 1s infinite ease-in-out}
.dot:nth-child(3){animation-delay:.15s}
.dot:nth-child(4){animation-delay:.3s}
@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.dot{animation:none}}
.form{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e5ea;background:#fff}
textarea{flex:1;min-width:0;min-height:40px;max-height:120px;field-sizing:content;resize:none;padding:9px 10px;border:1px solid #b9c0cc;border-radius:8px;background:#fff}
.send{padding:0 16px;border-radius:8px;background:#2451c7;color:#fff;font-weight:600}
.send:disabled{opacity:.5;cursor:default}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;
