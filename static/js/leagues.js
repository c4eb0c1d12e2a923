// The league page (docs/architecture.md §16): the countdown to the league's end, the copy buttons of the join code
// and invitation link, and the chart of the member's cumulative return against the leader's and KOSPI's.
// No inline script (CSP): the end instant comes from [data-countdown-end] (ISO 8601), the chart's points from
// <script type="application/json" id="league-chart-data"> named by [data-league-chart].
(function () {
  "use strict";

  // --- countdown ---------------------------------------------------------------------------------------------
  const countdown = document.querySelector("[data-countdown-end]");
  if (countdown) {
    const end = Date.parse(countdown.dataset.countdownEnd);
    const pad = (n) => String(n).padStart(2, "0");
    const tick = () => {
      const left = Math.floor((end - Date.now()) / 1000);
      if (!(left > 0)) {
        countdown.textContent = countdown.dataset.countdownOver;
        countdown.dataset.secondsLeft = "0";
        return false;
      }
      const days = Math.floor(left / 86400);
      const clock = `${pad(Math.floor((left % 86400) / 3600))}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
      countdown.textContent = days > 0
        ? interpolate(gettext("%(days)s days %(clock)s"), { days, clock }, true)
        : clock;
      countdown.dataset.secondsLeft = String(left);
      return true;
    };
    if (!Number.isNaN(end) && tick()) {
      const timer = setInterval(() => { if (!tick()) clearInterval(timer); }, 1000);
    }
  }

  // --- copy buttons ------------------------------------------------------------------------------------------
  const done = document.querySelector("[data-copy-done]");
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copyTarget) ||
        document.querySelector(`[data-testid="${button.dataset.copyTarget}"]`);
      if (!target) return;
      const text = target.value !== undefined ? target.value : target.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch (err) {
        if (target.select) target.select(); // no clipboard permission: leave it selected for Ctrl+C
        return;
      }
      if (done) {
        done.hidden = false;
        setTimeout(() => { done.hidden = true; }, 2000);
      }
    });
  });

  // --- chart -------------------------------------------------------------------------------------------------
  const LWC = window.LightweightCharts;
  const el = document.querySelector("[data-league-chart]");
  const source = el && document.getElementById(el.dataset.leagueChart);
  if (!LWC || !el || !source) return;
  const style = getComputedStyle(document.documentElement);
  const UP = style.getPropertyValue("--up").trim() || "#f04452";
  const DOWN = style.getPropertyValue("--down").trim() || "#3182f6";
  const LEADER = "#f59f00";
  const BENCHMARK = "#8b95a1";
  const pct = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });
  const chart = LWC.createChart(el, {
    autoSize: true,
    layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#4e5968", fontSize: 12 },
    grid: { vertLines: { color: "#f2f4f6" }, horzLines: { color: "#f2f4f6" } },
    rightPriceScale: { borderColor: "#e5e8eb" },
    timeScale: { borderColor: "#e5e8eb" },
    localization: { locale: document.documentElement.lang || "ko", priceFormatter: (p) => `${pct.format(Math.abs(p) < 0.005 ? 0 : p)}%` },
  });
  const points = JSON.parse(source.textContent).points;
  const line = (field) =>
    points.filter((p) => p[field] !== null && p[field] !== undefined).map((p) => ({ time: p.date, value: Number(p[field]) }));
  const benchmark = line("benchmark");
  const leader = line("leader");
  const mine = line("mine");
  if (benchmark.length) chart.addSeries(LWC.LineSeries, { color: BENCHMARK, lineWidth: 2, priceLineVisible: false }).setData(benchmark);
  if (leader.length) chart.addSeries(LWC.LineSeries, { color: LEADER, lineWidth: 2, priceLineVisible: false }).setData(leader);
  if (mine.length) {
    const last = mine[mine.length - 1].value;
    chart.addSeries(LWC.LineSeries, { color: last < 0 ? DOWN : UP, lineWidth: 3 }).setData(mine);
    // the legend's swatch follows the line: red while up, blue while down (Korean brokers' colours)
    document.querySelector(".legend-account")?.classList.toggle("is-down", last < 0);
  }
  chart.timeScale().fitContent();
  el.dataset.points = String(Math.max(mine.length, leader.length, benchmark.length));
})();
