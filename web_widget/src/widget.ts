// The widget: a launcher painted at once; the panel is built, and the network used, only when opened.
import { ApiError, Client, newId } from "./api";
import { h, linkify } from "./dom";
import { renderParts } from "./render";
import type { Strings } from "./strings";
import { CSS } from "./styles";
import type { Button, Part, ServerConfig, WebEvent } from "./types";

export interface Options {
  server: string;
  api: string;
  title?: string;
  color?: string;
  position: "left" | "right";
  greeting?: string;
  lang: string;
  open: boolean;
}

const ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.6 21l4.2-2.3c1 .2 2.1.3 3.2.3 5.5 0 10-3.6 10-8s-4.5-8-10-8z"/></svg>';
const SMALL = "(max-width: 640px)";
const OPEN_KEY = "sangdam:open";

export class Widget {
  private wrap: HTMLDivElement;
  private launcher: HTMLButtonElement;
  private badge: HTMLSpanElement;
  private client: Client;
  private panel?: HTMLDivElement;
  private log!: HTMLDivElement;
  private typingEl!: HTMLDivElement;
  private banner!: HTMLDivElement;
  private status!: HTMLDivElement;
  private input!: HTMLTextAreaElement;
  private sendBtn!: HTMLButtonElement;
  private titleEl!: HTMLHeadingElement;
  private isOpen = false;
  private ready: Promise<boolean> | null = null; // session + history loaded
  private config: ServerConfig | null = null;
  private seen = new Set<number>();
  private streamLastId = 0;
  private pending = new Map<string, HTMLElement>();
  private streaming = new Map<string, HTMLElement>();
  private answered = new Set<string>(); // customer message ids that already have their reply
  private quick: HTMLElement | null = null;
  private unread = 0;
  private savedOverflow = "";

