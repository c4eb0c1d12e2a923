// /ws/account/: order updates and balance changes for the logged-in user. Shows a toast for fills and
// tells htmx parts of the page to refresh ("account-changed"). Resumes from the last seq after a drop.
(function () {
  "use strict";
  // gettext/interpolate: the JavaScript catalog (/jsi18n/), loaded by base.html before this script.
  const t = (template, d, extra) =>
    interpolate(template, { quantity: d.quantity, stock: d.stock_name, reason: reason(d.reason), ...extra }, true);
  const buy = (d) => d.side === "BUY";
  // The reasons trading/services.py stores in English, shown in the page's language (stocking/templatetags/stored_text.py
  // does the same for pages); anything else is shown as sent.
  const REASONS = {
    "canceled by you": pgettext("order reason", "canceled by you"),
    "replaced (정정)": pgettext("order reason", "replaced (정정)"),
    "account reset": pgettext("order reason", "account reset"),
    "day order ended": pgettext("order reason", "day order ended"),
    "IOC: nothing more fills now": pgettext("order reason", "IOC: nothing more fills now"),
    "FOK: nothing more fills now": pgettext("order reason", "FOK: nothing more fills now"),
    "FOK: the whole quantity cannot fill now": pgettext("order reason", "FOK: the whole quantity cannot fill now"),
    "market order: no more volume at this price": pgettext("order reason", "market order: no more volume at this price"),
    "not enough cash for the fill at current fees": pgettext("order reason", "not enough cash for the fill at current fees"),
    "not enough cash when the stop triggered": pgettext("order reason", "not enough cash when the stop triggered"),
  };
  const reason = (text) => REASONS[text] || text;
  const TOAST = {
    "order.filled": (d) => {
      const values = { quantity: d.execution.quantity, price: window.StocKing.won(d.execution.price) };
      return buy(d)
        ? t(gettext("Filled: bought %(quantity)s %(stock)s at %(price)s"), d, values)
        : t(gettext("Filled: sold %(quantity)s %(stock)s at %(price)s"), d, values);
    },
    "order.partially_filled": (d) =>
      t(gettext("Partly filled: %(filled)s/%(quantity)s %(stock)s at %(price)s"), d, {
        filled: d.filled_quantity,
        price: window.StocKing.won(d.execution.price),
      }),
    "order.canceled": (d) =>
      (buy(d) ? t(gettext("Canceled: buy %(quantity)s %(stock)s"), d) : t(gettext("Canceled: sell %(quantity)s %(stock)s"), d)) +
      (d.reason ? ` (${reason(d.reason)})` : ""),
    "order.expired": (d) =>
      buy(d) ? t(gettext("Expired: buy %(quantity)s %(stock)s"), d) : t(gettext("Expired: sell %(quantity)s %(stock)s"), d),
    "order.rejected": (d) =>
      buy(d)
        ? t(gettext("Rejected: buy %(quantity)s %(stock)s — %(reason)s"), d)
        : t(gettext("Rejected: sell %(quantity)s %(stock)s — %(reason)s"), d),
  };
  // What the page was rendered from: events after it, even those before the socket's hello, are replayed.
  let lastSeq = document.body.dataset.accountSeq ? Number(document.body.dataset.accountSeq) : null;
  let accountId = document.body.dataset.accountId ? Number(document.body.dataset.accountId) : null;
  let delay = 500;
  // Close codes of kernel/consumers.py.
  const CLOSE_UNAUTHENTICATED = 4401; // log in again; never retry with the same session or token
  const CLOSE_TOO_MANY_SOCKETS = 4429; // this user or address has too many sockets open: retry much later

  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    const item = document.createElement("div");
    item.className = "toast " + kind;
    item.setAttribute("role", "status");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  }

  function handle(message) {
    if (message.type === "hello") {
      document.body.dataset.accountStream = "live";
      if (accountId === message.account_id && lastSeq !== null && message.last_seq > lastSeq) {
        return { action: "resume", after_seq: lastSeq }; // missed since the render or the last drop
      }
      accountId = message.account_id; // a reset since the render: start from the new account's now
      lastSeq = message.last_seq;
      return null;
    }
    if (message.type !== "event") return null;
    if (message.account_id > accountId) { accountId = message.account_id; lastSeq = 0; } // a reset opened it
    if (message.account_id !== accountId) return null;
    if (lastSeq !== null && message.seq <= lastSeq) return null; // already seen (resume overlap)
    if (lastSeq !== null && message.seq > lastSeq + 1) return { action: "resume", after_seq: lastSeq };
    lastSeq = message.seq;
    const make = TOAST[message.event];
    if (make) toast(make(message.data), message.event.replace(".", "-"));
    document.body.dispatchEvent(new CustomEvent("account-changed", { detail: message }));
    return null;
  }

  function connect() {
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/account/`);
    socket.onopen = () => { delay = 500; };
    socket.onmessage = (event) => {
      const reply = handle(JSON.parse(event.data));
      if (reply) socket.send(JSON.stringify(reply));
    };
    socket.onclose = (event) => {
      delete document.body.dataset.accountStream;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        // The session behind the socket ended (logout, expiry): reconnecting would only be refused again.
        window.location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      setTimeout(connect, event.code === CLOSE_TOO_MANY_SOCKETS ? 60000 : delay);
      delay = Math.min(delay * 2, 15000);
    };
  }
  if (document.body.dataset.authenticated === "true") connect();
})();
