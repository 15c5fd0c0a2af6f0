/**
 * `<shopcall-button sku="…">` — an inline call button the shop places in its own markup (e.g. on a
 * product card), in its own shadow root. It shows the same label and availability as the launcher and
 * opens the widget for its product (`sku`, and `title`/`image` attributes if the shop wants them shown).
 * @module shopcall/widget/button
 */

import { esc, icons } from "../components/icons.js";

/** @param {{view: import("./views.js").WidgetView, open: (opts: any) => void, staticBase: string}} widget */
export function defineButton(widget) {
  if (customElements.get("shopcall-button")) return;
  const css = new URL("widget/widget.css", widget.staticBase).href;

  class ShopCallButton extends HTMLElement {
    connectedCallback() {
      if (!this.shadowRoot) {
        const root = this.attachShadow({ mode: "open" });
        root.innerHTML = `<link rel="stylesheet" href="${esc(css)}">
          <div class="inline-wrap"><button class="inline-btn" type="button" data-testid="call-button" data-mode="call">
            <span data-el="icon">${icons.video}</span><span data-el="label"></span></button>
          <span class="inline-avail" data-testid="availability"><span class="dot"></span><span data-el="text"></span></span></div>`;
        root.querySelector("button").addEventListener("click", () => {
          const sku = this.getAttribute("sku");
          const title = this.getAttribute("title");
          widget.open({ product: sku ? { sku, title: title || undefined, image_url: this.getAttribute("image") || undefined } : null });
        });
      }
      widget.view.trackInline(this, true);
      this.render(widget.view.buttonState());
    }

    disconnectedCallback() {
      widget.view.trackInline(this, false);
    }

    /** @param {{mode: string, label: string, text: string, state: string}} s */
    render(s) {
      const root = this.shadowRoot;
      if (!root) return;
      const btn = root.querySelector("button");
      btn.dataset.mode = s.mode;
      root.querySelector('[data-el="label"]').textContent = s.label;
      root.querySelector('[data-el="icon"]').innerHTML = s.mode === "callback" ? icons.phone : icons.video;
      root.querySelector('[data-el="text"]').textContent = s.text;
      root.querySelector(".inline-avail").dataset.state = s.state;
    }
  }
  customElements.define("shopcall-button", ShopCallButton);
}
