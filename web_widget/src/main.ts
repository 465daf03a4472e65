// Entry point: read the <script data-…> options, paint the launcher, expose window.Sangdam.
import { pickStrings } from "./strings";
import { Widget, type Options } from "./widget";

declare global {
  interface Window {
    Sangdam?: { open(): void; close(): void; toggle(): void; reset(): Promise<void> };
  }
}

function options(script: HTMLScriptElement | null): Options {
  const data = script?.dataset || {};
  const server = (data.server || (script?.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/$/, "");
  return {
    server,
    api: server + (data.apiPath || "/web/api"),
    title: data.title,
    color: data.color,
    position: data.position === "left" ? "left" : "right",
    greeting: data.greeting,
    lang: data.lang || "ko",
    open: data.open === "true",
  };
}

// Read now: document.currentScript is null once this script has finished running.
const ownScript =
  (document.currentScript as HTMLScriptElement | null) ||
  document.querySelector<HTMLScriptElement>("script[src*='widget.js']");

function boot(): void {
  if (window.Sangdam) return; // loaded twice
  const opts = options(ownScript);
  const widget = new Widget(opts, pickStrings(opts.lang));
  window.Sangdam = {
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    reset: () => widget.reset(),
  };
}

if (document.body) boot();
else document.addEventListener("DOMContentLoaded", boot, { once: true });
