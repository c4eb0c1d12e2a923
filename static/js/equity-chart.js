// Equity curves (docs/architecture.md §13): the account's cumulative time-weighted return against KOSPI's, and its drawdown.
// TradingView Lightweight Charts v5 (vendored); no inline script (CSP): data comes from
//   #equity-chart[data-history-url]   the dashboard: GET /api/v1/portfolio/history?period= (session), period
//                                     buttons [data-equity-period]; today's point is refetched at most every
//                                     2 s (prices-moved) after a held stock's or KOSPI's tick
//   [data-equity-source="<id>"]       the analytics and past-account pages: the server's JSON in
//                                     <script type="application/json" id="<id>">; data-chart-kind="return|drawdown"
// A held stock's tick also sends `held-prices-moved` on body, which refreshes the dashboard's server-valued cards.
(function () {
  "use strict";
  const LWC = window.LightweightCharts;
  if (!LWC) return;
  const style = getComputedStyle(document.documentElement);
  const UP = style.getPropertyValue("--up").trim() || "#f04452";
  const DOWN = style.getPropertyValue("--down").trim() || "#3182f6";
  const BENCHMARK = "#8b95a1";
  const pct = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });

  function newChart(el) {
    return LWC.createChart(el, {
      autoSize: true,
      layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#4e5968", fontSize: 12 },
      grid: { vertLines: { color: "#f2f4f6" }, horzLines: { color: "#f2f4f6" } },
      rightPriceScale: { borderColor: "#e5e8eb" },
      timeScale: { borderColor: "#e5e8eb" },
      localization: { locale: "ko-KR", priceFormatter: (p) => `${pct.format(Math.abs(p) < 0.005 ? 0 : p)}%` },
    });
  }

  const line = (points, field) =>
    points.filter((p) => p[field] !== null && p[field] !== undefined).map((p) => ({ time: p.date, value: Number(p[field]) }));

  function returnChart(el) {
    const chart = newChart(el);
    const benchmark = chart.addSeries(LWC.LineSeries, { color: BENCHMARK, lineWidth: 2, priceLineVisible: false });
    const account = chart.addSeries(LWC.LineSeries, { color: UP, lineWidth: 2 });
    return {
      draw(points) {
        const mine = line(points, "return_pct");
        const last = mine.length ? mine[mine.length - 1].value : 0;
        account.applyOptions({ color: last < 0 ? DOWN : UP });
        account.setData(mine);
        benchmark.setData(line(points, "benchmark_return_pct"));
        chart.timeScale().fitContent();
        el.dataset.points = String(mine.length);
      },
    };
  }

  function drawdownChart(el) {
    const chart = newChart(el);
    const series = chart.addSeries(LWC.AreaSeries, {
      lineColor: DOWN,
      topColor: "rgba(49, 130, 246, 0.05)",
      bottomColor: "rgba(49, 130, 246, 0.3)",
      lineWidth: 2,
    });
    return {
      draw(points) {
        const data = line(points, "drawdown_pct");
        series.setData(data);
        chart.timeScale().fitContent();
        el.dataset.points = String(data.length);
      },
    };
  }

  // Server-rendered pages
  document.querySelectorAll("[data-equity-source]").forEach((el) => {
    const source = document.getElementById(el.dataset.equitySource);
    if (!source) return;
    const body = JSON.parse(source.textContent);
    const view = el.dataset.chartKind === "drawdown" ? drawdownChart(el) : returnChart(el);
    view.draw(body.points);
  });

  // The dashboard
  const main = document.getElementById("equity-chart");
  if (!main) return;
  const view = returnChart(main);
  const note = document.querySelector("[data-chart-note]");
  let period = main.dataset.period || "1M";
  let loading = 0;

  async function load() {
    const mine = ++loading;
    let body;
    try {
      const url = `${main.dataset.historyUrl}?period=${encodeURIComponent(period)}`;
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (err) {
      if (mine === loading && note) note.textContent = gettext("Chart history unavailable");
      return;
    }
    if (mine !== loading) return; // a newer request (another period) answers instead
    if (note) note.textContent = "";
    view.draw(body.points);
    main.dataset.period = period;
  }

  document.querySelectorAll("[data-equity-period]").forEach((button) => {
    button.addEventListener("click", () => {
      document.querySelectorAll("[data-equity-period]").forEach((other) => {
        other.classList.toggle("active", other === button);
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      period = button.dataset.equityPeriod;
      load();
    });
  });

  const heldCodes = () => new Set((document.querySelector("[data-held-codes]")?.dataset.heldCodes || "").split(" ").filter(Boolean));
  let heldMoved = false;
  let benchmarkMoved = false;
  document.addEventListener("stocking:tick", (event) => {
    const code = event.detail && event.detail.code;
    if (code === "KOSPI") benchmarkMoved = true;
    else if (heldCodes().has(code)) heldMoved = true;
  });
  document.body.addEventListener("prices-moved", () => {
    if (!heldMoved && !benchmarkMoved) return;
    if (heldMoved) document.body.dispatchEvent(new CustomEvent("held-prices-moved"));
    heldMoved = benchmarkMoved = false;
    load();
  });
  load();
})();
