// A tiny element builder: the widget never assigns server or user text to innerHTML.
type Attrs = Record<string, string | boolean | number | undefined | null | EventListener>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === "class") {
      el.className = String(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child) el.append(child);
  }
  return el;
}

export function safeUrl(raw: string | null | undefined, allowTel = false): string | null {
  if (!raw) return null;
  try {
    const url = new URL(raw, location.href);
    if (url.protocol === "https:" || url.protocol === "http:" || (allowTel && url.protocol === "tel:")) {
      return url.href;
    }
  } catch {
    /* not a URL */
  }
  return null;
}

const URL_RE = /https?:\/\/[^\s<>"']+[^\s<>"'.,!?)\]}。，]/g;

// Text with line breaks kept (CSS pre-wrap) and http(s) URLs turned into safe links.
export function linkify(text: string, newWindow: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const at = match.index ?? 0;
    frag.append(text.slice(last, at));
    const href = safeUrl(match[0]);
    frag.append(href ? link(href, match[0], newWindow) : match[0]);
    last = at + match[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

export function link(href: string, label: string, newWindow: string, cls = ""): HTMLAnchorElement {
  const isTel = href.startsWith("tel:");
  return h(
    "a",
    { href, class: cls, target: isTel ? undefined : "_blank", rel: "noopener noreferrer nofollow" },
    label,
    isTel ? null : h("span", { class: "sr" }, " " + newWindow),
  );
}
