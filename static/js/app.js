// Small helpers shared by every page. Live features attach themselves per page.
(function () {
  "use strict";
  const wonFormat = new Intl.NumberFormat("ko-KR");
  window.StocKing = {
    won(value) { return value == null ? "–" : wonFormat.format(Math.trunc(Number(value))) + "원"; },
    number(value) { return value == null ? "–" : wonFormat.format(Number(value)); },
  };
})();
