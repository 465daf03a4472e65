// The widget's side of the web API: session token, messages with retries, history, and an SSE stream
// read with fetch (so the token travels in a header) that resumes from the last event id.
import type { Outgoing, ServerConfig, WebEvent } from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public retryAfter = 0,
  ) {
    super(message);
  }
}

export interface StreamHandlers {
  event(e: WebEvent): void;
  delta(replyTo: string, text: string): void;
  typing(replyTo: string, done: boolean): void;
  state(connected: boolean): void;
  // The server's log is behind what we have seen (it restarted with an in-memory store): ids start
  // again at 1, so forget the shown events; the stream then replays the log from the start.
  reset(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function newId(): string {
  const c: Crypto = globalThis.crypto;
  if (typeof c.randomUUID === "function") return c.randomUUID(); // secure contexts only
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Client {
  token: string | null;
  private abort: AbortController | null = null;
  private wake: (() => void) | null = null;
  private running = false;

  constructor(
    private api: string,
    private storageKey: string,
  ) {
    this.token = read(storageKey);
  }

  async config(): Promise<ServerConfig> {
    return this.call("GET", "/config");
  }

  async ensureSession(): Promise<void> {
    if (this.token) return;
    const answer = await this.call<{ token: string }>("POST", "/sessions", {});
    this.setToken(answer.token);
  }

  forget(): void {
    this.stop();
    this.setToken(null);
  }

  async history(after = 0): Promise<WebEvent[]> {
    const answer = await this.call<{ events: WebEvent[] }>("GET", `/history?after=${after}`);
    return answer.events;
  }

  // Sends once per message id; network failures and 5xx are retried with the same id, which the server
  // answers at most once, so a retry never produces a second reply.
  async send(message: Outgoing): Promise<WebEvent[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.call<{ events: WebEvent[] }>("POST", "/messages", message);
        return answer.events;
      } catch (err) {
        const retriable = !(err instanceof ApiError) || err.status >= 500;
        if (!retriable || attempt >= 4) throw err;
        await sleep(backoff(attempt));
      }
    }
  }

  // Keeps one stream open until stop(); `lastId` is read before each (re)connect.
  async stream(lastId: () => number, on: StreamHandlers): Promise<void> {
    if (this.running) return;
    this.running = true;
    let failures = 0;
    while (this.running) {
      const controller = new AbortController();
      this.abort = controller;
      let opened = false;
      const began = Date.now();
      try {
        const res = await fetch(`${this.api}/stream?after=${lastId()}`, {
          headers: { Authorization: `Bearer ${this.token}`, Accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (!res.ok || !res.body) throw await toError(res);
        opened = true;
        failures = 0;
        on.state(true);
        await readSse(res.body, on);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          this.running = false;
          throw err;
        }
      }
      if (!this.running) break;
      if (!opened) {
        failures++;
        on.state(false);
        await this.pause(backoff(failures));
      } else if (Date.now() - began < 1000) {
        await this.pause(backoff(++failures)); // a stream that keeps ending at once: do not hammer the server
      }
    }
  }

  // Reconnect at once (page visible again, back online) instead of waiting out the backoff.
  nudge(): void {
    if (this.wake) this.wake();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
    this.nudge();
  }

  get streaming(): boolean {
    return this.running;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private setToken(token: string | null): void {
    this.token = token;
    write(this.storageKey, token);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(this.api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    if (!res.ok) throw await toError(res);
    return (await res.json()) as T;
  }
}

async function toError(res: Response): Promise<ApiError> {
  let code = "http_" + res.status;
  let detail = res.statusText;
  let retryAfter = 0;
  try {
    const body = await res.json();
    code = body.error || code;
    detail = body.detail || detail;
    retryAfter = body.retry_after_s || 0;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, detail, retryAfter);
}

async function readSse(body: ReadableStream<Uint8Array>, on: StreamHandlers): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, cut), on);
      buffer = buffer.slice(cut + 2);
    }
  }
}

function dispatch(block: string, on: StreamHandlers): void {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  const raw = data.join("\n");
  if (!raw) return;
  let parsed: any;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return;
  }
  if (name === "message") on.event(parsed as WebEvent);
  else if (name === "delta") on.delta(parsed.reply_to, parsed.text);
  else if (name === "typing") on.typing(parsed.reply_to, !!parsed.done);
  else if (name === "reset") on.reset();
}

function backoff(attempt: number): number {
  const base = Math.min(15000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage blocked: the conversation lasts as long as the page */
  }
}
