// prescale dashboard: reads the daemon's JSON API every few seconds and draws the fleet, one
// workload and the decision log; switches the mode and the kill switch with the API token.
// Plain DOM and inline SVG: no framework, no build step, nothing loaded from elsewhere.
'use strict';
(function () {
  const POLL_MS = 3000;
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let token = ''; // the API token once the API accepted it (kept in this page only)
  let controls = { mode: null, kill: null };
  let timer = null;
  let generation = 0; // answers for a view the user has left are dropped
  let rendered = false;
  let pending = null; // the control change waiting for its token

  // ---- DOM helpers -------------------------------------------------------------------------
  function put(node, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    for (const k of kids.flat(Infinity)) {
      if (k == null || k === false) continue;
      node.append(k instanceof Node ? k : String(k));
    }
    return node;
  }
  const el = (tag, attrs, ...kids) => put(document.createElement(tag), attrs, kids);
  const sv = (tag, attrs, ...kids) => put(document.createElementNS(NS, tag), attrs, kids);
  const muted = (text, id) => el('p', { class: 'muted', id }, text);

  function time(ms, rfc) {
    if (ms == null) return el('span', { class: 'muted' }, '–');
    const d = new Date(ms);
    return el('time', { datetime: rfc || d.toISOString(), title: rfc || d.toISOString() },
      d.toLocaleString());
  }
  function num(x, digits) {
    if (x == null || !isFinite(x)) return '–';
    return Number(x).toLocaleString(undefined, { maximumFractionDigits: digits == null ? 2 : digits });
  }
  const pct = (x) => (x == null ? '–' : num(100 * x, 1) + ' %');
  const link = (name) => el('a', { href: '#/workload/' + encodeURIComponent(name) }, name);
  const pill = (text, kind) => el('span', { class: 'pill ' + (kind || '') }, text);

  async function api(path, init) {
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, text: 'the daemon did not answer: ' + e.message };
    }
    const type = r.headers.get('content-type') || '';
    if (r.ok && type.startsWith('application/json')) return { ok: true, status: r.status, body: await r.json() };
    return { ok: r.ok, status: r.status, text: (await r.text()).trim() };
  }
  const why = (r, what) => muted(r.text || what + ': HTTP ' + r.status);

  function table(id, head, rows) {
    return el('table', { id },
      el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows));
  }

  // ---- controls: mode and kill switch --------------------------------------------------------
  async function refreshControls() {
    const [m, k] = await Promise.all([api('/api/v1/mode'), api('/api/v1/kill-switch')]);
    if (m.ok) controls.mode = m.body.mode;
    if (k.ok) controls.kill = k.body;
    const act = controls.mode === 'act';
    $('mode-state').textContent = 'mode: ' + (controls.mode || '?');
    $('mode-state').className = 'pill ' + (act ? 'act' : 'quiet');
    $('mode-toggle').textContent = act ? 'Switch to forecast-only' : 'Switch to act';
    const engaged = !!(controls.kill && controls.kill.global);
    $('kill-state').textContent = 'kill switch: ' + (engaged ? 'engaged' : 'off');
    $('kill-state').className = 'pill ' + (engaged ? 'danger' : 'quiet');
    $('kill-toggle').textContent = engaged ? 'Release kill switch' : 'Engage kill switch';
  }
  const killed = (w) => !!controls.kill && (controls.kill.global || controls.kill.workloads.includes(w));

  function ask(question, path, body, done) {
    pending = { path, body, done };
    $('token-question').textContent = question;
    $('token').value = token;
    $('token-error').textContent = '';
    $('token-dialog').showModal();
    $('token').focus();
  }
  async function confirmChange() {
    if (!pending) return;
    const t = $('token').value.trim();
    if (!t) {
      $('token-error').textContent = 'Enter the API token (the daemon\'s api_token, api_token_file or PRESCALE_API_TOKEN).';
      return;
    }
    $('token-ok').disabled = true;
    const p = pending;
    const r = await api(p.path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + t },
      body: JSON.stringify(p.body),
    });
    $('token-ok').disabled = false;
    if (!r.ok) {
      $('token-error').textContent = 'Refused (' + r.status + '): ' + r.text;
      return;
    }
    token = t;
    pending = null;
    $('token-dialog').close();
    say(p.done);
    now();
  }
  function say(text) {
    $('status').textContent = text;
  }

  // ---- fleet ---------------------------------------------------------------------------------
  const clusterClass = (c) => (c == null ? 'noise' : 'c' + (c % 8));

  function fleetMap(c) {
    if (!c.ok) return why(c, 'clusters');
    const b = c.body;
    const W = 520, H = 340, P = 24;
    const xs = b.map.map((p) => p.x), ys = b.map.map((p) => p.y);
    const span = (v) => [Math.min(...v), Math.max(...v) === Math.min(...v) ? Math.min(...v) + 1 : Math.max(...v)];
    const [x0, x1] = span(xs), [y0, y1] = span(ys);
    const sx = (x) => P + ((x - x0) / (x1 - x0)) * (W - 2 * P);
    const sy = (y) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
    const map = sv('svg', { id: 'fleet-map', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'fingerprint map' },
      sv('rect', { class: 'frame', x: 0.5, y: 0.5, width: W - 1, height: H - 1 }),
      b.map.map((p) => sv('a', { href: '#/workload/' + encodeURIComponent(p.workload) },
        sv('circle', { class: 'pt ' + clusterClass(p.cluster), cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 6 },
          sv('title', {}, p.workload + ' — ' + (p.cluster == null ? 'noise' : 'cluster ' + p.cluster))))));
    const ev = b.explained_variance.slice(0, 2).reduce((a, v) => a + v, 0);
    return el('div', { class: 'map' }, map,
      el('div', { class: 'legend' },
        el('p', {}, b.algorithm + ' clustering run ' + b.clustering_run + ' of fingerprint run ' + b.fingerprint_run +
          '; data as of ', time(b.at, b.at_rfc3339), '; the map shows ' + pct(ev) + ' of the variance.'),
        el('ul', {}, b.clusters.map((cl) => el('li', {},
          el('span', { class: 'sw ' + clusterClass(cl.id) }), 'cluster ' + cl.id + ': ' + cl.size + ' workloads')),
        b.noise.length ? el('li', {}, el('span', { class: 'sw noise' }), 'noise: ' + b.noise.length) : null)));
  }

  async function fleetView() {
    const [w, m, c, d] = await Promise.all([
      api('/api/v1/workloads'), api('/api/v1/models'), api('/api/v1/clusters'), api('/api/v1/decisions?limit=500'),
    ]);
    const models = new Map(m.ok ? m.body.models.map((x) => [x.workload, x]) : []);
    const stored = new Map(w.ok ? w.body.workloads.map((x) => [x.workload, x]) : []);
    const latest = new Map();
    for (const x of d.ok ? d.body.decisions : []) if (!latest.has(x.workload)) latest.set(x.workload, x);
    const names = [...new Set([...models.keys(), ...stored.keys()])].sort();
    const rows = names.map((n) => {
      const mv = models.get(n), s = stored.get(n), last = latest.get(n);
      const state = [mv ? pill('controlled', 'act') : pill('observed', 'quiet')];
      if (killed(n)) state.push(pill('kill switch', 'danger'));
      if (mv && mv.status.open_anomaly) state.push(pill('anomaly', 'warn'));
      if (mv && mv.status.drift) state.push(pill('drift', 'warn'));
      return el('tr', { 'data-workload': n },
        el('td', {}, link(n)), el('td', { class: 'state' }, state),
        el('td', {}, (mv && mv.model) || '–'),
        el('td', { class: 'n' }, last && last.replicas_after != null ? last.replicas_after : '–'),
        el('td', {}, last ? time(last.at, last.at_rfc3339) : '–'),
        el('td', { class: 'n' }, s ? num(s.samples, 0) : '–'),
        el('td', {}, s ? time(s.last_ts, s.last_ts_rfc3339) : '–'));
    });
    return [
      el('h1', {}, 'Fleet'),
      el('section', {}, el('h2', {}, 'Fingerprint map'), fleetMap(c)),
      el('section', {}, el('h2', {}, 'Workloads (' + names.length + ')'),
        w.ok ? null : why(w, 'workloads'),
        rows.length ? table('workloads', ['Workload', 'State', 'Model', 'Replicas', 'Last decision', 'Samples', 'Last sample'], rows)
          : muted('No workload yet: send samples (remote-write, scrape) or configure a [[workload]].')),
    ];
  }

  // ---- one workload --------------------------------------------------------------------------
  function ticks(lo, hi, n) {
    const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n || 1)));
    const k = [1, 2, 5, 10].find((f) => (hi - lo) / (f * step) <= n) * step;
    const out = [];
    for (let v = Math.ceil(lo / k) * k; v <= hi + 1e-9; v += k) out.push(v);
    return out;
  }
  const pathOf = (pts) => pts.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join('');

  function chart(f, decisions, notes) {
    const ds = decisions.slice().reverse();
    const actual = ds.filter((d) => d.inputs && d.inputs.demand != null).map((d) => [d.at, d.inputs.demand]);
    const reps = ds.filter((d) => d.replicas_after != null).map((d) => [d.at, d.replicas_after]);
    const fc = f ? f.ts.map((t, i) => [t, f.point[i], f.lower[i], f.upper[i]]) : [];
    if (!actual.length && !fc.length) return muted('Nothing to draw yet: no forecast and no decision.');
    const W = 760, H = 300, L = 52, R = 44, T = 12, B = 28;
    const times = [...actual, ...reps, ...fc].map((p) => p[0]);
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t1 === t0) t1 = t0 + 1000;
    const vals = [...actual.map((p) => p[1]), ...fc.flatMap((p) => [p[2], p[3]])];
    const v0 = Math.min(0, ...vals), v1 = Math.max(...vals, 1) * 1.05;
    const r1 = Math.max(...reps.map((p) => p[1]), 1) + 1;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => H - B - ((v - v0) / (v1 - v0)) * (H - T - B);
    const yr = (v) => H - B - (v / r1) * (H - T - B);
    const band = fc.map((p) => [x(p[0]), y(p[3])]).concat(fc.slice().reverse().map((p) => [x(p[0]), y(p[2])]));
    let step = '';
    reps.forEach((p, i) => {
      step += i ? 'H' + x(p[0]).toFixed(1) + 'V' + yr(p[1]).toFixed(1) : 'M' + x(p[0]).toFixed(1) + ',' + yr(p[1]).toFixed(1);
    });
    if (reps.length) step += 'H' + x(t1).toFixed(1);
    const spanMs = t1 - t0;
    const label = (t) => new Date(t).toLocaleString(undefined, spanMs < 86400000
      ? { hour: '2-digit', minute: '2-digit', second: spanMs < 600000 ? '2-digit' : undefined }
      : { month: 'short', day: 'numeric', hour: '2-digit' });
    const tt = ticks(t0, t1, 6);
    const nowMs = Date.now();
    const svg = sv('svg', { id: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'actual, forecast and replicas' },
      ticks(v0, v1, 5).map((v) => [
        sv('line', { class: 'grid', x1: L, x2: W - R, y1: y(v).toFixed(1), y2: y(v).toFixed(1) }),
        sv('text', { class: 'axis', x: L - 6, y: y(v).toFixed(1), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, num(v))]),
      ticks(0, r1, 5).filter((v) => Number.isInteger(v)).map((v) =>
        sv('text', { class: 'axis replicas-axis', x: W - R + 6, y: yr(v).toFixed(1), 'dominant-baseline': 'middle' }, v)),
      tt.map((t) => sv('text', { class: 'axis', x: x(t).toFixed(1), y: H - 8, 'text-anchor': 'middle' }, label(t))),
      nowMs >= t0 && nowMs <= t1 ? sv('line', { class: 'now', x1: x(nowMs), x2: x(nowMs), y1: T, y2: H - B }) : null,
      notes.filter((a) => a.at >= t0 && a.at <= t1).map((a) =>
        sv('line', { class: 'note', x1: x(a.at), x2: x(a.at), y1: T, y2: H - B }, sv('title', {}, a.text))),
      band.length ? sv('polygon', { class: 'band', points: band.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ') },
        sv('title', {}, f.level + ' % band')) : null,
      fc.length ? sv('path', { class: 'forecast', d: pathOf(fc.map((p) => [x(p[0]), y(p[1])])) }) : null,
      actual.length ? sv('path', { class: 'actual', d: pathOf(actual.map((p) => [x(p[0]), y(p[1])])) }) : null,
      step ? sv('path', { class: 'replicas', d: step }) : null,
      sv('line', { class: 'axis-line', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    return el('figure', {}, svg, el('figcaption', { class: 'legend' },
      el('span', { class: 'key actual' }), 'actual (demand at each decision) ',
      el('span', { class: 'key forecast' }), 'forecast ',
      el('span', { class: 'key band' }), (f ? f.level + ' % ' : '') + 'band ',
      el('span', { class: 'key replicas' }), 'replicas (right axis)'));
  }

  function accuracy(mv) {
    if (!mv) return muted('Not controlled: no model runs for this workload.');
    const rows = mv.stats.map((s) => el('tr', {},
      el('td', {}, s.model || 'all models'), el('td', { class: 'n' }, s.horizon == null ? 'all' : s.horizon),
      el('td', { class: 'n' }, s.level == null ? '–' : num(s.level, 0) + ' %'),
      el('td', { class: 'n' }, pct(s.recent.coverage)), el('td', { class: 'n' }, pct(s.all_time.coverage)),
      el('td', { class: 'n' }, num(s.recent.mae)), el('td', { class: 'n' }, num(s.recent.rmse)),
      el('td', { class: 'n' }, num(s.recent.bias)), el('td', { class: 'n' }, pct(s.recent.smape)),
      el('td', { class: 'n' }, num(s.all_time.count, 0))));
    return [
      el('p', {}, 'Model ', el('strong', {}, mv.model || 'none yet'), ' (fits: ' + mv.fits + '); ' +
        mv.status.pending + ' predictions wait for their actual.'),
      rows.length ? table('accuracy', ['Model', 'Horizon', 'Level', 'Coverage (recent)', 'Coverage (all)', 'MAE', 'RMSE', 'Bias', 'sMAPE', 'Outcomes'], rows)
        : muted('No accuracy yet: forecasts are scored once their actuals arrive.'),
    ];
  }

  function anomalies(a) {
    if (!a.ok) return why(a, 'anomalies');
    if (!a.body.anomalies.length) return muted('No anomaly on the forecast residuals.');
    return table('anomalies', ['Noticed', 'Change', 'Started', 'Steps', 'Peak actual', 'Expected [band]', 'Score', 'Direction'],
      a.body.anomalies.map((c) => el('tr', {},
        el('td', {}, time(c.noticed_at, c.noticed_at_rfc3339)), el('td', {}, c.change),
        el('td', {}, time(c.event.started_at, c.event.started_at_rfc3339)), el('td', { class: 'n' }, c.event.steps),
        el('td', { class: 'n' }, num(c.event.peak_actual)),
        el('td', { class: 'n' }, num(c.event.expected) + ' [' + num(c.event.lower) + ', ' + num(c.event.upper) + ']'),
        el('td', { class: 'n' }, num(c.event.score)), el('td', {}, String(c.event.direction)))));
  }

  async function workloadView(name) {
    const q = encodeURIComponent(name);
    const [f, d, m, a, fp, n] = await Promise.all([
      api('/api/v1/workloads/' + q + '/forecast'), api('/api/v1/decisions?limit=300&workload=' + q),
      api('/api/v1/models'), api('/api/v1/anomalies?limit=20&workload=' + q),
      api('/api/v1/workloads/' + q + '/fingerprint'), api('/api/v1/annotations?limit=50&workload=' + q),
    ]);
    const mv = m.ok ? m.body.models.find((x) => x.workload === name) : null;
    const forecast = f.ok ? f.body.forecasts[0] : null;
    const decisions = d.ok ? d.body.decisions : [];
    const notes = n.ok ? n.body.annotations : [];
    const engaged = !!controls.kill && controls.kill.workloads.includes(name);
    const head = [pill(mv ? 'controlled' : 'observed', mv ? 'act' : 'quiet')];
    if (killed(name)) head.push(pill('kill switch', 'danger'));
    if (fp.ok) head.push(pill((fp.body.cluster == null ? 'no cluster' : 'cluster ' + fp.body.cluster) +
      (fp.body.reconstruction_error == null ? '' : ', anomaly score ' + num(fp.body.reconstruction_error, 3)), 'quiet'));
    const killButton = mv ? el('button', { id: 'workload-kill', type: 'button' },
      engaged ? 'Release this workload\'s kill switch' : 'Engage this workload\'s kill switch') : null;
    if (killButton) {
      killButton.addEventListener('click', () => ask(
        (engaged ? 'Release' : 'Engage') + ' the kill switch of ' + name + '?',
        '/api/v1/kill-switch', { engaged: !engaged, workload: name },
        'Kill switch of ' + name + (engaged ? ' released.' : ' engaged.')));
    }
    return [
      el('h1', {}, name),
      el('p', { class: 'tags' }, head, killButton),
      el('section', {}, el('h2', {}, 'Actual vs forecast'),
        forecast ? el('p', { class: 'muted' }, 'Forecast of ' + forecast.metric + ' by ' + (forecast.model || 'the model') + ', made ',
          time(forecast.made_at, forecast.made_at_rfc3339), ', one step every ' + num(forecast.step_ms / 1000) + ' s.')
          : why(f, 'forecast'),
        chart(forecast, decisions, notes)),
      el('section', {}, el('h2', {}, 'Model accuracy and coverage'), accuracy(mv)),
      el('section', {}, el('h2', {}, 'Anomalies'), anomalies(a)),
      el('section', {}, el('h2', {}, 'Decisions'), decisionTable(decisions.slice(0, 25), false)),
      notes.length ? el('section', {}, el('h2', {}, 'Annotations'), el('ul', { id: 'annotations' },
        notes.map((x) => el('li', {}, time(x.at, x.at_rfc3339), ' ', x.text, x.tags.length ? ' [' + x.tags.join(', ') + ']' : '')))) : null,
    ];
  }

  // ---- decisions -------------------------------------------------------------------------------
  function actuation(x) {
    if (!x) return '–';
    return x.outcome + (x.why ? ': ' + x.why : x.detail ? ': ' + x.detail : x.error ? ': ' + x.error : '');
  }
  function decisionTable(list, withWorkload) {
    if (!list.length) return muted('No decision yet.');
    const head = ['Time'].concat(withWorkload ? ['Workload'] : [], ['Mode', 'Replicas', 'Policy', 'Explanation', 'Forecast', 'Actuation']);
    return table('decisions', head, list.map((x) => {
      const before = x.replicas_before == null ? '?' : x.replicas_before;
      const after = x.replicas_after == null ? '?' : x.replicas_after;
      const fc = x.forecast;
      return el('tr', { class: 'decision' },
        el('td', {}, time(x.at, x.at_rfc3339)), withWorkload ? el('td', {}, link(x.workload)) : null,
        el('td', { class: 'nowrap' }, x.mode), el('td', { class: 'n replicas-change' }, before + ' → ' + after),
        el('td', {}, x.policy),
        el('td', { class: 'reason' }, x.reason,
          x.bound_by ? el('div', { class: 'muted' }, 'guard: ' + x.bound_by) : null,
          (x.feedback || []).map((t) => el('div', { class: 'muted' }, t))),
        el('td', { class: 'n' }, fc ? num(fc.point) + ' [' + num(fc.lower) + ', ' + num(fc.upper) + ']' : '–'),
        el('td', {}, actuation(x.actuation)));
    }));
  }
  async function decisionsView() {
    const d = await api('/api/v1/decisions?limit=200');
    return [el('h1', {}, 'Decisions'), d.ok ? decisionTable(d.body.decisions, true) : why(d, 'decisions')];
  }

  // ---- routing and polling -----------------------------------------------------------------------
  function route() {
    const h = location.hash || '#/';
    if (h.startsWith('#/workload/')) return { view: 'workload', name: decodeURIComponent(h.slice(11)) };
    if (h === '#/decisions') return { view: 'decisions' };
    return { view: 'fleet' };
  }
  async function refresh() {
    const gen = generation;
    const r = route();
    await refreshControls();
    const nodes = r.view === 'workload' ? await workloadView(r.name)
      : r.view === 'decisions' ? await decisionsView() : await fleetView();
    if (gen !== generation) return;
    $('view').replaceChildren(...nodes.flat().filter((x) => x != null));
    $('view').dataset.view = r.view;
    $('nav-fleet').classList.toggle('here', r.view === 'fleet');
    $('nav-decisions').classList.toggle('here', r.view === 'decisions');
    $('updated').textContent = new Date().toLocaleTimeString();
    if (!rendered) {
      rendered = true;
      performance.mark('prescale:first-render');
    }
  }
  function now() {
    clearTimeout(timer);
    refresh().finally(() => {
      clearTimeout(timer);
      timer = setTimeout(now, POLL_MS);
    });
  }

  window.addEventListener('hashchange', () => {
    generation += 1;
    say('');
    now();
  });
  $('mode-toggle').addEventListener('click', () => {
    const next = controls.mode === 'act' ? 'forecast-only' : 'act';
    ask('Switch the global mode to ' + next + '?' + (next === 'act' ? ' Decisions will change replicas.' : ''),
      '/api/v1/mode', { mode: next }, 'Mode set to ' + next + '.');
  });
  $('kill-toggle').addEventListener('click', () => {
    const engaged = !!(controls.kill && controls.kill.global);
    ask(engaged ? 'Release the global kill switch?' : 'Engage the global kill switch? No workload will be scaled until it is released.',
      '/api/v1/kill-switch', { engaged: !engaged }, engaged ? 'Kill switch released.' : 'Kill switch engaged.');
  });
  $('token-ok').addEventListener('click', confirmChange);
  $('token-cancel').addEventListener('click', () => $('token-dialog').close());
  $('token-dialog').addEventListener('close', () => { pending = null; });
  $('token').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') confirmChange();
  });
  $('tz').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
  now();
})();
