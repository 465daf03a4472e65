// Reply parts -> DOM, built with DOM APIs only (no HTML from the server is ever parsed).
import { h, link, linkify, safeUrl } from "./dom";
import type { Strings } from "./strings";
import type { Button, CardPart, Part } from "./types";

export type Press = (button: Button) => void;

export function renderButton(button: Button, press: Press, s: Strings, cls = "btn"): HTMLElement {
  if (button.kind === "url") {
    const href = safeUrl(button.value);
    return href ? link(href, button.label, s.newWindow, cls + " linkbtn") : h("span", { class: cls }, button.label);
  }
  if (button.kind === "phone") {
    const href = safeUrl("tel:" + (button.value || "").replace(/[^0-9+#*-]/g, ""), true);
    return href ? link(href, button.label, s.newWindow, cls + " linkbtn") : h("span", { class: cls }, button.label);
  }
  return h("button", { type: "button", class: cls, onclick: () => press(button) }, button.label);
}

function buttons(list: Button[] | undefined, press: Press, s: Strings): HTMLElement | null {
  if (!list || !list.length) return null;
  return h("div", { class: "btns" }, ...list.map((b) => renderButton(b, press, s)));
}

function image(url: string | null | undefined, alt: string): HTMLElement | null {
  const src = safeUrl(url);
  return src ? h("img", { src, alt, loading: "lazy", referrerpolicy: "no-referrer" }) : null;
}

function price(card: CardPart, s: Strings): HTMLElement | null {
  if (card.price == null) return null;
  const fmt = (n: number) => n.toLocaleString("ko-KR") + s.won;
  if (card.discount) {
    return h("p", { class: "price" }, h("del", {}, fmt(card.price)), " ", h("strong", {}, fmt(card.price - card.discount)));
  }
  return h("p", { class: "price" }, h("strong", {}, fmt(card.price)));
}

function card(part: CardPart, press: Press, s: Strings): HTMLElement {
  const href = safeUrl(part.link_url);
  const title = part.title ? h("p", { class: "ctitle" }, href ? link(href, part.title, s.newWindow) : part.title) : null;
  return h(
    "div",
    { class: "card" },
    image(part.image_url, part.title || ""),
    h("div", { class: "cbody" }, title, part.text ? h("p", { class: "ctext" }, linkify(part.text, s.newWindow)) : null, price(part, s)),
    buttons(part.buttons, press, s),
  );
}

// Quick replies are returned separately: they belong under the conversation's last message only.
export function renderParts(parts: Part[], press: Press, s: Strings): { body: HTMLElement[]; quick: HTMLElement | null } {
  const body: HTMLElement[] = [];
  let quick: HTMLElement | null = null;
  for (const part of parts) {
    switch (part.type) {
      case "text":
        body.push(h("div", { class: "bubble" }, linkify(part.text, s.newWindow)));
        break;
      case "image": {
        const img = image(part.url, part.alt || "");
        if (img) body.push(h("div", { class: "bubble media" }, img));
        break;
      }
      case "card":
        body.push(card(part, press, s));
        break;
      case "carousel":
        body.push(
          h("div", { class: "carousel", role: "group", "aria-label": s.cards, tabindex: 0 }, ...part.cards.map((c) => card(c, press, s))),
        );
        break;
      case "list":
        body.push(
          h(
            "div",
            { class: "card list" },
            h("p", { class: "ctitle lhead" }, part.header),
            h(
              "ul",
              {},
              ...part.items.map((item) =>
                h(
                  "li",
                  {},
                  image(item.image_url, ""),
                  h(
                    "div",
                    {},
                    h("p", { class: "ltitle" }, item.title),
                    item.description ? h("p", { class: "ldesc" }, item.description) : null,
                    item.action ? renderButton(item.action, press, s, "btn small") : null,
                  ),
                ),
              ),
            ),
            buttons(part.buttons, press, s),
          ),
        );
        break;
      case "quick_replies":
        quick = h(
          "div",
          { class: "quick", role: "group", "aria-label": s.quickReplies },
          ...part.options.map((b) => renderButton(b, press, s, "chip")),
        );
        break;
      case "handoff":
        body.push(h("div", { class: "notice" }, linkify(part.text, s.newWindow)));
        break;
    }
  }
  return { body, quick };
}
