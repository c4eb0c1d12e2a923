// Small helpers shared by every page. Live features attach themselves per page.
// No inline scripts or event handlers anywhere: the Content-Security-Policy allows only script files from 'self'.
(function () {
  "use strict";
  const wonFormat = new Intl.NumberFormat("ko-KR");
  window.StocKing = {
    won(value) { return value == null ? "–" : wonFormat.format(Math.trunc(Number(value))) + "원"; },
    number(value) { return value == null ? "–" : wonFormat.format(Number(value)); },
    // "+1.23%", "-0.50%", and "0.00%" for anything that rounds to zero (never "-0.00%"), as the money filters do.
    signedPct(value) {
      if (value == null) return "–";
      const number = Number(value);
      const digits = Math.abs(number).toFixed(2);
      if (digits === "0.00") return "0.00%";
      return (number > 0 ? "+" : "-") + digits + "%";
    },
  };

  // The small-screen menu button (deferred script: the header is parsed by now).
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
})();
