// KOSPI / KOSDAQ charts: TradingView Lightweight Charts v5 (vendored standalone build), daily closes from
// GET /api/v1/market/indices/{code}/history.
//   [data-index-spark]  the index cards' mini chart (about three months; the card gives the URL with ?from=)
//   #index-chart        the index page's long chart: all history, range buttons [data-range-days] (0 = all)
// Live index values (`stocking:tick` with kind "index", from live-prices.js) move today's point.
(function () {
  "use strict";
  const LWC = window.LightweightCharts;
  if (!LWC) return;
  const style = getComputedStyle(document.documentElement);
  const UP = style.getPropertyValue("--up").trim() || "#f04452";
  const DOWN = style.getPropertyValue("--down").trim() || "#3182f6";
  const pointsFormat = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const charts = []; // {code, series, last: {time, value}, el}

  // Today's date in Korea as the library's business-day string (index closes are KST calendar days).
  const kstToday = () => new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(0, 10);

  async function history(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    return body.days.map((day) => ({ time: day.date, value: Number(day.close) }));
  }

  function colors(points) {
    const rising = points.length < 2 || points[points.length - 1].value >= points[0].value;
    const line = rising ? UP : DOWN;
    return { lineColor: line, topColor: rising ? "rgba(240, 68, 82, 0.25)" : "rgba(49, 130, 246, 0.25)", bottomColor: "rgba(255, 255, 255, 0)" };
  }

  function remember(el, code, series, points) {
    const entry = { el, code, series, last: points.length ? { ...points[points.length - 1] } : null };
    charts.push(entry);
    el.dataset.points = String(points.length);
    return entry;
  }

  async function spark(el) {
    const code = el.closest("[data-index-code]")?.dataset.indexCode;
    const chart = LWC.createChart(el, {
      autoSize: true,
      layout: { background: { type: "solid", color: "transparent" }, textColor: "#8b95a1", attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { visible: false } },
      rightPriceScale: { visible: false },
      leftPriceScale: { visible: false },
      timeScale: { visible: false, borderVisible: false },
      crosshair: { vertLine: { visible: false }, horzLine: { visible: false } },
      handleScroll: false,
      handleScale: false,
    });
    let points;
    try {
      points = await history(el.dataset.historyUrl);
    } catch (err) {
      el.dataset.points = "0";
      return;
    }
    const series = chart.addSeries(LWC.AreaSeries, {
      ...colors(points),
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: false,
      crosshairMarkerVisible: false,
    });
    series.setData(points);
    chart.timeScale().fitContent();
    remember(el, code, series, points);
  }

  async function detail(el) {
    const note = document.querySelector("[data-chart-note]");
    const chart = LWC.createChart(el, {
      autoSize: true,
      layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#4e5968", fontSize: 12 },
      grid: { vertLines: { color: "#f2f4f6" }, horzLines: { color: "#f2f4f6" } },
      rightPriceScale: { borderColor: "#e5e8eb" },
      timeScale: { borderColor: "#e5e8eb" },
      localization: { locale: "ko-KR", priceFormatter: (p) => pointsFormat.format(p) },
    });
    if (note) note.textContent = gettext("Loading…");
    let points;
    try {
      points = await history(el.dataset.historyUrl);
    } catch (err) {
      if (note) note.textContent = gettext("Chart history unavailable");
      el.dataset.points = "0";
      return;
    }
    if (note) note.textContent = "";
    const series = chart.addSeries(LWC.AreaSeries, { ...colors(points), lineWidth: 2, priceFormat: { type: "price", precision: 2, minMove: 0.01 } });
    series.setData(points);
    chart.timeScale().fitContent();
    const entry = remember(el, el.dataset.code, series, points);

    function showRange(days) {
      const last = entry.last;
      if (!days || !last) {
        chart.timeScale().fitContent();
        return;
      }
      const to = new Date(`${last.time}T00:00:00Z`);
      const from = new Date(to.getTime() - days * 86400 * 1000).toISOString().slice(0, 10);
      chart.timeScale().setVisibleRange({ from, to: last.time });
    }

    document.querySelectorAll("[data-range-days]").forEach((button) => {
      button.addEventListener("click", () => {
        document.querySelectorAll("[data-range-days]").forEach((other) => {
          other.classList.toggle("active", other === button);
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        showRange(Number(button.dataset.rangeDays));
        el.dataset.range = button.dataset.rangeDays;
      });
    });
  }

  document.addEventListener("stocking:tick", (event) => {
    const tick = event.detail;
    if (tick.kind !== "index" || !tick.price) return;
    const today = kstToday();
    for (const entry of charts) {
      if (entry.code !== tick.code) continue;
      if (entry.last && entry.last.time > today) continue; // never draw before the last stored close
      entry.last = { time: today, value: Number(tick.price) };
      entry.series.update(entry.last);
      entry.el.dataset.lastValue = String(entry.last.value);
    }
  });

  document.querySelectorAll("[data-index-spark]").forEach(spark);
  const main = document.getElementById("index-chart");
  if (main) detail(main);
})();
