// The web API's JSON shapes (docs/web.md): events carry the core's reply parts, tagged by `type`.
export interface Button {
  label: string;
  kind: "message" | "url" | "phone" | "postback" | "handoff";
  value?: string;
}
export interface CardPart {
  type: "card";
  title?: string;
  text?: string;
  image_url?: string | null;
  link_url?: string | null;
  buttons?: Button[];
  price?: number | null;
  discount?: number | null;
}
export interface ListItem {
  title: string;
  description?: string;
  image_url?: string | null;
  action?: Button | null;
}
export type Part =
  | { type: "text"; text: string }
  | { type: "image"; url: string; alt?: string }
  | CardPart
  | { type: "carousel"; cards: CardPart[] }
  | { type: "list"; header: string; items: ListItem[]; buttons?: Button[] }
  | { type: "quick_replies"; options: Button[] }
  | { type: "handoff"; text: string; reason?: string };

export interface WebEvent {
  id: number;
  role: "customer" | "bot" | "agent" | "system";
  at: number;
  text?: string;
  client_id?: string;
  reply_to?: string;
  parts?: Part[];
}

export interface ServerConfig {
  bot_name: string;
  brand: string;
  title: string;
  greeting: string;
  suggestions: string[];
  max_text_chars: number;
}

export interface Outgoing {
  id: string;
  text: string;
  payload?: string;
}
