// Browser globals the app uses, typed here because the workspace compiles against ES2024 without the DOM library.

export interface DomEvent {
  preventDefault(): void;
}

export interface Elem {
  textContent: string | null;
  hidden: boolean;
  disabled: boolean;
  value: string;
  className: string;
  readonly dataset: Record<string, string | undefined>;
  append(...nodes: (Elem | string)[]): void;
  replaceChildren(...nodes: (Elem | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (e: DomEvent) => void): void;
  querySelector(selectors: string): Elem | null;
  focus(): void;
}

declare const document: { getElementById(id: string): Elem | null; createElement(tag: string): Elem };
declare const window: { location: { hash: string }; addEventListener(type: "hashchange", listener: () => void): void };
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };

export const storage = sessionStorage;
export const browserWindow = window;

export function byId(id: string): Elem {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page has no #${id}`);
  return e;
}

/** A form control's value by name. */
export function field(form: Elem, name: string): Elem {
  const e = form.querySelector(`[name="${name}"]`);
  if (!e) throw new Error(`form has no field ${name}`);
  return e;
}

/** Builds an element whose children are elements or plain text: text is never parsed as HTML, so incident data cannot inject markup. */
export function h(tag: string, attrs: Record<string, string> = {}, ...children: (Elem | string | number | null | undefined)[]): Elem {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) e.setAttribute(name, value);
  e.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === "number" ? String(c) : c)));
  return e;
}

export function showError(target: Elem, message: string): void {
  target.textContent = message;
  target.hidden = message === "";
}
