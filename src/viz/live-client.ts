/**
 * The report's live part: a script (plain ES5, inline, no external URLs) that does nothing when the
 * page is opened from disk, and when it is served by `cnnviz serve` / `train --serve`:
 *   - inserts a "Live" section under the header: progress (epoch, batch, img/s) and two charts
 *     (loss, accuracy against the step) drawn on canvases from batch-level points (live.jsonl)
 *     and the per-epoch records (metrics.jsonl), updated from the server's event stream
 *     (/.cnnviz/events, see src/serve/feed.ts);
 *   - when index.html is rewritten (a new epoch's pictures, step pictures), fetches it and swaps the
 *     header and <main> in place, keeping the chosen epoch (or moving to the newest when the newest
 *     was shown) and the scroll position: no reload.
 * window.cnnvizLive exposes the state for tests (points, swaps, loadId).
 */

const SCRIPT = String.raw`
(function () {
  if (!/^https?:$/.test(location.protocol) || !window.EventSource || !window.fetch) return;
  var S = window.cnnvizLive = { loadId: Math.random().toString(36).slice(2), points: [], metrics: [], pictures: [], swaps: 0, events: 0, version: null };
  var dir = location.pathname.replace(/[^\/]*$/, '');
  var run = decodeURIComponent(dir.replace(/^\/+|\/+$/g, ''));
  var COLORS = { batch: '#9ecae1', train: '#2166ac', test: '#d6604d' };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function section() {
    var s = document.getElementById('live');
    if (s) return s;
    s = el('section', { id: 'live', style: 'max-width:1500px;margin:0 auto;padding:0 20px' });
    s.appendChild(el('h2', { style: 'font-size:21px;border-bottom:1px solid #d8d8dc;padding-bottom:4px' }, 'Live'));
    s.appendChild(el('p', { id: 'live-progress', style: 'font-variant-numeric:tabular-nums' }, 'connecting to the training run…'));
    var box = el('div', { style: 'display:flex;flex-wrap:wrap;gap:16px' });
    box.appendChild(el('canvas', { id: 'live-loss', 'data-points': '0', style: 'width:640px;height:260px;max-width:100%;border:1px solid #d8d8dc;background:#fff' }));
    box.appendChild(el('canvas', { id: 'live-accuracy', 'data-points': '0', style: 'width:640px;height:260px;max-width:100%;border:1px solid #d8d8dc;background:#fff' }));
    s.appendChild(box);
    s.appendChild(el('p', { style: 'color:#5a5a5f;font-size:13px' }, 'Light blue: training loss/accuracy of the last batches (one point per half second); dark blue: the mean of each epoch; red: the test set after each epoch. The step is the number of optimizer updates (batches) so far.'));
    var header = document.querySelector('header');
    if (header && header.parentNode) header.parentNode.insertBefore(s, header.nextSibling);
    else document.body.insertBefore(s, document.body.firstChild);
    return s;
  }

  function niceTicks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log(span / n) / Math.LN10)), err = span / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return t;
  }
  function fmt(v, step) { var d = Math.max(0, Math.min(6, -Math.floor(Math.log(step) / Math.LN10 + 1e-9))); return v.toFixed(d); }

  function chart(id, title, series, yFixed) {
    var c = document.getElementById(id);
    if (!c) return;
    var dpr = window.devicePixelRatio || 1, W = c.clientWidth || 640, H = c.clientHeight || 260;
    c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
    var g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    var L = 52, R = 12, T = 26, B = 34, n = 0, xmax = 1, ymin = Infinity, ymax = -Infinity;
    series.forEach(function (s) { s.pts.forEach(function (p) { n++; if (p[0] > xmax) xmax = p[0]; if (p[1] < ymin) ymin = p[1]; if (p[1] > ymax) ymax = p[1]; }); });
    c.setAttribute('data-points', String(n));
    g.fillStyle = '#1d1d1f'; g.font = 'bold 13px system-ui, sans-serif'; g.fillText(title, L, 16);
    if (!n) { g.font = '12px system-ui, sans-serif'; g.fillStyle = '#5a5a5f'; g.fillText('waiting for the first batches…', L, H / 2); return; }
    if (yFixed) { ymin = yFixed[0]; ymax = yFixed[1]; } else { var pad = (ymax - ymin) * 0.08 || Math.abs(ymax) * 0.05 || 1; ymin = Math.max(0, ymin - pad); ymax += pad; }
    var X = function (x) { return L + (W - L - R) * x / xmax; }, Y = function (y) { return T + (H - T - B) * (1 - (y - ymin) / (ymax - ymin)); };
    g.strokeStyle = '#e4e4e8'; g.fillStyle = '#5a5a5f'; g.font = '11px system-ui, sans-serif'; g.lineWidth = 1;
    var yt = niceTicks(ymin, ymax, 5), xt = niceTicks(0, xmax, 6);
    yt.forEach(function (v) { g.beginPath(); g.moveTo(L, Y(v)); g.lineTo(W - R, Y(v)); g.stroke(); g.fillText(fmt(v, yt[1] - yt[0] || 1), 6, Y(v) + 4); });
    xt.forEach(function (v) { g.fillText(fmt(v, xt[1] - xt[0] || 1), X(v) - 8, H - B + 14); });
    g.fillText('step', W - R - 26, H - 6);
    var batches = S.points.length ? S.points[S.points.length - 1].batches : 0;
    if (batches) { g.strokeStyle = '#c8c8cf'; g.setLineDash([3, 3]); for (var e = batches; e < xmax; e += batches) { g.beginPath(); g.moveTo(X(e), T); g.lineTo(X(e), H - B); g.stroke(); } g.setLineDash([]); }
    g.strokeStyle = '#888'; g.beginPath(); g.moveTo(L, T); g.lineTo(L, H - B); g.lineTo(W - R, H - B); g.stroke();
    series.forEach(function (s) {
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = s.width || 1.5;
      if (s.dots) { s.pts.forEach(function (p) { g.beginPath(); g.arc(X(p[0]), Y(p[1]), 3.5, 0, 2 * Math.PI); g.fill(); }); }
      if (s.line !== false) { g.beginPath(); s.pts.forEach(function (p, i) { if (i) g.lineTo(X(p[0]), Y(p[1])); else g.moveTo(X(p[0]), Y(p[1])); }); g.stroke(); }
    });
    g.font = 'bold 13px system-ui, sans-serif';
    var lx = L + g.measureText(title).width + 18; g.font = '11px system-ui, sans-serif';
    series.forEach(function (s) { if (!s.pts.length) return; g.fillStyle = s.color; g.fillRect(lx, 9, 10, 3); g.fillStyle = '#1d1d1f'; g.fillText(s.name, lx + 14, 14); lx += 20 + g.measureText(s.name).width; });
  }

  function draw() {
    var pts = S.points, b = pts.length ? pts[pts.length - 1].batches : 1;
    var ep = function (k) { return S.metrics.filter(function (m) { return typeof m[k] === 'number'; }).map(function (m) { return [m.epoch * b, m[k]]; }); };
    chart('live-loss', 'Loss', [
      { name: 'batches', color: COLORS.batch, width: 1.5, pts: pts.map(function (p) { return [p.step, p.loss]; }) },
      { name: 'train (epoch mean)', color: COLORS.train, dots: true, pts: ep('trainLoss') },
      { name: 'test', color: COLORS.test, dots: true, pts: ep('testLoss') }
    ]);
    chart('live-accuracy', 'Accuracy', [
      { name: 'batches', color: COLORS.batch, width: 1.5, pts: pts.map(function (p) { return [p.step, p.accuracy]; }) },
      { name: 'train (epoch mean)', color: COLORS.train, dots: true, pts: ep('trainAccuracy') },
      { name: 'test', color: COLORS.test, dots: true, pts: ep('testAccuracy') }
    ], [0, 1]);
    var p = pts[pts.length - 1], out = document.getElementById('live-progress');
    if (!out) return;
    if (!p) { out.textContent = 'waiting for the first batches…'; return; }
    var done = p.epoch === p.epochs && p.batch === p.batches && S.metrics.length >= p.epochs;
    out.textContent = (done ? 'finished: ' : '') + 'epoch ' + p.epoch + '/' + p.epochs + ' · batch ' + p.batch + '/' + p.batches +
      ' · ' + Math.round(p.imagesPerSecond).toLocaleString('en-US') + ' img/s · loss ' + p.epochLoss.toFixed(4) + ' · accuracy ' + (100 * p.epochAccuracy).toFixed(1) + '%' +
      (S.gone ? ' · the run folder was deleted' : '');
  }

  function withVersion(src, v) { if (!src || /^(data:|[a-z]+:\/\/|#)/i.test(src)) return src; return src.replace(/[?#].*$/, '') + '?v=' + encodeURIComponent(v); }

  function initPicker(keep) {
    var sel = document.getElementById('epoch-select');
    if (!sel) return;
    document.documentElement.classList.add('js');
    var show = function (id) {
      var secs = document.querySelectorAll('section.epoch'), found = false;
      for (var i = 0; i < secs.length; i++) { var on = secs[i].id === id; secs[i].classList.toggle('shown', on); found = found || on; }
      if (!found && secs.length) { secs[0].classList.add('shown'); id = secs[0].id; }
      sel.value = id;
    };
    sel.addEventListener('change', function () { show(sel.value); history.replaceState(null, '', '#' + sel.value); });
    show(keep && document.getElementById(keep) ? keep : sel.options.length ? sel.options[0].value : '');
  }

  var swapping = false, pending = null;
  function swap(v) {
    if (swapping) { pending = v; return; }
    swapping = true;
    fetch(dir + 'index.html?v=' + encodeURIComponent(v), { cache: 'no-store' }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var main = doc.querySelector('main'), header = doc.querySelector('header');
      if (!main) return;
      var sel = document.getElementById('epoch-select'), latest = !sel || sel.selectedIndex <= 0, keep = sel ? sel.value : null, y = window.scrollY;
      var media = main.querySelectorAll('img[src], a[href]');
      for (var i = 0; i < media.length; i++) { var a = media[i].tagName === 'IMG' ? 'src' : 'href'; media[i].setAttribute(a, withVersion(media[i].getAttribute(a), v)); }
      var style = doc.querySelector('head style'), cur = document.querySelector('head style');
      if (style) { if (cur) cur.textContent = style.textContent; else document.head.appendChild(document.importNode(style, true)); }
      var oldMain = document.querySelector('main'), oldHeader = document.querySelector('header');
      if (oldMain) oldMain.parentNode.replaceChild(document.importNode(main, true), oldMain); else document.body.appendChild(document.importNode(main, true));
      if (header && oldHeader) oldHeader.innerHTML = header.innerHTML;
      var foot = doc.querySelector('footer'), oldFoot = document.querySelector('footer');
      if (foot && !oldFoot) document.body.appendChild(document.importNode(foot, true));
      document.title = doc.title;
      initPicker(latest ? null : keep);
      // The explorer (explorer/explorer.js) reloads its index (new moments) and draws into the new <main>;
      // a page that started as the waiting page loads its style and scripts first (in order).
      if (window.cnnvizExplorer && window.cnnvizExplorer.refresh) window.cnnvizExplorer.refresh(v);
      else {
        var has = function (sel, attr, value) { var l = document.querySelectorAll(sel); for (var q = 0; q < l.length; q++) if (l[q].getAttribute(attr) === value) return true; return false; };
        var links = doc.querySelectorAll('head link[rel=stylesheet]');
        for (var k = 0; k < links.length; k++) if (!has('link', 'href', links[k].getAttribute('href'))) document.head.appendChild(document.importNode(links[k], true));
        if (doc.body && doc.body.className) document.body.className = doc.body.className;
        var scripts = doc.querySelectorAll('body > script');
        for (var j = 0; j < scripts.length; j++) {
          var from = scripts[j].getAttribute('src');
          if (!from || has('script', 'src', from)) continue;
          var sc = document.createElement('script'); sc.async = false; sc.src = withVersion(from, v); document.body.appendChild(sc);
        }
      }
      window.scrollTo(0, y);
      S.swaps++; S.version = v;
      draw();
    }).catch(function () {}).then(function () { swapping = false; if (pending !== null) { var p = pending; pending = null; swap(p); } });
  }

  section();
  draw();
  var es = new EventSource('/.cnnviz/events?run=' + encodeURIComponent(run));
  function on(name, f) { es.addEventListener(name, function (ev) { S.events++; try { f(JSON.parse(ev.data)); } catch (e) { /* ignore a bad event */ } }); }
  on('hello', function (d) {
    S.points = d.points || []; S.metrics = d.metrics || []; S.pictures = d.pictures || []; S.gone = false;
    var waiting = document.querySelector('main[data-waiting]');
    if (d.report !== null && (waiting || (S.version !== null && d.report !== S.version))) swap(d.report);
    S.version = d.report; draw();
  });
  on('points', function (d) { S.points = S.points.concat(d); if (S.points.length > 20000) S.points = S.points.slice(-10000); draw(); });
  on('reset', function (d) { S.points = d; draw(); });
  on('metrics', function (d) { S.metrics = d; draw(); });
  on('pictures', function (d) { S.pictures = d; });
  on('report', function (d) { swap(d.version); });
  on('gone', function () { S.gone = true; draw(); });
  window.addEventListener('resize', draw);
})();
`;

/** The script text, to put in a <script> element (contains no "</script"). */
export function liveScript(): string {
  return SCRIPT;
}
