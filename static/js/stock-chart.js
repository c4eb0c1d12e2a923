// The stock page's candle chart: TradingView Lightweight Charts v5 (vendored standalone build).
// Loads /api/v1/stocks/{code}/candles and grows the newest bar from live ticks (`stocking:tick`).
(function () {
  "use strict";
  const container = document.getElementById("stock-chart");
  if (!container || !window.LightweightCharts) return;
  const LWC = window.LightweightCharts;

  // The library draws every time as UTC; shift by Korea's fixed +09:00 so axes read in KST.
  const KST = 9 * 3600;
  const SECONDS = { "1m": 60, "5m": 300, "1h": 3600, "1d": 86400 };
  const style = getComputedStyle(document.documentElement);
  const UP = style.getPropertyValue("--up").trim() || "#f04452";
  const DOWN = style.getPropertyValue("--down").trim() || "#3182f6";
  const numberFormat = new Intl.NumberFormat("ko-KR");
  const code = container.dataset.code;
  const note = document.querySelector("[data-chart-note]");
  let interval = container.dataset.interval || "1m";
  let lastBar = null; // newest bar, in chart (KST-shifted) time
  let loading = 0;
  let ready = false; // false while a load is in flight: its data replaces whatever ticks would add

  const chart = LWC.createChart(container, {
    autoSize: true,
    layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#4e5968", fontSize: 12 },
    grid: { vertLines: { color: "#f2f4f6" }, horzLines: { color: "#f2f4f6" } },
    rightPriceScale: { borderColor: "#e5e8eb" },
    timeScale: { borderColor: "#e5e8eb", timeVisible: true, secondsVisible: false, barSpacing: 8, rightOffset: 4 },
    localization: { locale: "ko-KR", priceFormatter: (p) => numberFormat.format(Math.round(p)) },
    crosshair: { mode: LWC.CrosshairMode.Normal },
  });
  const candles = chart.addSeries(LWC.CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    borderUpColor: UP,
    borderDownColor: DOWN,
    wickUpColor: UP,
    wickDownColor: DOWN,
    priceFormat: { type: "price", precision: 0, minMove: 1 },
  });
  const volumes = chart.addSeries(LWC.HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "",
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volumes.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });

  const volumeBar = (bar) => ({
    time: bar.time,
    value: bar.volume,
    color: bar.close >= bar.open ? "rgba(240, 68, 82, 0.35)" : "rgba(49, 130, 246, 0.35)",
  });

  function bucketOf(epoch) {
    const seconds = SECONDS[interval];
    const offset = interval === "1d" ? KST : 0; // days are Asia/Seoul calendar days
    return epoch - ((epoch + offset) % seconds);
  }

  function setNote(text) {
    if (note) note.textContent = text;
  }

  async function load(nextInterval) {
    interval = nextInterval;
    ready = false;
    const request = ++loading;
    setNote(gettext("Loading…"));
    let body;
    try {
      const response = await fetch(`${container.dataset.candlesUrl}?interval=${encodeURIComponent(interval)}`, {
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (err) {
      if (request === loading) {
        setNote(gettext("Chart history unavailable: showing new ticks only"));
        candles.setData([]);
        volumes.setData([]);
        lastBar = null;
        ready = true;
      }
      return;
    }
    if (request !== loading) return; // a newer interval was picked meanwhile
    const bars = body.candles.map((c) => ({ ...c, time: c.time + KST }));
    candles.setData(bars);
    volumes.setData(bars.map(volumeBar));
    lastBar = bars.length ? { ...bars[bars.length - 1] } : null;
    ready = true;
    container.dataset.bars = String(bars.length);
    container.dataset.lastClose = lastBar ? String(lastBar.close) : "";
    setNote(bars.length ? "" : gettext("No trades recorded yet: the next tick draws the first bar"));
    // the newest bars at a readable width (fitting a handful of bars would draw them huge)
    chart.timeScale().scrollToRealTime();
  }

  document.addEventListener("stocking:tick", (event) => {
    const tick = event.detail;
    if (tick.code !== code || !tick.price || !ready) return;
    const when = Date.parse(tick.dt || "");
    const epoch = Number.isFinite(when) ? Math.floor(when / 1000) : Math.floor(Date.now() / 1000);
    const time = bucketOf(epoch) + KST;
    const volume = tick.trade_volume || 0;
    if (lastBar && time < lastBar.time) return; // older than the newest bar: the server's candles have it
    if (lastBar && time === lastBar.time) {
      lastBar.high = Math.max(lastBar.high, tick.price);
      lastBar.low = Math.min(lastBar.low, tick.price);
      lastBar.close = tick.price;
      lastBar.volume += volume;
    } else {
      lastBar = { time, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume };
      setNote("");
    }
    candles.update(lastBar);
    volumes.update(volumeBar(lastBar));
    container.dataset.lastClose = String(lastBar.close); // what the newest bar shows (read by tests)
  });

  document.querySelectorAll(".chart-toolbar [data-interval]").forEach((button) => {
    button.addEventListener("click", () => {
      document.querySelectorAll(".chart-toolbar [data-interval]").forEach((other) => {
        other.classList.toggle("active", other === button);
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      load(button.dataset.interval);
    });
  });

  load(interval);
})();
