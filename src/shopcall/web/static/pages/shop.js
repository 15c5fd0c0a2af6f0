// Script of pages/shop.html, the demo merchant's own page code: products, cart and a demo "signed in
// customer" switch. The video calls are the ShopCall widget (the <script src="/widget.js"> tag), which this
// page only feeds with context (ShopCall.setContext) and listens to (ShopCall.on), as any merchant would.
import { icons, esc } from "/static/components/icons.js";
import { el, money, showToast } from "/static/pages/ui.js";

const $ = (sel) => document.querySelector(sel);
const els = (name) => [...document.querySelectorAll(`[data-el="${name}"]`)];
for (const n of document.querySelectorAll("[data-icon]")) n.outerHTML = icons[n.dataset.icon] || "";

// ------------------------------------------------------------------ products
let products = [];
let product = null;

async function loadProducts() {
  try {
    const res = await fetch("/demo/api/products", { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    products = await res.json();
    if (!Array.isArray(products) || !products.length) throw new Error("no products");
  } catch (err) {
    el("title").textContent = "Products unavailable";
    el("desc").innerHTML = `<span class="load-error">We couldn’t load the product list (${esc(err.message)}). Please reload the page.</span>`;
    el("price").textContent = "";
    return;
  }
  const sku = new URLSearchParams(location.search).get("sku");
  showProduct(products.find((p) => p.sku === sku) || products[0], false);
  renderSwitcher();
  renderNav();
}

function showProduct(p, push = true) {
  product = p;
  document.title = `${p.title} — Nordlys Audio`;
  el("title").textContent = p.title;
  el("category").textContent = p.category || "Nordlys";
  el("crumbCat").textContent = p.category || "Shop";
  el("crumbTitle").textContent = p.title;
  el("price").textContent = money(p.price, p.currency);
  el("desc").textContent = p.description || "";
  el("mainImg").src = p.image_url;
  el("mainImg").alt = p.title;
  for (const t of els("thumb")) t.src = p.image_url;
  el("tag").textContent = products.indexOf(p) === 0 ? "Bestseller" : "New";
  const seed = [...p.sku].reduce((a, c) => a + c.charCodeAt(0), 0);
  el("rating").textContent = `${(4.5 + (seed % 5) / 10).toFixed(1)} · ${80 + (seed % 240)} reviews`;
  setView("main");
  shareContext();
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("sku", p.sku);
    history.pushState({ sku: p.sku }, "", url);
    window.scrollTo({ top: 0, behavior: "smooth" });
  }
  for (const a of document.querySelectorAll(".p-card")) {
    if (a.dataset.sku === p.sku) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function renderSwitcher() {
  el("count").textContent = `${products.length} products`;
  el("switcher").innerHTML = products
    .map(
      (p) => `<a class="p-card" href="?sku=${encodeURIComponent(p.sku)}" data-sku="${esc(p.sku)}" data-testid="product-${esc(p.sku)}"${p === product ? ' aria-current="page"' : ""}>
        <span class="img"><img src="${esc(p.image_url)}" alt="" loading="lazy"></span>
        <span class="t">${esc(p.title)}</span><span class="p">${esc(money(p.price, p.currency))}</span></a>`,
    )
    .join("");
}

function renderNav() {
  const cats = [...new Set(products.map((p) => p.category).filter(Boolean))].slice(0, 5);
  el("nav").innerHTML = cats
    .map((c) => {
      const first = products.find((p) => p.category === c);
      return `<a href="?sku=${encodeURIComponent(first.sku)}" data-sku="${esc(first.sku)}">${esc(c)}</a>`;
    })
    .join("");
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-sku]");
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const p = products.find((x) => x.sku === a.dataset.sku);
  if (!p) return;
  e.preventDefault();
  showProduct(p);
});
window.addEventListener("popstate", () => {
  const sku = new URLSearchParams(location.search).get("sku");
  const p = products.find((x) => x.sku === sku) || products[0];
  if (p) showProduct(p, false);
});

function setView(view) {
  $(".stage-img").dataset.view = view;
  for (const b of document.querySelectorAll(".thumb[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
}
for (const b of document.querySelectorAll(".thumb[data-view]")) b.addEventListener("click", () => setView(b.dataset.view));
for (const s of document.querySelectorAll(".swatch")) {
  s.addEventListener("click", () => {
    for (const o of document.querySelectorAll(".swatch")) o.setAttribute("aria-pressed", String(o === s));
    el("finish").textContent = s.getAttribute("aria-label");
  });
}

// ---------------------------------------------------------------------- cart
let qty = 1;
let cart = Number(sessionStorage.getItem("nordlys.cart") || 0);
let cartValue = Number(sessionStorage.getItem("nordlys.cartValue") || 0);
const renderCart = () => {
  const c = $('[data-testid="cart-count"]');
  c.textContent = String(cart);
  c.classList.toggle("has-items", cart > 0);
};
renderCart();
function addToCart(n, price, title) {
  cart += n;
  cartValue += n * (price || 0);
  sessionStorage.setItem("nordlys.cart", String(cart));
  sessionStorage.setItem("nordlys.cartValue", String(cartValue));
  renderCart();
  shareContext();
  toast(`${n} × ${title} added to your cart`);
}
for (const b of document.querySelectorAll("[data-qty]")) {
  b.addEventListener("click", () => {
    qty = Math.max(1, Math.min(9, qty + Number(b.dataset.qty)));
    el("qty").textContent = String(qty);
  });
}
$('[data-testid="add-to-cart"]').addEventListener("click", () => {
  if (product) addToCart(qty, product.price, product.title);
});

function toast(text, ms = 3200) {
  showToast(el("toasts"), text, { ms });
}

// ---------------------------------------------------------------------- the ShopCall widget
/** Run `fn(ShopCall)` once the widget's loader has run (it is an async script). */
function withShopCall(fn) {
  if (window.ShopCall) fn(window.ShopCall);
  else document.querySelector('script[src$="/widget.js"]').addEventListener("load", () => fn(window.ShopCall), { once: true });
}

/** Demo only: "sign in" as a demo customer; a real shop's server mints this token for its own customer. */
const customerSelect = el("customer");
let customerToken = null;
async function signIn(customer) {
  customerToken = null;
  if (customer) {
    const res = await fetch("/demo/api/shopper-token", { method: "POST", headers: { "Content-Type": "application/json" },
                                                        body: JSON.stringify({ customer }) });
    if (res.ok) customerToken = (await res.json()).token;
  }
  sessionStorage.setItem("nordlys.customer", customer || "");
  shareContext();
  customerSelect.dataset.signedIn = customerToken ? customer : "";
}
fetch("/demo/api/customers").then((r) => r.json()).then((list) => {
  for (const c of list) customerSelect.add(new Option(`${c.name} (${c.id})`, c.id));
  const saved = new URLSearchParams(location.search).get("customer") || sessionStorage.getItem("nordlys.customer");
  if (saved && list.some((c) => c.id === saved)) {
    customerSelect.value = saved;
    signIn(saved);
  }
}).catch(() => {});
customerSelect.addEventListener("change", () => signIn(customerSelect.value));

/** What the widget should know: the product on screen, the cart, the signed-in customer. */
function shareContext() {
  if (!product) return;
  withShopCall((sc) => sc.setContext({
    product: { sku: product.sku, title: product.title, price: product.price, currency: product.currency, image_url: product.image_url },
    cart: { items: cart, value: Math.round(cartValue * 100) / 100, currency: "EUR" },
    customerToken,
  }));
  const btn = el("callButton");
  btn.setAttribute("sku", product.sku);
  btn.setAttribute("title", product.title);
  btn.setAttribute("image", product.image_url);
}

withShopCall((sc) => {
  // a product card the expert showed in the call: into this shop's cart
  sc.on("add-to-cart", (item) => addToCart(item.quantity || 1, item.price, item.title));
});
$(".video-thumb").addEventListener("click", () => withShopCall((sc) => sc.open()));

loadProducts();
