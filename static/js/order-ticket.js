// Order ticket: shows the fields a type needs, steps prices on the KRX tick grid, sizes quantities from what the
// account allows (fees included), never changes a price the user typed, and confirms side, quantity, price and
// total in a dialog before anything is sent (docs/architecture.md §2–3, §15). Runs under the CSP: data comes from data-*.
(function () {
  "use strict";
  // Django's JavaScript catalog (/jsi18n/) defines these; the fallbacks keep the ticket working in English without it.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((one, many, count) => (count === 1 ? one : many));
  const fmt = window.interpolate || ((text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => values[key]));
  const TICKS = [[2000, 1], [5000, 5], [20000, 10], [50000, 50], [200000, 100], [500000, 500]];
  const PRESETS = ["0.1", "0.25", "0.5", "1"];

  function tickSize(price) {
    for (const [bound, tick] of TICKS) if (price < bound) return tick;
    return 1000;
  }
  function onGrid(price) {
    return Number.isInteger(price) && price >= 1 && price % tickSize(price) === 0;
  }
  // A decimal rate from a data attribute ("0.00015") as an exact fraction, so fees round down like the server's.
  function fraction(text) {
    const [whole, decimals = ""] = String(text || "0").trim().split(".");
    const denominator = 10 ** decimals.length;
    return [Number(whole) * denominator + Number(decimals || 0), denominator];
  }
  function fee(value, rate) {
    const [numerator, denominator] = fraction(rate);
    return Math.floor((value * numerator) / denominator);
  }
  // Arrow keys and the −/+ buttons move to the next valid price, across tick-size bounds (49,950 <-> 50,000).
  function stepPrice(input, up) {
    const price = Math.max(0, Math.trunc(Number(input.value)) || 0);
    const tick = tickSize(up ? price : Math.max(1, price - 1));
    const next = up ? Math.floor(price / tick) * tick + tick : Math.ceil(price / tick) * tick - tick;
    if (next >= 1) input.value = next;
  }
  function field(form, name) {
    return form.querySelector(`[name=${name}]`);
  }
  function state(form) {
    const type = field(form, "order_type").value;
    const side = (form.querySelector("[name=side]:checked") || {}).value || "BUY";
    const usesLimit = type === "LIMIT" || type === "STOP_LIMIT";
    const usesStop = type === "STOP" || type === "STOP_LIMIT";
    const quantity = Math.max(0, Math.trunc(Number(field(form, "quantity").value) || 0));
    const last = Number(form.dataset.lastPrice) || 0;
    const limit = Number(field(form, "limit_price").value) || 0;
    const stop = Number(field(form, "stop_price").value) || 0;
    const price = usesLimit ? limit : usesStop ? stop : last;
    return { type, side, usesLimit, usesStop, quantity, last, limit, stop, price };
  }
  function costs(form, s, quantity) {
    const value = s.price * quantity;
    const commission = fee(value, form.dataset.commissionRate);
    const tax = s.side === "SELL" ? fee(value, form.dataset.sellTaxRate) : 0;
    return { commission, tax, total: s.side === "SELL" ? value - commission - tax : value + commission };
  }
  // The price a buy reserves cash at (trading/rules.py): its limit, or the market or stop price plus the buffer.
  function reservationPrice(form, s) {
    if (s.type === "LIMIT" || s.type === "STOP_LIMIT") return s.limit;
    const base = s.type === "STOP" ? s.stop : s.last;
    if (!base) return 0;
    const [numerator, denominator] = fraction(form.dataset.buffer);
    const buffered = (base * (denominator + numerator)) / denominator;
    const tick = tickSize(buffered);
    return Math.ceil(buffered / tick - 1e-9) * tick;
  }
  function presetQuantity(form, share) {
    const s = state(form);
    const [numerator, denominator] = fraction(share);
    if (s.side === "SELL") {
      const shares = Number((form.querySelector("[data-available-quantity]") || {}).dataset?.availableQuantity) || 0;
      return Math.floor((shares * numerator) / denominator);
    }
    const cash = Math.floor(Number((form.querySelector("[data-available-cash]") || {}).dataset?.availableCash) || 0);
    const budget = Math.floor((cash * numerator) / denominator);
    const price = reservationPrice(form, s);
    if (!price || price < 1) return 0;
    let quantity = Math.floor(budget / price);
    const needs = (q) => price * q + fee(price * q, form.dataset.commissionRate);
    while (quantity > 0 && needs(quantity) > budget) quantity -= 1; // the commission on top must fit too
    return quantity;
  }
  // An off-grid price is never changed for the user: the ticket offers the valid prices either side of it.
  function checkGrid(form, show) {
    let offGrid = false;
    form.querySelectorAll(".price-field").forEach((box) => {
      const input = box.querySelector("input");
      const choice = box.querySelector("[data-testid=tick-choice]");
      const price = Number(input.value);
      const bad = !box.hidden && input.value !== "" && price >= 1 && !onGrid(price);
      offGrid = offGrid || bad;
      input.setAttribute("aria-invalid", bad ? "true" : "false");
      if (!bad) {
        choice.hidden = true;
        return;
      }
      if (!show && choice.hidden) return;
      const tick = tickSize(price);
      const lower = Math.floor(price / tick) * tick;
      const upper = Math.ceil(price / tick) * tick;
      choice.querySelector("[data-tick-text]").textContent = fmt(
        gettext("%(price)s is not a valid price (ticks of %(tick)s here). Choose one:"),
        { price: window.StocKing.number(price), tick: window.StocKing.won(tick) },
        true,
      );
      const down = choice.querySelector("[data-pick=down]");
      const up = choice.querySelector("[data-pick=up]");
      down.hidden = lower < 1;
      down.dataset.price = lower;
      down.textContent = window.StocKing.won(lower);
      up.dataset.price = upper;
      up.textContent = window.StocKing.won(upper);
      choice.hidden = false;
    });
    form.querySelector("[data-testid=place-order]").disabled = offGrid;
    return !offGrid;
  }
  function refresh(form) {
    const s = state(form);
    form.querySelector("[data-for=limit]").hidden = !s.usesLimit;
    form.querySelector("[data-for=stop]").hidden = !s.usesStop;
    form.classList.toggle("selling", s.side === "SELL");
    const { commission, tax, total } = costs(form, s, s.quantity);
    // A stop the market has already crossed triggers as soon as it is placed (docs/architecture.md §2–3): say so.
    const crossed = s.usesStop && s.stop && s.last && (s.side === "BUY" ? s.last >= s.stop : s.last <= s.stop);
    form.querySelector("[data-testid=stop-crossed]").hidden = !crossed;
    form.querySelector("[data-testid=estimate-label]").textContent = estimateLabel(s.side);
    form.querySelector("[data-testid=estimate]").textContent = s.price ? window.StocKing.won(total) : "–";
    form.querySelector("[data-testid=fees]").textContent = s.price ? window.StocKing.won(commission + tax) : "–";
    checkGrid(form, false);
  }
  function estimateLabel(side) {
    return side === "SELL" ? gettext("Estimated proceeds") : gettext("Estimated cost");
  }
  function describePrice(s) {
    const won = window.StocKing.won;
    if (s.type === "MARKET") return fmt(gettext("Market price (now %(price)s)"), { price: won(s.last) }, true);
    if (s.type === "STOP") return fmt(gettext("Market price once %(stop)s is reached"), { stop: won(s.stop) }, true);
    if (s.type === "STOP_LIMIT") return fmt(gettext("%(limit)s once %(stop)s is reached"), { limit: won(s.limit), stop: won(s.stop) }, true);
    return won(s.limit);
  }
  function openConfirm(form, issueRequest) {
    const s = state(form);
    const dialog = form.querySelector("[data-testid=order-confirm]");
    const set = (key, text) => {
      dialog.querySelector(`[data-confirm=${key}]`).textContent = text;
    };
    const sideLabel = form.querySelector("[name=side]:checked + span");
    const typeSelect = field(form, "order_type");
    set("side", sideLabel ? sideLabel.textContent : s.side);
    set("type", typeSelect.options[typeSelect.selectedIndex].text);
    set("quantity", fmt(ngettext("%(count)s share", "%(count)s shares", s.quantity), { count: window.StocKing.number(s.quantity) }, true));
    set("price", describePrice(s));
    set("total-label", estimateLabel(s.side));
    set("total", s.price ? window.StocKing.won(costs(form, s, s.quantity).total) : "–");
    dialog.classList.toggle("selling", s.side === "SELL");
    form._pendingRequest = issueRequest;
    dialog.showModal();
    dialog.querySelector("[data-confirm-action=place]").focus();
  }
  function init(root) {
    root.querySelectorAll("form.order-ticket").forEach((form) => {
      if (form.dataset.ready) return;
      form.dataset.ready = "1";
      const limit = field(form, "limit_price");
      if (!limit.value && form.dataset.lastPrice) limit.value = Math.trunc(Number(form.dataset.lastPrice));
      form.addEventListener("input", () => refresh(form));
      form.querySelectorAll("[name=limit_price], [name=stop_price]").forEach((input) => {
        input.min = "0"; // the step base: with min=1 the browser steps 98,800 to 98,801
        input.addEventListener("keydown", (event) => {
          if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
          event.preventDefault();
          stepPrice(input, event.key === "ArrowUp");
          refresh(form);
        });
      });
      form.addEventListener("change", (event) => {
        refresh(form);
        if (event.target.name === "limit_price" || event.target.name === "stop_price") checkGrid(form, true);
      });
      form.addEventListener("click", (event) => {
        const button = event.target.closest("button[type=button]");
        if (!button || !form.contains(button)) return;
        const box = button.closest(".price-field");
        if (button.dataset.step && box) {
          stepPrice(box.querySelector("input"), button.dataset.step === "up");
        } else if (button.dataset.pick && box) {
          box.querySelector("input").value = button.dataset.price;
          box.querySelector("input").focus();
        } else if (button.dataset.fraction && PRESETS.includes(button.dataset.fraction)) {
          field(form, "quantity").value = presetQuantity(form, button.dataset.fraction);
        } else if (button.dataset.confirmAction) {
          const dialog = button.closest("dialog");
          const issueRequest = form._pendingRequest;
          form._pendingRequest = null;
          dialog.close();
          if (button.dataset.confirmAction === "place" && issueRequest) {
            // the last order's result is not this one's: gone until the server answers for the new order
            form.querySelectorAll("[data-testid=order-result], [data-testid=order-error]").forEach((old) => old.remove());
            issueRequest(true);
          }
          return;
        } else {
          return;
        }
        refresh(form);
      });
      form.querySelector("[data-testid=order-confirm]").addEventListener("close", () => {
        form._pendingRequest = null;
      });
      refresh(form);
      checkGrid(form, true);
    });
  }
  // Nothing is sent before the user has seen the order in words and pressed 확인; never with an off-grid price.
  document.addEventListener("htmx:confirm", (event) => {
    const form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form.order-ticket")) return;
    event.preventDefault();
    refresh(form);
    if (!checkGrid(form, true)) {
      const pick = form.querySelector("[data-testid=tick-choice]:not([hidden]) [data-pick]:not([hidden])");
      if (pick) pick.focus();
      return;
    }
    openConfirm(form, event.detail.issueRequest);
  });
  // live prices keep the estimate for market orders current
  document.addEventListener("stocking:tick", (event) => {
    document.querySelectorAll(`form.order-ticket[data-code="${event.detail.code}"]`).forEach((form) => {
      form.dataset.lastPrice = event.detail.price;
      refresh(form);
    });
  });
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:afterSwap", (event) => init(event.target));
})();
