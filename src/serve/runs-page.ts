/**
 * The page at / of `cnnviz serve <folder of runs>`: the runs in a table (settings, epochs, last test
 * accuracy) with a link to each report; ticking several overlays their curves (per-epoch metrics
 * and batch-level live.jsonl points, refreshed every 3 s while they train) and shows the same
 * layer's pictures of one epoch side by side, drawn by the server at one colour scale shared by the
 * runs (/.cnnviz/compare, see compare.ts). Inline ES5, no external URLs.
 */

const PAGE_SCRIPT = String.raw`
(function () {
  var PALETTE = ['#2166ac', '#d6604d', '#1a9850', '#762a83', '#e08214', '#01665e', '#c51b7d', '#4d4d4d'];
  var runs = [], chosen = {}, data = {};
  function $(id) { return document.getElementById(id); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; }); }
  function href(name) { return '/' + encodeURIComponent(name) + '/'; }
  function selected() { return runs.filter(function (r) { return chosen[r.name]; }); }
  function colour(name) { var i = runs.map(function (r) { return r.name; }).indexOf(name); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }
  function lines(text) { var end = text.lastIndexOf('\n'); return end < 0 ? [] : text.slice(0, end).split('\n').filter(Boolean).map(function (l) { try { return JSON.parse(l); } catch (e) { return null; } }).filter(Boolean); }

  function table() {
    var rows = runs.map(function (r) {
      var m = r.metrics[r.metrics.length - 1] || {}, s = r.settings;
      return '<tr><td><input type="checkbox" data-run="' + esc(r.name) + '"' + (chosen[r.name] ? ' checked' : '') + '></td>' +
        '<td class="l"><span style="color:' + colour(r.name) + '">&#9632;</span> ' + (r.hasReport ? '<a href="' + href(r.name) + '">' + esc(r.name) + '</a>' : esc(r.name) + ' <span class="muted">(no report yet)</span>') + '</td>' +
        '<td class="l">' + esc(s.model || '') + '</td><td class="l">' + esc(s.optimizer || '') + '</td><td>' + esc(s.lr === undefined ? '' : s.lr) + '</td><td>' + esc(s.batchSize || '') + '</td>' +
        '<td>' + r.metrics.length + (s.epochs ? ' / ' + esc(s.epochs) : '') + '</td><td>' + (typeof m.testAccuracy === 'number' ? (100 * m.testAccuracy).toFixed(1) + '%' : '') + '</td></tr>';
    }).join('');
    $('runs').innerHTML = runs.length ? '<table><thead><tr><th></th><th class="l">run</th><th class="l">model</th><th class="l">optimizer</th><th>lr</th><th>batch</th><th>epochs</th><th>test acc.</th></tr></thead><tbody>' + rows + '</tbody></table>' : '<p>No runs in this folder yet (a run is a folder with run.json or index.html).</p>';
    var boxes = document.querySelectorAll('#runs input[data-run]');
    for (var i = 0; i < boxes.length; i++) boxes[i].addEventListener('change', function (e) { chosen[e.target.getAttribute('data-run')] = e.target.checked; refresh(); pictures(); });
  }

  function chart(id, title, series, yFixed) {
    var c = $(id), W = c.clientWidth || 640, H = c.clientHeight || 280, dpr = window.devicePixelRatio || 1;
    c.width = W * dpr; c.height = H * dpr;
    var g = c.getContext('2d'); g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, W, H);
    var L = 52, R = 12, T = 26, B = 30, xmax = 0, ymin = 0, ymax = -Infinity, n = 0;
    series.forEach(function (s) { s.pts.forEach(function (p) { n++; xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]); ymin = Math.min(ymin, p[1]); }); });
    c.setAttribute('data-points', String(n));
    g.font = 'bold 13px system-ui, sans-serif'; g.fillStyle = '#1d1d1f'; g.fillText(title, L, 16);
    if (!n) { g.font = '12px system-ui, sans-serif'; g.fillText('tick runs above to compare them', L, H / 2); return; }
    if (yFixed) { ymin = yFixed[0]; ymax = yFixed[1]; } else { ymax = ymax > ymin ? ymax * 1.05 : ymin + 1; }
    if (xmax <= 0) xmax = 1;
    var X = function (x) { return L + (W - L - R) * x / xmax; }, Y = function (y) { return T + (H - T - B) * (1 - (y - ymin) / (ymax - ymin)); };
    g.strokeStyle = '#888'; g.beginPath(); g.moveTo(L, T); g.lineTo(L, H - B); g.lineTo(W - R, H - B); g.stroke();
    g.font = '11px system-ui, sans-serif'; g.fillStyle = '#5a5a5f';
    for (var k = 0; k <= 4; k++) { var v = ymin + (ymax - ymin) * k / 4; g.fillText(v.toFixed(2), 6, Y(v) + 4); }
    for (var j = 0; j <= 5; j++) { var xv = xmax * j / 5; g.fillText(xv < 10 ? xv.toFixed(1) : Math.round(xv), X(xv) - 8, H - B + 14); }
    g.fillText('epoch', W - R - 34, H - 4);
    series.forEach(function (s) {
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = s.width || 1.5; g.globalAlpha = s.alpha || 1;
      g.beginPath(); s.pts.forEach(function (p, i) { if (i) g.lineTo(X(p[0]), Y(p[1])); else g.moveTo(X(p[0]), Y(p[1])); }); g.stroke();
      if (s.dots) s.pts.forEach(function (p) { g.beginPath(); g.arc(X(p[0]), Y(p[1]), 3, 0, 2 * Math.PI); g.fill(); });
      g.globalAlpha = 1;
    });
  }

  function draw() {
    var loss = [], acc = [];
    selected().forEach(function (r) {
      var d = data[r.name] || { metrics: [], live: [] }, col = colour(r.name);
      var frac = function (p) { return p.epoch - 1 + p.batch / p.batches; };
      loss.push({ color: col, width: 1, alpha: 0.45, pts: d.live.map(function (p) { return [frac(p), p.loss]; }) });
      loss.push({ color: col, dots: true, pts: d.metrics.map(function (m) { return [m.epoch, m.testLoss]; }) });
      acc.push({ color: col, width: 1, alpha: 0.45, pts: d.live.map(function (p) { return [frac(p), p.accuracy]; }) });
      acc.push({ color: col, dots: true, pts: d.metrics.map(function (m) { return [m.epoch, m.testAccuracy]; }) });
    });
    chart('cmp-loss', 'Loss (thin: training batches; dots: test set after each epoch)', loss);
    chart('cmp-accuracy', 'Accuracy (thin: training batches; dots: test set after each epoch)', acc, [0, 1]);
  }

  function refresh() {
    var sel = selected();
    Promise.all(sel.map(function (r) {
      var get = function (f) { return fetch(href(r.name) + f, { cache: 'no-store' }).then(function (x) { return x.ok ? x.text() : ''; }).catch(function () { return ''; }); };
      return Promise.all([get('metrics.jsonl'), get('live.jsonl')]).then(function (t) { data[r.name] = { metrics: lines(t[0]), live: lines(t[1]) }; });
    })).then(draw);
  }

  function pictures() {
    var sel = selected(), box = $('pictures'), pick = $('cmp-epoch');
    if (sel.length < 1) { box.innerHTML = '<p class="muted">Tick one or more runs.</p>'; pick.innerHTML = ''; return; }
    var common = null;
    sel.forEach(function (r) { var e = r.metrics.map(function (m) { return m.epoch; }); common = common === null ? e : common.filter(function (x) { return e.indexOf(x) >= 0; }); });
    var keep = pick.value;
    pick.innerHTML = (common || []).slice().reverse().map(function (e) { return '<option value="' + esc(e) + '">epoch ' + esc(e) + '</option>'; }).join('');
    if (keep && (common || []).indexOf(Number(keep)) >= 0) pick.value = keep;
    if (!common || !common.length) { box.innerHTML = '<p class="muted">The chosen runs have no finished epoch in common.</p>'; return; }
    box.innerHTML = '<p class="muted">Drawing the pictures at one shared colour scale…</p>';
    var q = '/.cnnviz/compare?epoch=' + encodeURIComponent(pick.value) + sel.map(function (r) { return '&run=' + encodeURIComponent(r.name); }).join('');
    fetch(q, { cache: 'no-store' }).then(function (x) { return x.json().then(function (j) { return { ok: x.ok, j: j }; }); }).then(function (res) {
      if (!res.ok) { box.innerHTML = '<p class="bad">' + esc(res.j.error || 'failed') + '</p>'; return; }
      var html = '<p class="muted">' + esc(res.j.note) + '</p>';
      res.j.layers.forEach(function (l) {
        html += '<div class="layer"><h3>' + esc(l.title) + '</h3>';
        l.quantities.forEach(function (qq) {
          html += '<h4>' + esc(qq.title) + (typeof qq.scale === 'number' && qq.scale > 0 ? ' <span class="muted">· shared scale s = ' + esc(qq.scale.toPrecision(3)) + '</span>' : '') + '</h4><div class="side">' + qq.files.map(function (f, i) {
            var cap = '<figcaption><span style="color:' + colour(sel[i].name) + '">&#9632;</span> ' + esc(sel[i].name) + '</figcaption>';
            return f ? '<figure><img src="' + esc(f) + '" loading="lazy" alt="' + esc(sel[i].name + ' ' + l.title + ' ' + qq.title) + '">' + cap + '</figure>' : '<figure><p class="muted">(no such picture in this run)</p>' + cap + '</figure>';
          }).join('') + '</div>';
        });
        html += '</div>';
      });
      box.innerHTML = html;
    }).catch(function () { box.innerHTML = '<p class="bad">could not draw the comparison</p>'; });
  }

  function load() {
    return fetch('/.cnnviz/runs', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (j) { runs = j.runs; table(); });
  }
  $('cmp-epoch').addEventListener('change', pictures);
  load().then(function () { refresh(); pictures(); });
  setInterval(function () { load().then(refresh); }, 3000);
  window.addEventListener('resize', draw);
})();
`;

