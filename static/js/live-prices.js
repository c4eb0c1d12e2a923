// Live prices over /ws/prices/ for every page that shows them (market list, stock page, watchlists).
//
// Markup it fills (rescanned after every htmx swap):
//   data-live-code="A005930" data-live-field="price|change|change_pct|volume|open|high|low|prev_close"
//   data-price-for="A005930"      price and day change in one cell (watchlists)
//   data-live-row="A005930"       flashes red (up) or blue (down) when the price moves
//   data-live-status              "live" / "reconnecting…"
// Every tick is also dispatched as a `stocking:tick` event on document (detail = the tick message),
// and `prices-moved` on body at most every 2 s (the last tick of a burst included) for parts of a
// page the server values, such as the portfolio (hx-trigger="prices-moved from:body").
// One socket per page; reconnects with backoff and resubscribes. DOM updates are batched per
// animation frame, newest tick per code only, like the server's conflation.
(function () {
  "use strict";
  const S = (window.StocKing = window.StocKing || {});
  if (S.livePrices) {
    // loaded again by an htmx swap: just pick up the new elements
    S.livePrices.scan();
    return;
  }

  const MAX_CODES = 200; // the server's per-socket limit
  const CHUNK = 100;
  const CODE = /^A[0-9A-Z]{6}$/;
  const latest = new Map(); // code -> newest tick message
  const rendered = new Map(); // code -> price last painted (for the flash direction)
  const dirty = new Set();
  let wanted = new Set();
  let subscribed = new Set();
  let socket = null;
  let attempt = 0;
  let frame = 0;
  let retryTimer = 0;

  const MOVED_EVERY_MS = 2000;
  let movedTimer = 0;
  let movedAt = 0;
  const won = (v) => S.won(v); // app.js: the one won format
  const signed = (v, text) => (v > 0 ? "+" : "") + text;
  const direction = (v) => (v > 0 ? "up" : v < 0 ? "down" : "");

  function changeSpan(tick, withAmount) {
    const span = document.createElement("span");
    if (tick.change == null) {
      span.textContent = "–";
      return span;
    }
    const pct = tick.change_pct == null ? "" : S.signedPct(tick.change_pct);
    span.textContent = withAmount ? `${signed(tick.change, won(tick.change))} (${pct})` : pct;
    const dir = direction(tick.change);
    if (dir) span.className = dir;
    return span;
  }

  function paintField(el, tick) {
    const field = el.dataset.liveField;
    if (field === "change" || field === "change_pct") {
      el.replaceChildren(changeSpan(tick, field === "change"));
    } else if (field === "volume") {
      el.textContent = S.number(tick.volume);
    } else {
      el.textContent = won(tick[field]);
    }
  }

  function paintPriceCell(el, tick) {
    const price = document.createElement("span");
    price.className = "live-price";
    price.textContent = won(tick.price);
    const change = changeSpan(tick, false);
    change.classList.add("small");
    el.replaceChildren(price, document.createTextNode(" "), change);
  }

  function flash(el, dir) {
    el.classList.remove("flash-up", "flash-down");
    void el.offsetWidth; // restart the animation
    el.classList.add(dir === "up" ? "flash-up" : "flash-down");
  }

  function paint(code, root) {
    const tick = latest.get(code);
    if (!tick) return;
    const scope = root || document;
    scope.querySelectorAll(`[data-live-code="${code}"][data-live-field]`).forEach((el) => paintField(el, tick));
    scope.querySelectorAll(`[data-price-for="${code}"]`).forEach((el) => paintPriceCell(el, tick));
    const before = rendered.get(code);
    rendered.set(code, tick.price);
    if (!root && before != null && before !== tick.price) {
      const dir = tick.price > before ? "up" : "down";
      document.querySelectorAll(`[data-live-row="${code}"]`).forEach((el) => flash(el, dir));
    }
  }

  function pricesMoved() {
    if (movedTimer) return; // one is already due: it will carry this tick too
    const wait = Math.max(0, movedAt + MOVED_EVERY_MS - Date.now());
    movedTimer = setTimeout(() => {
      movedTimer = 0;
      movedAt = Date.now();
      document.body.dispatchEvent(new CustomEvent("prices-moved"));
    }, wait);
  }

  function paintDirty() {
    frame = 0;
    for (const code of dirty) paint(code);
    dirty.clear();
  }

  // The template names the connected state (모의 시세 for simulated prices: never called "live").
  const connectedLabel = () =>
    document.querySelector("[data-live-status]")?.dataset.connectedLabel || gettext("Connected");

  function setStatus(text, live) {
    document.querySelectorAll("[data-live-status]").forEach((el) => {
      el.textContent = text;
      el.classList.toggle("live", !!live);
    });
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function sendCodes(action, codes) {
    // batch: the server sends what is pending as one {"type": "ticks"} frame, at most 20 a second
    for (let i = 0; i < codes.length; i += CHUNK) {
      const message = { action, codes: codes.slice(i, i + CHUNK) };
      if (action === "subscribe") message.batch = true;
      send(message);
    }
  }

  function sync() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const add = [...wanted].filter((c) => !subscribed.has(c));
    const drop = [...subscribed].filter((c) => !wanted.has(c));
    if (drop.length) sendCodes("unsubscribe", drop);
    if (add.length) sendCodes("subscribe", add);
    subscribed = new Set(wanted);
  }

  function scan() {
    const codes = new Set();
    document.querySelectorAll("[data-live-code], [data-price-for], [data-live-row]").forEach((el) => {
      const code = el.dataset.liveCode || el.dataset.priceFor || el.dataset.liveRow;
      if (CODE.test(code)) codes.add(code);
    });
    wanted = new Set([...codes].slice(0, MAX_CODES));
    if (codes.size > MAX_CODES) console.warn(`live prices: following the first ${MAX_CODES} of ${codes.size} codes`);
    for (const code of wanted) if (latest.has(code)) paint(code, document); // new cells: paint what we know
    if (wanted.size && !socket) connect();
    sync();
  }

  function onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (message.type === "tick" || message.type === "ticks") {
      for (const tick of message.type === "ticks" ? message.ticks : [message]) {
        latest.set(tick.code, tick);
        dirty.add(tick.code);
        document.dispatchEvent(new CustomEvent("stocking:tick", { detail: tick }));
      }
      if (!frame) frame = requestAnimationFrame(paintDirty);
      pricesMoved();
    } else if (message.type === "subscribed") {
      attempt = 0;
      setStatus(connectedLabel(), true);
    } else if (message.type === "error") {
      console.warn("live prices:", message.code, message.message);
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/prices/");
    socket.addEventListener("open", () => {
      subscribed = new Set();
      sync();
      if (!wanted.size) setStatus(connectedLabel(), true);
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", () => {
      socket = null;
      subscribed = new Set();
      setStatus(gettext("Reconnecting…"), false);
      // exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 30 s
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt = Math.min(attempt + 1, 10);
      retryTimer = setTimeout(connect, delay);
    });
  }

  // Paint as soon as the tab is visible again: animation frames do not run in hidden tabs.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && dirty.size) paintDirty();
  });
  document.addEventListener("htmx:afterSettle", scan);

  S.livePrices = { scan, latest: (code) => latest.get(code) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
