// BarberPro launch dashboard: every figure read through the authenticated API, kept live by
// the Socket.IO rooms "dashboard" (operations, pushed) and "alerts" (each transition). The
// admin token lives in this tab's sessionStorage only.
"use strict";

(() => {
  const TOKEN_KEY = "barberpro.admin-token";
  const ART = "America/Argentina/Buenos_Aires";
  const BUSINESS_EVERY_MS = 4000; // the business report is re-read at most this often
  const THRESHOLDS = { warning: 150, critical: 200 };

  const numberFormat = new Intl.NumberFormat("es-AR", { maximumFractionDigits: 2 });
  const integerFormat = new Intl.NumberFormat("es-AR", { maximumFractionDigits: 0 });
  const moneyFormat = new Intl.NumberFormat("es-AR", { style: "currency", currency: "ARS" });
  const percentFormat = new Intl.NumberFormat("es-AR", { style: "percent", maximumFractionDigits: 1 });

  const fmt = {
    num: (v) => (v === null || v === undefined ? "-" : numberFormat.format(v)),
    int: (v) => (v === null || v === undefined ? "-" : integerFormat.format(v)),
    ars: (v) => (v === null || v === undefined ? "-" : moneyFormat.format(v)),
    pct: (v) => (v === null || v === undefined ? "-" : percentFormat.format(v)),
    pctValue: (v) => (v === null || v === undefined ? "-" : `${numberFormat.format(v)} %`),
    ms: (v) => (v === null || v === undefined ? "-" : `${numberFormat.format(v)} ms`),
    secs: (v) => (v === null || v === undefined ? "-" : `${numberFormat.format(v)} s`),
  };

  const $ = (id) => document.getElementById(id);
  const state = { token: null, socket: null, charts: {}, bi: null, biAt: 0, biPending: null, updates: 0 };

  // -- the range in ART ------------------------------------------------------------------
  function artDate(offsetDays) {
    const now = new Date(Date.now() + offsetDays * 86400000);
    return new Intl.DateTimeFormat("en-CA", { timeZone: ART }).format(now); // YYYY-MM-DD
  }
  function chosenRange() {
    const which = $("range").value;
    if (which === "yesterday") return { from: artDate(-1), to: artDate(-1) };
    if (which === "week") return { from: artDate(-6), to: artDate(0) };
    return { from: artDate(0), to: artDate(0) };
  }

  // -- the API ---------------------------------------------------------------------------
  class Refused extends Error {}
  async function api(path) {
    const answer = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store" });
    if (answer.status === 401 || answer.status === 403) throw new Refused(`the token was refused (${answer.status})`);
    if (!answer.ok) throw new Error(`${path} answered ${answer.status}`);
    return answer.json();
  }

  // -- small DOM helpers -----------------------------------------------------------------
  function setFigure(name, text, cls) {
    for (const el of document.querySelectorAll(`[data-figure="${name}"]`)) {
      el.textContent = text;
      if (cls !== undefined) el.className = cls;
    }
  }
  function cell(text, numeric, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.classList.add("n");
    if (cls) td.classList.add(cls);
    return td;
  }
  function fill(tableId, rows, emptyId) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }));
    if (emptyId) $(emptyId).hidden = rows.length > 0;
  }
  function level(p95) {
    if (p95 === null || p95 === undefined) return "";
    return p95 > THRESHOLDS.critical ? "critical" : p95 > THRESHOLDS.warning ? "warning" : "ok";
  }
  function chart(id, config) {
    const found = state.charts[id];
    if (found) {
      found.data = config.data;
      found.update("none");
      return;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom" } } }, config.options || {});
    state.charts[id] = new Chart($(id), config);
  }
  const axisNumbers = { ticks: { callback: (v) => integerFormat.format(v) } };
  const axisMoney = { ticks: { callback: (v) => moneyFormat.format(v) } };

  // -- operations ------------------------------------------------------------------------
  function renderOperations(d) {
    const http = d.http;
    $("ops-window").textContent = `window ${d.window}, ${d.instance}, ${new Date(d.generated_at).toLocaleTimeString("es-AR", { timeZone: ART, hour12: false })}`;
    setFigure("http.rps", fmt.num(http.rps));
    setFigure("http.p95_ms", fmt.ms(http.p95_ms), level(http.p95_ms));
    setFigure("http.error_rate", fmt.pct(http.error_rate));
    const wh = d.webhooks;
    setFigure("webhooks.success_rate", wh.count ? fmt.pct(wh.success_rate) : "no webhooks yet",
      wh.count ? (wh.success_rate >= 0.99 ? "ok" : "critical") : "");
    setFigure("webhooks.count", fmt.int(wh.count));
    setFigure("webhooks.failures", fmt.int(wh.failures));
    setFigure("websocket.active", fmt.int(d.websocket.active));
    setFigure("system.memory_percent", fmt.pctValue(d.system.memory_percent));
    setFigure("system.cpu_percent", fmt.pctValue(d.system.cpu_percent));
    setFigure("system.event_loop_lag_ms", fmt.ms(d.system.event_loop_lag_ms));
    setFigure("db.queries", fmt.int(d.db.queries));
    setFigure("db.p95_ms", fmt.ms(d.db.p95_ms));
    setFigure("db.connection_failures", fmt.int(d.db.connection_failures));
    const routes = http.routes.slice(0, 12);
    fill("routes", routes.map((r) => [cell(`${r.method} ${r.route}`), cell(fmt.num(r.rps), true),
      cell(fmt.pct(r.error_rate), true), cell(fmt.ms(r.p50_ms), true),
      cell(fmt.ms(r.p95_ms), true, level(r.p95_ms)), cell(fmt.ms(r.p99_ms), true)]), "routes-empty");
    const labels = routes.map((r) => `${r.method} ${r.route.replace("/api/v1", "")}`);
    chart("chart-latency", {
      type: "bar",
      data: { labels, datasets: [
        { label: "p50 ms", data: routes.map((r) => r.p50_ms), backgroundColor: "#9fb7d4" },
        { label: "p95 ms", data: routes.map((r) => r.p95_ms), backgroundColor: "#2f4f75" },
        { label: "p99 ms", data: routes.map((r) => r.p99_ms), backgroundColor: "#7a4f9a" },
        { type: "line", label: "150 ms", data: routes.map(() => THRESHOLDS.warning), borderColor: "#d98a00", pointRadius: 0, borderDash: [4, 3] },
        { type: "line", label: "200 ms", data: routes.map(() => THRESHOLDS.critical), borderColor: "#b3001e", pointRadius: 0, borderDash: [4, 3] },
      ] },
      options: { scales: { y: axisNumbers, x: { ticks: { autoSkip: false, maxRotation: 60 } } } },
    });
    fill("slowest", d.db.slowest.slice(0, 5).map((q) => [cell(q.fingerprint.slice(0, 140), false, "shape"),
      cell(fmt.int(q.count), true), cell(fmt.ms(q.p95_ms), true)]));
    const pay = d.payments || {};
    if (pay.error) {
      setFigure("payments.queue_depth", "unavailable");
    } else if (pay.circuit) {
      setFigure("payments.queue_depth", fmt.int(pay.queue_depth));
      setFigure("payments.circuit", pay.circuit.state, pay.circuit.state === "closed" ? "ok" : "critical");
      setFigure("payments.dead_letters", fmt.int(pay.dead_letters), pay.dead_letters ? "warning" : "");
    }
    renderOptimization(d.optimization);
  }

  // -- the optimization engine -------------------------------------------------------------
  function renderOptimization(o) {
    if (!o || o.error) {
      setFigure("optimization.emergency", "unavailable");
      return;
    }
    const e = o.emergency;
    setFigure("optimization.emergency", e.stage ? `stage ${e.stage}${e.forced ? " (forced)" : ""}` : "off",
      e.stage === 2 ? "critical" : e.stage === 1 ? "warning" : "ok");
    const p = o.pressure || {};
    setFigure("optimization.pressure", p.pressure === undefined ? "-" : `${fmt.num(p.pressure)} (${p.signal})`);
    setFigure("optimization.limit", `${fmt.int(o.limiter.limit)}, ${fmt.int(o.limiter.shed)} shed`);
    const on = Object.entries(o.caches).filter(([, c]) => c.on).map(([r]) => r.replace("/api/v1", ""));
    setFigure("optimization.caches", on.length ? on.join(", ") : "none");
    setFigure("optimization.leading", o.leading ? "this instance" : "another instance");
  }
  async function loadActions() {
    const a = await api("/api/v1/optimization/actions?limit=8");
    const list = $("actions");
    list.replaceChildren(...a.actions.map((x) => {
      const li = document.createElement("li");
      const at = new Date(x.decided_at).toLocaleTimeString("es-AR", { timeZone: ART, hour12: false });
      li.textContent = `${at} ${x.kind} ${x.move} ${x.target}: ${x.state}${x.verdict_reason ? ` (${x.verdict_reason})` : ""}`;
      return li;
    }));
    if (!a.actions.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "The engine has taken no action yet.";
      list.replaceChildren(li);
    }
  }

  // -- alerts ----------------------------------------------------------------------------
  async function loadAlerts() {
    const a = await api("/api/v1/monitoring/alerts?history=20");
    const active = $("alerts-active");
    active.replaceChildren(...a.alerts.map((x) => {
      const li = document.createElement("li");
      li.className = x.severity === "critical" ? "critical" : "warning";
      li.textContent = `${x.state}: ${x.labels.alertname} (${x.severity}) ${fmt.num(x.value)} > ${fmt.num(x.threshold)}`;
      return li;
    }));
    $("alerts-empty").hidden = a.alerts.length > 0;
    $("alerts-history").replaceChildren(...a.history.map((h) => {
      const li = document.createElement("li");
      const at = new Date(h.at).toLocaleString("es-AR", { timeZone: ART });
      li.textContent = `${at} ${h.alertname}: ${h.from} → ${h.to}`;
      return li;
    }));
    if (!a.history.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No alert has changed state yet.";
      $("alerts-history").replaceChildren(li);
    }
  }

  // -- business --------------------------------------------------------------------------
  function renderBusiness(bi) {
    const range = chosenRange();
    $("biz-range").textContent = range.from === range.to ? range.from : `${range.from} to ${range.to}`;
    const rev = bi.revenue;
    setFigure("revenue.gross_ars", fmt.ars(rev.gross_ars));
    setFigure("revenue.net_ars", fmt.ars(rev.net_ars));
    setFigure("revenue.commission_ars", fmt.ars(rev.commission_ars));
    setFigure("revenue.payments_approved", fmt.int(rev.payments_approved));
    setFigure("engagement.sessions", fmt.int(bi.engagement.sessions));
    setFigure("funnel.units", fmt.int(bi.funnel.units));
    const steps = bi.funnel.steps;
    fill("funnel", bi.funnel.units ? steps.map((s) => [cell(`${s.step}. ${s.name}`), cell(fmt.int(s.units), true),
      cell(fmt.pct(s.conversion_from_start), true), cell(s.step === 1 ? "-" : fmt.pct(s.conversion_from_previous), true),
      cell(fmt.secs(s.median_seconds_from_previous), true)]) : [], "funnel-empty");
    chart("chart-funnel", {
      type: "bar",
      data: { labels: steps.map((s) => s.name), datasets: [{ label: "Units", data: steps.map((s) => s.units), backgroundColor: "#2e8b57" }] },
      options: { indexAxis: "y", scales: { x: axisNumbers } },
    });
    renderBreakdown();
    chart("chart-revenue", {
      type: "bar",
      data: { labels: rev.hourly_art.map((h) => `${String(h.hour).padStart(2, "0")} h`),
        datasets: [{ label: "Gross ARS", data: rev.hourly_art.map((h) => h.gross_ars), backgroundColor: "#3b6ea8" }] },
      options: { scales: { y: axisMoney } },
    });
    $("revenue-empty").hidden = rev.payments_approved > 0;
    fill("methods", rev.by_method.map((m) => [cell(`${m.payment_method} (${m.payment_type})`), cell(fmt.int(m.payments), true),
      cell(fmt.ars(m.gross_ars), true), cell(fmt.pct(m.share), true)]), "methods-empty");
    fill("cuotas", rev.installments.map((c) => [cell(c.installments === null ? "unknown" : String(c.installments)),
      cell(fmt.int(c.approved), true), cell(fmt.int(c.rejected), true), cell(fmt.pct(c.approval_rate), true)]));
    const provinces = bi.market.provinces.filter((p) => p.demand > 0).slice(0, 12);
    chart("chart-provinces", {
      type: "bar",
      data: { labels: provinces.map((p) => p.name), datasets: [{ label: "Demand per barber",
        data: provinces.map((p) => (p.demand_per_provider === null ? p.demand : p.demand_per_provider)),
        backgroundColor: provinces.map((p) => (p.underserved ? "#b3001e" : "#7d96b3")) }] },
      options: { indexAxis: "y", scales: { x: axisNumbers } },
    });
    $("provinces-empty").hidden = provinces.length > 0;
    fill("channels", bi.referrals.map((c) => [cell(c.channel), cell(fmt.int(c.sessions), true),
      cell(fmt.int(c.units_converted), true), cell(fmt.ars(c.revenue_ars), true)]));
    fill("leaders", bi.providers.slice(0, 10).map((p) => [cell(p.provider_id), cell(fmt.int(p.bookings_completed), true),
      cell(fmt.ars(p.gross_ars), true), cell(p.rating_avg === null ? "-" : fmt.num(p.rating_avg), true)]), "leaders-empty");
    renderRetention(bi.retention.cohorts);
  }

  function renderBreakdown() {
    if (!state.bi) return;
    const groups = state.bi.funnel.breakdowns[$("breakdown").value] || [];
    fill("breakdowns", groups.slice(0, 15).map((g) => {
      const booked = g.steps[3].units;
      const paid = g.steps[4].units;
      return [cell(g.name || g.value), cell(fmt.int(g.units), true), cell(fmt.int(booked), true),
        cell(fmt.int(paid), true), cell(fmt.pct(g.units ? paid / g.units : null), true)];
    }));
  }

  function renderRetention(cohorts) {
    const table = $("retention");
    const width = Math.max(0, ...cohorts.map((c) => c.periods.length));
    const head = document.createElement("tr");
    head.append(...["Cohort", "Clients", ...Array.from({ length: width }, (_, i) => `W${i}`)].map((t, i) => {
      const th = document.createElement("th");
      th.textContent = t;
      if (i > 0) th.className = "n";
      return th;
    }));
    table.tHead.replaceChildren(head);
    fill("retention", cohorts.map((c) => [cell(c.cohort_week), cell(fmt.int(c.clients), true),
      ...c.periods.map((p) => cell(fmt.pct(p.rate), true))]), "retention-empty");
  }

  async function loadBusiness(force) {
    if (!force && Date.now() - state.biAt < BUSINESS_EVERY_MS) return;
    if (state.biPending) return state.biPending;
    const range = chosenRange();
    state.biAt = Date.now();
    state.biPending = api(`/api/v1/analytics/business-intelligence?from=${range.from}&to=${range.to}&providers=10`)
      .then((bi) => {
        const now = chosenRange();
        if (now.from !== range.from || now.to !== range.to) return null; // the range changed
        state.bi = bi; renderBusiness(bi); updated(); return loadActions();
      })
      .finally(() => {
        state.biPending = null;
        const now = chosenRange();
        if (now.from !== range.from || now.to !== range.to) loadBusiness(true).catch(failed);
      });
    return state.biPending;
  }

  function updated() {
    state.updates += 1;
    document.body.dataset.updates = String(state.updates);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString("es-AR", { timeZone: ART, hour12: false })}`;
  }

  // -- live ------------------------------------------------------------------------------
  function connect() {
    const socket = io({ auth: { token: state.token }, transports: ["websocket"] });
    state.socket = socket;
    socket.on("connect", () => {
      $("live").dataset.state = "on";
      $("live").textContent = "live";
      socket.emit("join", "dashboard");
      socket.emit("join", "alerts");
    });
    socket.on("disconnect", () => { $("live").dataset.state = "off"; $("live").textContent = "offline"; });
    socket.on("connect_error", (err) => {
      $("live").dataset.state = "off";
      $("live").textContent = `offline: ${err.message}`;
      // A refused connection is not retried by the client: ask the API, which signs out on 401.
      if (!socket.active) api("/api/v1/monitoring/dashboard?window=1m").then(renderOperations).catch(failed);
    });
    socket.on("dashboard", (d) => {
      renderOperations(d);
      updated();
      loadBusiness(false).catch(failed);
    });
    socket.on("alert", () => { loadAlerts().catch(failed); });
  }

  // While the live connection is down, the figures are read every POLL_MS instead.
  const POLL_MS = 10000;
  setInterval(() => {
    if (!state.token || (state.socket && state.socket.connected)) return;
    api("/api/v1/monitoring/dashboard?window=1m").then(renderOperations)
      .then(() => Promise.all([loadBusiness(true), loadAlerts()])).catch(failed);
  }, POLL_MS);

  // -- signing in and out ----------------------------------------------------------------
  function failed(err) {
    if (err instanceof Refused) { signOut(err.message); return; }
    $("failure").textContent = `Could not load the figures: ${err.message}`;
    $("failure").hidden = false;
  }
  function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    if (state.socket) { state.socket.disconnect(); state.socket = null; }
    $("board").hidden = true;
    $("controls").hidden = true;
    $("signin").hidden = false;
    $("signin-error").hidden = !reason;
    $("signin-error").textContent = reason ? `Signed out: ${reason}.` : "";
  }
  function started(err) {
    if (err instanceof Refused || !state.token || $("board").hidden) {
      // Refused, or the token could not even be checked: back to the sign-in with the reason.
      if (err instanceof Refused) { signOut(err.message); return; }
      signOut(`could not reach the service (${err.message})`);
      return;
    }
    failed(err); // the token works; a figure failed (a report shed in emergency mode, say)
    if (!state.socket) connect();
  }
  async function start(token) {
    state.token = token;
    const ops = await api("/api/v1/monitoring/dashboard?window=1m"); // proves the token first
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    $("failure").hidden = true;
    $("board").hidden = false;
    $("controls").hidden = false;
    renderOperations(ops);
    await Promise.all([loadBusiness(true), loadAlerts(), loadActions()]);
    document.body.dataset.readyMs = String(performance.now());
    document.body.dataset.ready = "true";
    connect();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof Chart === "undefined" || typeof io === "undefined") {
      $("missing").hidden = false;
      $("signin").hidden = true;
      return;
    }
    Chart.defaults.locale = "es-AR";
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      $("token").value = "";
      start(token).catch(started);
    });
    $("signout").addEventListener("click", () => signOut(""));
    $("range").addEventListener("change", () => loadBusiness(true).catch(failed));
    $("breakdown").addEventListener("change", renderBreakdown);
    const kept = sessionStorage.getItem(TOKEN_KEY);
    $("signin").hidden = Boolean(kept);
    if (kept) start(kept).catch(started);
  });
})();
