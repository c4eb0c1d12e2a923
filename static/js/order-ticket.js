// Order ticket: shows the fields a type needs, steps prices on the KRX tick grid, estimates cost with fees.
(function () {
  "use strict";
  const TICKS = [[2000, 1], [5000, 5], [20000, 10], [50000, 50], [200000, 100], [500000, 500]];
  function tickSize(price) {
    for (const [bound, tick] of TICKS) if (price < bound) return tick;
    return 1000;
  }
  function snap(input) {
    const value = Number(input.value);
    if (!value || value < 1) return;
    const tick = tickSize(value);
    const snapped = Math.round(value / tick) * tick;
    if (snapped !== value) input.value = snapped;
    input.step = tickSize(snapped); // the spinner steps from the grid the price is on now
  }
  // Arrow keys move to the next valid price, across tick-size bounds (49,950 <-> 50,000).
  function stepPrice(input, up) {
    const price = Math.max(0, Number(input.value) || 0);
    const tick = tickSize(up ? price : Math.max(1, price - 1));
    const next = up ? Math.floor(price / tick) * tick + tick : Math.ceil(price / tick) * tick - tick;
    if (next >= 1) input.value = next;
    snap(input);
  }
  function refresh(form) {
    const type = form.querySelector("[name=order_type]").value;
    const side = (form.querySelector("[name=side]:checked") || {}).value || "BUY";
    form.querySelector("[data-for=limit]").hidden = !(type === "LIMIT" || type === "STOP_LIMIT");
    form.querySelector("[data-for=stop]").hidden = !(type === "STOP" || type === "STOP_LIMIT");
    form.classList.toggle("selling", side === "SELL");
    const qty = Math.max(0, Math.trunc(Number(form.querySelector("[name=quantity]").value) || 0));
    const last = Number(form.dataset.lastPrice) || 0;
    const limit = Number(form.querySelector("[name=limit_price]").value) || 0;
    const stop = Number(form.querySelector("[name=stop_price]").value) || 0;
    const price = type === "LIMIT" || type === "STOP_LIMIT" ? limit : type === "STOP" ? stop : last;
    const value = price * qty;
    const commission = Math.floor(value * Number(form.dataset.commissionRate));
    const tax = side === "SELL" ? Math.floor(value * Number(form.dataset.sellTaxRate)) : 0;
    const estimate = side === "SELL" ? value - commission - tax : value + commission;
    // A stop the market has already crossed triggers as soon as it is placed (DESIGN.md §6): say so.
    const crossed = (type === "STOP" || type === "STOP_LIMIT") && stop && last && (side === "BUY" ? last >= stop : last <= stop);
    form.querySelector("[data-testid=stop-crossed]").hidden = !crossed;
    form.querySelector("[data-testid=estimate-label]").textContent = side === "SELL" ? "Estimated proceeds" : "Estimated cost";
    form.querySelector("[data-testid=estimate]").textContent = price ? window.StocKing.won(estimate) : "–";
    form.querySelector("[data-testid=fees]").textContent = price ? window.StocKing.won(commission + tax) : "–";
  }
  function init(root) {
    root.querySelectorAll("form.order-ticket").forEach((form) => {
      if (form.dataset.ready) return;
      form.dataset.ready = "1";
      const limit = form.querySelector("[name=limit_price]");
      if (!limit.value && form.dataset.lastPrice) limit.value = Math.trunc(Number(form.dataset.lastPrice));
      form.addEventListener("input", () => refresh(form));
      form.querySelectorAll("[name=limit_price], [name=stop_price]").forEach((input) => {
        input.min = "0"; // the step base: with min=1 the browser steps 98,800 to 98,801, snapped back
        input.addEventListener("keydown", (event) => {
          if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
          event.preventDefault();
          stepPrice(input, event.key === "ArrowUp");
          refresh(form);
        });
      });
      form.addEventListener("change", (event) => {
        if (event.target.name === "limit_price" || event.target.name === "stop_price") snap(event.target);
        refresh(form);
      });
      [limit, form.querySelector("[name=stop_price]")].forEach((input) => input.value && snap(input));
      refresh(form);
    });
  }
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
