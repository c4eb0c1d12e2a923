// Live prices over /ws/prices/ for every page that shows them (market list, stock page, watchlists).
//
// Markup it fills (rescanned after every htmx swap):
//   data-live-code="A005930" data-live-field="price|change|change_pct|volume|open|high|low|prev_close"
//   data-price-for="A005930"      price and day change in one cell (watchlists)
//   data-live-row="A005930"       flashes red (up) or blue (down) when the price moves
//   data-live-status              the source's name (모의 시세 for the simulator) / "reconnecting…"; the green
//                                 dot (class "live") only when data-source-live="true" (a real feed)
//   data-live-field="points|points_change" on KOSPI / KOSDAQ (index values: points with two decimals)
//   data-price-age                 (stocking/templatetags/prices.py) 지연 N분 once the price is older than
//                                  data-stale-after seconds: the same moment the API's is_stale turns true
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
  const CODE = /^(A[0-9A-Z]{6}|KOSPI|KOSDAQ)$/; // stock codes, and the indices the server follows like codes
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

  const pointsFormat = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const points = (v) => (v == null ? "–" : pointsFormat.format(Number(v)));

  function pointsChangeSpan(tick) {
    const span = document.createElement("span");
    if (tick.change == null) {
      span.textContent = "–";
      return span;
    }
    const change = Number(tick.change);
    const text = points(Math.abs(change)) === "0.00" ? "0.00" : (change > 0 ? "+" : "-") + points(Math.abs(change));
    span.textContent = `${text} (${S.signedPct(tick.change_pct)})`;
    const dir = direction(change);
    if (dir) span.className = dir;
    return span;
  }

  // --- how old each price is (data-price-age) ---------------------------------------------------
  // The server renders when the price it shows was received (data-received-at, epoch ms) and its own
  // clock (data-server-now), so the browser's clock does not matter. A tick pushed by the server is
  // new unless it carries the same exchange time as the rendered price (the socket first resends
  // the stored price of each code it subscribes to: that is not a new price).
  function ageState(el) {
    if (!el.__age) {
      const serverNow = Number(el.dataset.serverNow);
      el.__age = { offset: Number.isFinite(serverNow) && serverNow ? serverNow - Date.now() : 0 };
    }
    return el.__age;
  }

  function delayLabel(ageMs) {
    const seconds = Math.max(0, Math.floor(ageMs / 1000));
    if (seconds < 60) return interpolate(gettext("Delayed %(seconds)s s"), { seconds }, true);
    if (seconds < 3600) return interpolate(gettext("Delayed %(minutes)s min"), { minutes: Math.floor(seconds / 60) }, true);
    return interpolate(gettext("Delayed %(hours)s h"), { hours: Math.floor(seconds / 3600) }, true);
  }

  function paintAge(el) {
    const receivedAt = Number(el.dataset.receivedAt);
    if (!receivedAt) return;
    const age = Date.now() + ageState(el).offset - receivedAt;
    const stale = age > Number(el.dataset.staleAfter || 60) * 1000; // is_stale: older than PRICE_STALE_SECONDS
    el.classList.toggle("stale", stale);
    el.hidden = !stale;
    el.textContent = stale ? delayLabel(age) : "";
  }

  function paintAges() {
    document.querySelectorAll("[data-price-age]").forEach(paintAge);
    updateStatus();
  }

  function tickArrived(tick) {
    document.querySelectorAll(`[data-price-age][data-code="${tick.code}"]`).forEach((el) => {
      if (tick.dt && tick.dt === el.dataset.dt) return; // the stored price again, not a new one
      const when = Date.parse(tick.dt || "");
      const now = Date.now() + ageState(el).offset;
      // A price the server had not rendered: as old as its exchange time when that is already past stale.
      const stale = Number(el.dataset.staleAfter || 60) * 1000;
      el.dataset.receivedAt = String(!el.dataset.dt && Number.isFinite(when) && now - when > stale ? when : now);
      el.dataset.dt = tick.dt || "";
      paintAge(el);
    });
  }

  function paintField(el, tick) {
    const field = el.dataset.liveField;
    if (field === "points") {
      el.textContent = points(tick.price);
    } else if (field === "points_change") {
      el.replaceChildren(pointsChangeSpan(tick));
    } else if (field === "change" || field === "change_pct") {
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
  let connected = false;

  // The dot is green ("live") only for a real feed whose price on this page is fresh; a stale price says
  // 지연 N분 instead, and simulated prices never get the live dot.
  function updateStatus() {
    document.querySelectorAll("[data-live-status]").forEach((el) => {
      const age = el.dataset.statusFor
        ? document.querySelector(`[data-price-age][data-code="${el.dataset.statusFor}"]`)
        : null;
      const stale = !!age && age.classList.contains("stale");
      if (connected) el.textContent = stale ? age.textContent : connectedLabel();
      el.classList.toggle("stale", connected && stale);
      el.classList.toggle("live", connected && !stale && el.dataset.sourceLive === "true");
    });
  }

  function setStatus(text, live) {
    connected = !!live;
    document.querySelectorAll("[data-live-status]").forEach((el) => {
      el.textContent = text;
    });
    updateStatus();
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
    paintAges();
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
        tickArrived(tick);
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
  setInterval(paintAges, 1000);

  S.livePrices = { scan, latest: (code) => latest.get(code) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