  constructor(
    private opts: Options,
    private s: Strings,
  ) {
    this.client = new Client(opts.api, `sangdam:${opts.server}:token`);
    // A custom element with inline !important styles: host-page rules (even `* { all: unset !important }`)
    // cannot hide or restyle it, and nothing inherits into the shadow root.
    const host = document.createElement("sangdam-widget");
    host.setAttribute("data-sangdam-widget", "");
    host.style.cssText = "all:initial!important;display:block!important";
    const shadow = host.attachShadow({ mode: "open" });
    addStyles(shadow);
    this.wrap = h("div", { class: "root" + (opts.position === "left" ? " left" : ""), lang: opts.lang });
    if (opts.color && CSS_SUPPORTS("color", opts.color)) this.wrap.style.setProperty("--c", opts.color);
    this.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = h("button", {
      type: "button",
      class: "launcher",
      "aria-label": s.open,
      "aria-expanded": "false",
      "aria-controls": "sd-panel",
      onclick: () => this.toggle(),
    });
    this.launcher.innerHTML = ICON; // a constant icon, never data
    this.launcher.append(this.badge);
    this.wrap.append(this.launcher);
    shadow.append(this.wrap);
    document.body.append(host);
    addEventListener("online", () => {
      this.setBanner(null);
      this.client.nudge();
    });
    addEventListener("offline", () => this.setBanner(this.s.offline));
    document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && this.client.nudge());
    addEventListener("pageshow", () => this.client.nudge());
    // Reopened after a reload: restore the panel without taking focus from the page.
    if (opts.open || session(OPEN_KEY) === "1") this.open(false);
  }

  // --- open / close ------------------------------------------------------------------------------

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  open(focus = true): void {
    if (!this.panel) this.build();
    const panel = this.panel!;
    this.isOpen = true;
    panel.hidden = false;
    this.wrap.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", this.s.close);
    setSession(OPEN_KEY, "1");
    this.unread = 0;
    this.updateBadge();
    const small = matchMedia(SMALL).matches;
    panel.setAttribute("aria-modal", String(small));
    if (small) {
      this.savedOverflow = document.documentElement.style.overflow;
      document.documentElement.style.overflow = "hidden";
    }
    this.fitViewport();
    if (focus) this.input.focus();
    this.scrollDown(true);
    void this.start();
  }

  close(): void {
    if (!this.panel || !this.isOpen) return;
    const hadFocus = this.panel.contains(this.shadowActive());
    this.isOpen = false;
    this.panel.hidden = true;
    this.wrap.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", this.s.open);
    setSession(OPEN_KEY, null);
    if (matchMedia(SMALL).matches) document.documentElement.style.overflow = this.savedOverflow;
    if (hadFocus) this.launcher.focus();
  }

  // Forget this visitor's conversation and start a new one (also the logout hook for host pages).
  async reset(): Promise<void> {
    this.client.forget();
    this.ready = null;
    this.clearLog();
    if (this.isOpen) {
      await this.start();
      this.status.textContent = this.s.started;
      this.input.focus();
    }
  }

  // --- panel -------------------------------------------------------------------------------------

  private build(): void {
    const s = this.s;
    this.titleEl = h("h2", { id: "sd-title" }, this.opts.title || s.title);
    this.banner = h("div", { class: "banner", role: "status", hidden: true });
    this.status = h("div", { class: "sr", role: "status" });
    this.typingEl = h("div", { class: "typing", hidden: true, role: "status", "aria-label": s.typing }, h("i"), h("i"), h("i"));
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": s.messages, tabindex: 0 }, this.typingEl);
    this.input = h("textarea", { rows: 1, "aria-label": s.inputLabel, placeholder: s.placeholder, maxlength: 1000, enterkeyhint: "send" });
    this.sendBtn = h("button", { type: "submit" }, s.send);
    const form = h("form", { onsubmit: (e: Event) => this.submit(e) }, this.input, this.sendBtn);
    this.input.addEventListener("keydown", (e) => {
      // Enter sends, but not while a Hangul syllable is still being composed (it would be cut or doubled).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) this.submit(e);
    });
    this.input.addEventListener("input", () => this.grow());
    this.panel = h(
      "div",
      { class: "panel", id: "sd-panel", role: "dialog", "aria-labelledby": "sd-title", hidden: true },
      h(
        "header",
        {},
        h("div", { class: "t" }, this.titleEl, h("p", {}, s.subtitle)),
        h("button", { type: "button", "aria-label": s.newChatLabel, onclick: () => void this.reset() }, s.newChat),
        h("button", { type: "button", class: "x", "aria-label": s.close, onclick: () => this.close() }, "×"),
      ),
      this.banner,
      this.log,
      form,
      this.status,
    );
    this.wrap.addEventListener("keydown", (e) => this.onKey(e));
    this.wrap.append(this.panel);
    const vv = window.visualViewport;
    if (vv) {
      vv.addEventListener("resize", () => this.fitViewport());
      vv.addEventListener("scroll", () => this.fitViewport());
    }
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "Escape" && this.isOpen) {
      e.preventDefault();
      this.close();
      return;
    }
    // Full-screen on small screens behaves as a modal dialog: Tab cycles inside it.
    if (e.key !== "Tab" || !matchMedia(SMALL).matches) return;
    const items = Array.from(
      this.panel!.querySelectorAll<HTMLElement>("button:not([disabled]),a[href],textarea,[tabindex='0']"),
    ).filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = this.shadowActive();
    if (e.shiftKey && active === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  // iOS: keep the input above the on-screen keyboard by sizing the panel to the visual viewport.
  private fitViewport(): void {
    const vv = window.visualViewport;
    if (!this.panel) return;
    if (!vv || !this.isOpen || !matchMedia(SMALL).matches) {
      this.panel.style.height = "";
      this.panel.style.top = "";
      return;
    }
    this.panel.style.height = `${vv.height}px`;
    this.panel.style.top = `${vv.offsetTop}px`;
  }

  private shadowActive(): Element | null {
    return (this.wrap.getRootNode() as ShadowRoot).activeElement;
  }

  private grow(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 120)}px`;
  }

  // --- conversation ------------------------------------------------------------------------------

  private start(): Promise<boolean> {
    if (!this.ready) this.ready = this.load();
    return this.ready;
  }

  private async load(): Promise<boolean> {
    try {
      if (!this.config) {
        this.config = await this.client.config();
        if (!this.opts.title) this.titleEl.textContent = this.config.title;
        this.input.maxLength = this.config.max_text_chars;
      }
      await this.client.ensureSession();
      let events: WebEvent[];
      try {
        events = await this.client.history(0);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        this.client.forget(); // token from an old secret or expired: start over
        await this.client.ensureSession();
        events = [];
      }
      this.clearLog();
      this.log.setAttribute("aria-busy", "true"); // restoring history is not announced message by message
      this.greet(events.length === 0);
      for (const e of events) this.apply(e, true);
      this.log.removeAttribute("aria-busy");
      this.scrollDown(true);
      this.setBanner(null);
      void this.listen();
      return true;
    } catch {
      this.ready = null; // try again on the next open or send
      this.setBanner(this.s.error);
      return false;
    }
  }

  private async listen(): Promise<void> {
    try {
      await this.client.stream(() => this.streamLastId, {
        event: (e) => this.apply(e, false, true),
        delta: (replyTo, text) => this.delta(replyTo, text),
        typing: (replyTo, done) => this.showTyping(!done && !this.answered.has(replyTo)),
        state: (connected) => this.setBanner(connected ? null : navigator.onLine ? this.s.reconnecting : this.s.offline),
        reset: () => {
          this.clearLog(); // also sets streamLastId to 0, so a reconnect replays from the start
          this.greet(true);
        },
      });
    } catch {
      await this.reset(); // the session is no longer valid
    }
  }

  private greet(empty: boolean): void {
    const text = this.opts.greeting || this.config?.greeting;
    if (text) this.addRow("bot", [h("div", { class: "bubble" }, linkify(text, this.s.newWindow))]);
    if (empty && this.config?.suggestions.length) {
      this.setQuick(
        renderParts(
          [{ type: "quick_replies", options: this.config.suggestions.map((t) => ({ label: t, kind: "message", value: t })) }],
          (b) => this.press(b),
          this.s,
        ).quick,
      );
    }
  }

  private apply(e: WebEvent, restoring = false, fromStream = false): void {
    if (fromStream || restoring) this.streamLastId = Math.max(this.streamLastId, e.id);
    if (e.role === "customer" && e.client_id && this.pending.has(e.client_id)) {
      this.pending.get(e.client_id)!.classList.remove("pending");
      this.pending.delete(e.client_id);
      this.seen.add(e.id);
      return;
    }
    if (this.seen.has(e.id)) return; // the same event from the POST answer, the stream or a replay
    this.seen.add(e.id);
    if (e.role === "customer") {
      this.setQuick(null);
      this.addRow("customer", [h("div", { class: "bubble" }, e.text || "")]);
      return;
    }
    if (e.reply_to) {
      this.answered.add(e.reply_to);
      this.streaming.get(e.reply_to)?.remove();
      this.streaming.delete(e.reply_to);
    }
    this.showTyping(false);
    const { body, quick } = renderParts(e.parts || [], (b) => this.press(b), this.s);
    const who = e.role === "agent" ? h("span", { class: "who", "aria-hidden": "true" }, this.s.agent) : null;
    this.addRow(e.role, who ? [who, ...body] : body);
    this.setQuick(quick);
    if (!restoring && !this.isOpen) {
      this.unread++;
      this.updateBadge();
    }
  }

  private press(button: Button): void {
    // The pressed quick reply disappears with its row: keep keyboard focus in the conversation.
    this.input.focus();
    if (button.kind === "postback") void this.send(button.label, button.value);
    else void this.send(button.kind === "message" && button.value ? button.value : button.label);
  }

  private submit(e: Event): void {
    e.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.grow();
    void this.send(text);
  }

  private async send(text: string, payload?: string, id = newId(), row?: HTMLElement): Promise<void> {
    const ready = await this.start(); // a message typed while the history loads waits for it
    this.setQuick(null);
    if (!row) {
      row = this.addRow("customer", [h("div", { class: "bubble" }, text)], true);
      this.pending.set(id, row);
    }
    row.classList.add("pending");
    row.classList.remove("failed");
    row.querySelector(".err")?.remove();
    this.showTyping(true);
    try {
      if (!ready) throw new Error("no session");
      const events = await this.client.send({ id, text, payload });
      for (const e of events) this.apply(e);
      if (this.answered.has(id) || !events.some((e) => e.role !== "customer")) this.showTyping(false);
    } catch (err) {
      this.showTyping(false);
      row.classList.remove("pending");
      row.classList.add("failed");
      const limited = err instanceof ApiError && err.status === 429;
      const retry = h("button", { type: "button", onclick: () => void this.send(text, payload, id, row) }, this.s.retry);
      const note = h("div", { class: "err", role: "alert" }, limited ? this.s.rateLimited : this.s.failed, limited ? null : retry);
      row.append(note);
    }
  }

  private delta(replyTo: string, text: string): void {
    if (this.answered.has(replyTo)) return; // the final message is already shown
    this.showTyping(false);
    let bubble = this.streaming.get(replyTo);
    if (!bubble) {
      // Announced once, as the final message; the growing text is hidden from screen readers.
      bubble = this.addRow("bot", [h("div", { class: "bubble" })]);
      bubble.setAttribute("aria-hidden", "true");
      this.streaming.set(replyTo, bubble);
    }
    bubble.querySelector(".bubble")!.append(text);
    this.scrollDown(false);
  }

  // --- DOM helpers -------------------------------------------------------------------------------

  private addRow(role: string, content: HTMLElement[], own = false): HTMLElement {
    const label = role === "customer" ? this.s.you : role === "agent" ? this.s.agent : this.config?.bot_name || this.s.bot;
    const row = h("div", { class: `row ${role}` }, h("span", { class: "sr" }, label + ": "), ...content);
    const stick = this.nearBottom();
    this.log.insertBefore(row, this.typingEl);
    this.scrollDown(own || stick);
    return row;
  }

  private setQuick(quick: HTMLElement | null): void {
    this.quick?.remove();
    this.quick = quick;
    if (quick) {
      this.log.insertBefore(quick, this.typingEl);
      this.scrollDown(this.nearBottom());
    }
  }

  private showTyping(on: boolean): void {
    this.typingEl.hidden = !on;
    if (on) this.scrollDown(this.nearBottom());
  }

  private clearLog(): void {
    for (const el of Array.from(this.log.children)) if (el !== this.typingEl) el.remove();
    this.seen.clear();
    this.pending.clear();
    this.streaming.clear();
    this.answered.clear();
    this.quick = null;
    this.streamLastId = 0;
    this.showTyping(false);
  }

  private nearBottom(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120;
  }

  private scrollDown(force: boolean): void {
    if (force && this.log) this.log.scrollTop = this.log.scrollHeight;
  }

  private setBanner(text: string | null): void {
    if (!this.banner) return;
    this.banner.hidden = !text;
    this.banner.textContent = text || "";
  }

  private updateBadge(): void {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
    this.launcher.setAttribute("aria-label", this.isOpen ? this.s.close : this.unread ? `${this.s.open}, ${this.s.unread(this.unread)}` : this.s.open);
  }
}

function CSS_SUPPORTS(prop: string, value: string): boolean {
  return typeof CSS !== "undefined" && typeof window.CSS?.supports === "function" ? window.CSS.supports(prop, value) : false;
}

// Constructable stylesheets work under a strict style-src CSP; <style> is the fallback.
function addStyles(shadow: ShadowRoot): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(h("style", {}, CSS));
  }
}

function session(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function setSession(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    /* storage blocked */
  }
}

export type { Part };