export function runsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>runs · cnnviz</title>
<style>
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1f;background:#fafafa}
header,main{max-width:1500px;margin:0 auto;padding:0 20px}header{padding-top:18px}
h2{font-size:21px;border-bottom:1px solid #d8d8dc;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d8d8dc;padding:3px 7px;text-align:right}th{background:#f0f0f3}td.l,th.l{text-align:left}
.muted{color:#5a5a5f}.bad{color:#c62828}a{color:#2166ac}
canvas{width:680px;height:280px;max-width:100%;border:1px solid #d8d8dc;background:#fff}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.layer{background:#fff;border:1px solid #d8d8dc;border-radius:6px;padding:10px 14px;margin:12px 0}
.side{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
figure{margin:0}figure img{max-width:100%;border:1px solid #d8d8dc;display:block}figcaption{font-size:13px}
</style></head><body>
<header><h1>cnnviz runs</h1><p class="muted">Tick runs to overlay their curves and compare their pictures. Each run's name opens its own report (live while it trains).</p></header>
<main>
<h2>Runs</h2><div id="runs"><p class="muted">loading…</p></div>
<h2>Curves</h2><div class="charts"><canvas id="cmp-loss"></canvas><canvas id="cmp-accuracy"></canvas></div>
<h2>Pictures side by side</h2>
<p><label>Epoch: <select id="cmp-epoch"></select></label></p>
<div id="pictures"><p class="muted">Tick one or more runs.</p></div>
</main>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
