// All styles live in the shadow root; `:host { all: initial }` keeps the host page's CSS out.
export const CSS = `
:host{all:initial}
*{box-sizing:border-box}
.root{--c:#1d4ed8;--fg:#111827;--muted:#4b5563;--bg:#fff;--soft:#f3f4f6;--line:#d1d5db;
font:15px/1.5 -apple-system,BlinkMacSystemFont,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR","Segoe UI",sans-serif;
color:var(--fg);word-break:keep-all;overflow-wrap:anywhere;-webkit-text-size-adjust:100%}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,input,textarea{font:inherit;color:inherit}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;
background:var(--c);color:#fff;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:grid;place-items:center}
.left .launcher,.left .panel{right:auto;left:20px}
.launcher svg{width:28px;height:28px}
.badge[hidden]{display:none}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;border-radius:11px;background:#b91c1c;color:#fff;
font-size:12px;font-weight:700;display:grid;place-items:center;padding:0 6px}
.panel{position:fixed;bottom:92px;right:20px;z-index:2147483001;width:380px;height:min(640px,calc(100vh - 112px));
background:var(--bg);border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden}
.panel[hidden]{display:none}
header{background:var(--c);color:#fff;padding:12px 12px 12px 16px;display:flex;align-items:center;gap:8px}
header h2{font-size:16px;margin:0;font-weight:700}
header p{margin:0;font-size:12px;opacity:.92}
header .t{flex:1;min-width:0}
header button{background:rgba(255,255,255,.16);border:1px solid rgba(255,255,255,.5);color:#fff;border-radius:8px;
padding:6px 10px;cursor:pointer;font-size:13px;min-height:36px}
header button.x{width:36px;padding:0;font-size:20px;line-height:1}
.banner{background:#fef3c7;color:#78350f;font-size:13px;padding:6px 12px}
.banner[hidden]{display:none}
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:16px 12px;display:flex;flex-direction:column;gap:10px;background:#fafafa}
.row{display:flex;flex-direction:column;align-items:flex-start;gap:6px;max-width:88%}
.row.customer{align-self:flex-end;align-items:flex-end}
.who{font-size:12px;color:var(--muted)}
.bubble{background:var(--bg);border:1px solid var(--line);border-radius:4px 16px 16px 16px;padding:9px 13px;white-space:pre-wrap}
.customer .bubble{background:var(--c);color:#fff;border-color:var(--c);border-radius:16px 4px 16px 16px}
.customer .bubble a{color:#fff}
.agent .bubble{border-color:#059669;background:#ecfdf5}
.pending .bubble{opacity:.7}
.failed .bubble{border:2px dashed #b91c1c}
.err{font-size:12px;color:#b91c1c;display:flex;gap:6px;align-items:center}
.err button{border:1px solid #b91c1c;color:#b91c1c;background:#fff;border-radius:6px;padding:2px 8px;cursor:pointer}
.media{padding:4px}
img{max-width:100%;border-radius:10px;display:block}
a{color:#1d4ed8}
.card{background:var(--bg);border:1px solid var(--line);border-radius:12px;overflow:hidden;width:260px;max-width:100%}
.card>img{border-radius:0;width:100%;max-height:150px;object-fit:cover}
.cbody{padding:10px 12px}
.ctitle{font-weight:700;margin:0 0 4px}
.ctext,.ldesc{margin:0;white-space:pre-wrap;color:var(--fg)}
.price{margin:6px 0 0}
.price del{color:var(--muted)}
.list{width:280px}
.lhead{padding:10px 12px 0}
.list ul{list-style:none;margin:0;padding:4px 12px}
.list li{display:flex;gap:10px;padding:8px 0;border-top:1px solid var(--soft)}
.list li img{width:48px;height:48px;object-fit:cover}
.ltitle{margin:0;font-weight:600}
.ldesc{font-size:13px;color:var(--muted)}
.btns{display:flex;flex-direction:column;border-top:1px solid var(--line)}
.btn{display:block;text-align:center;padding:10px;border:0;border-top:1px solid var(--soft);background:var(--bg);color:#1e40af;
font-weight:600;cursor:pointer;text-decoration:none;min-height:44px}
.btns .btn:first-child{border-top:0}
.btn.small{display:inline-block;min-height:32px;padding:4px 10px;border:1px solid var(--line);border-radius:8px;margin-top:4px}
.carousel{display:flex;gap:8px;overflow-x:auto;max-width:100%;scroll-snap-type:x mandatory;padding-bottom:4px}
.carousel .card{flex:0 0 240px;scroll-snap-align:start}
.notice{background:#eff6ff;border:1px solid #93c5fd;color:#1e3a8a;border-radius:12px;padding:9px 13px;white-space:pre-wrap}
.quick{display:flex;flex-wrap:wrap;gap:6px;justify-content:flex-end;align-self:flex-end;max-width:100%}
.chip{border:1.5px solid var(--c);color:var(--c);background:var(--bg);border-radius:18px;padding:7px 14px;cursor:pointer;
min-height:40px;text-decoration:none;font-weight:600;font-size:14px}
.chip:hover,.btn:hover{background:var(--soft)}
.typing{align-self:flex-start;display:flex;gap:4px;padding:12px 14px;background:var(--bg);border:1px solid var(--line);border-radius:4px 16px 16px 16px}
.typing[hidden]{display:none}
.typing i{width:7px;height:7px;border-radius:50%;background:var(--muted);animation:b 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes b{0%,60%,100%{opacity:.3;transform:translateY(0)}30%{opacity:1;transform:translateY(-3px)}}
form{display:flex;gap:8px;padding:10px;border-top:1px solid var(--line);background:var(--bg);
padding-bottom:max(10px,env(safe-area-inset-bottom))}
textarea{flex:1;resize:none;border:1px solid #6b7280;border-radius:12px;padding:9px 12px;font-size:16px;line-height:1.4;
max-height:120px;min-height:44px;background:var(--bg)}
form button{border:0;background:var(--c);color:#fff;border-radius:12px;padding:0 16px;font-weight:700;cursor:pointer;min-height:44px}
form button:disabled{opacity:.5;cursor:default}
@media (max-width:640px){
.panel{inset:0;width:100%;height:100%;height:100dvh;max-height:none;border-radius:0;bottom:auto;right:auto;left:0;top:0}
.left .panel{left:0}
.open .launcher{display:none}
}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}*{scroll-behavior:auto!important}}
@media (forced-colors:active){.launcher,.chip,.btn,.bubble{border:1px solid CanvasText}}
`;
