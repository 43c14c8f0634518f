/**
 * The explorer's page script (plain ES5, written to <out>/explorer/explorer.js) and style sheet.
 * It works from disk (file://): every data file is a script that calls a global function
 * (cnnvizExplorerIndex, ...Layer, ...Data, ...Probe, ...Curves), loaded with <script src>, never fetch().
 * It draws the four quantities of the open layer on canvases from the float32 data, so the value
 * under the pointer is the stored number, not a colour read back. window.cnnvizExplorer exposes its
 * state and a few helpers for tests (locate, rfFor, ready).
 */

const SCRIPT = String.raw`
(function () {
  'use strict';
  var X = window.cnnvizExplorer = {
    index: null, layerInfo: {}, data: {}, probe: {}, curves: null, version: '',
    cur: { layer: 0, moment: -1, channel: 0, image: 0 }, scaleMode: 'auto', rf: null, renders: 0, pending: 0, errors: []
  };
  var loading = {};
  var waiters = {};
  var QS = ['activations', 'activation-gradients', 'weights', 'weight-gradients'];
  var QTITLE = { 'activations': 'Activations', 'activation-gradients': 'Activation gradients', 'weights': 'Weights', 'weight-gradients': 'Weight gradients' };

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function fmt(v) {
    if (v === 0) return '0';
    if (v !== v) return 'NaN';
    var a = Math.abs(v);
    if (a >= 0.01 && a < 10000) return String(Number(v.toPrecision(4)));
    return v.toExponential(3).replace(/\.?0+e/, 'e');
  }
  function pct(f) { return (100 * f).toFixed(1) + '%'; }
  function pad3(n) { return ('00' + n).slice(-3); }
  function withV(src) { return X.version ? src + '?v=' + encodeURIComponent(X.version) : src; }

  // Data files are scripts; each calls one of these and hands over its payload.
  function settle(key, value) { var w = waiters[key]; delete waiters[key]; if (w) for (var i = 0; i < w.length; i++) w[i](value); }
  function b64(s) { var bin = atob(s), n = bin.length, u = new Uint8Array(n); for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i); return u; }
  window.cnnvizExplorerIndex = function (d) { X.index = d; if (X.started) refreshed(); };
  window.cnnvizExplorerLayer = function (d) { X.layerInfo[d.index] = d; settle('layer:' + d.index, d); };
  // float16 bit pattern -> value, built once (65,536 entries).
  var HALF = null;
  function halfTable() {
    if (HALF) return HALF;
    HALF = new Float32Array(65536);
    for (var h = 0; h < 65536; h++) {
      var e = (h >> 10) & 31, m = h & 1023;
      var v = e === 0 ? m * Math.pow(2, -24) : e === 31 ? (m ? NaN : Infinity) : (1024 + m) * Math.pow(2, e - 25);
      HALF[h] = h & 0x8000 ? -v : v;
    }
    return HALF;
  }
  window.cnnvizExplorerData = function (h, payload) {
    var bytes = b64(payload), half = h.dtype === 'float16';
    // float16: each block's values times its power-of-two scale (exact), so the page holds float32 either way.
    var values = half ? new Float32Array(bytes.length >> 1) : new Float32Array(bytes.buffer, 0, bytes.length >> 2);
    var rec = { header: h, values: values, blocks: {}, dtype: half ? 'float16' : 'float32' };
    h.blocks.forEach(function (b) {
      var n = 1; b.shape.forEach(function (s) { n *= s; });
      if (half) {
        var T = halfTable(), u = new Uint16Array(bytes.buffer, b.offset * 2, n), sc = b.scale || 1;
        for (var i = 0; i < n; i++) values[b.offset + i] = T[u[i]] * sc;
      }
      rec.blocks[b.quantity] = { shape: b.shape, data: values.subarray(b.offset, b.offset + n) };
    });
    X.data[h.moment + '/' + h.layer] = rec;
    settle('data:' + h.moment + '/' + h.layer, rec);
  };
  window.cnnvizExplorerProbe = function (h, payload) { var rec = { header: h, images: b64(payload) }; X.probe[h.moment] = rec; settle('probe:' + h.moment, rec); };
  window.cnnvizExplorerCurves = function (d) { X.curves = d; if (X.started) drawCurves(); };

  function load(src, key, have) {
    if (have) return Promise.resolve(have);
    if (loading[key]) return loading[key];
    var p = new Promise(function (resolve) {
      (waiters[key] = waiters[key] || []).push(resolve);
      var s = document.createElement('script');
      s.src = withV(src);
      s.onerror = function () { settle(key, null); };
      s.onload = function () { settle(key, null); if (s.parentNode) s.parentNode.removeChild(s); };
      document.head.appendChild(s);
    });
    loading[key] = p;
    p.then(function (v) { if (!v) delete loading[key]; });
    return p;
  }
  function layerFile(i) { return 'explorer/layer-' + pad3(i) + '.js'; }
  function loadLayer(i) { return load(layerFile(i), 'layer:' + i, X.layerInfo[i]); }
  function loadData(m, i) {
    var mo = X.index.moments[m];
    if (!mo || !mo.data) return Promise.resolve(null);
    return load(mo.dir + '/' + X.index.layerFiles[i], 'data:' + mo.dir + '/' + i, X.data[mo.dir + '/' + i]);
  }
  function loadProbe(m) {
    var mo = X.index.moments[m];
    if (!mo || !mo.data) return Promise.resolve(null);
    return load(mo.dir + '/' + X.index.probeFile, 'probe:' + mo.dir, X.probe[mo.dir]);
  }

  // Colour maps: the same tables the PNG pictures use (colormap.ts).
  function colour(kind, v, s, out, o) {
    var lut, idx;
    if (v !== v) { out[o] = 255; out[o + 1] = 0; out[o + 2] = 255; out[o + 3] = 255; return; }
    if (kind === 'sequential') {
      lut = X.index.colormaps.sequential;
      idx = !(v > 0) || !(s > 0) ? 0 : v / s >= 1 ? 255 : Math.round(v / s * 255);
    } else {
      lut = X.index.colormaps.diverging;
      var t = v === 0 || !(s > 0) ? 0 : Math.max(-1, Math.min(1, v / s));
      idx = Math.round(128 + 128 * t);
    }
    out[o] = lut[3 * idx]; out[o + 1] = lut[3 * idx + 1]; out[o + 2] = lut[3 * idx + 2]; out[o + 3] = 255;
  }

  // A grid of tiles: rows x cols, each th x tw values zoomed by z, gaps of g px.
  function gridGeom(rows, cols, th, tw, maxW) {
    var g = th * tw === 1 ? 1 : 2;
    var z = Math.max(1, Math.min(th * tw === 1 ? 12 : 10, Math.floor(64 / Math.max(th, tw)), Math.floor((maxW - cols * g) / (cols * tw))));
    if (th * tw === 1) z = Math.max(z, 6);
    // Small maps stay readable (the box scrolls instead).
    else z = Math.max(z, Math.min(4, Math.ceil(24 / Math.max(th, tw))));
    return { rows: rows, cols: cols, th: th, tw: tw, z: z, g: g, w: cols * (tw * z + g) + g, h: rows * (th * z + g) + g };
  }
  function drawGrid(cv, G, valueAt, kind, s, mark) {
    cv.width = G.w; cv.height = G.h;
    var g = cv.getContext('2d'), img = g.createImageData(G.w, G.h), d = img.data, i;
    for (i = 0; i < d.length; i += 4) { d[i] = 200; d[i + 1] = 200; d[i + 2] = 204; d[i + 3] = 255; }
    var col = [0, 0, 0, 0];
    for (var r = 0; r < G.rows; r++) for (var c = 0; c < G.cols; c++) {
      var x0 = G.g + c * (G.tw * G.z + G.g), y0 = G.g + r * (G.th * G.z + G.g);
      for (var y = 0; y < G.th; y++) for (var x = 0; x < G.tw; x++) {
        colour(kind, valueAt(r, c, y, x), s, col, 0);
        for (var yy = 0; yy < G.z; yy++) {
          var o = ((y0 + y * G.z + yy) * G.w + x0 + x * G.z) * 4;
          for (var xx = 0; xx < G.z; xx++, o += 4) { d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2]; d[o + 3] = 255; }
        }
      }
    }
    g.putImageData(img, 0, 0);
    if (mark) {
      g.strokeStyle = '#f0a000'; g.lineWidth = 2;
      if (mark.col !== undefined && mark.col < G.cols) g.strokeRect(G.g + mark.col * (G.tw * G.z + G.g) - 1, 0.5, G.tw * G.z + 2, G.h - 1);
      if (mark.row !== undefined && mark.row < G.rows) { g.strokeStyle = '#444'; g.lineWidth = 1; g.strokeRect(0.5, G.g + mark.row * (G.th * G.z + G.g) - 1, G.w - 1, G.th * G.z + 2); }
    }
  }
  function cellAt(G, px, py) {
    var c = Math.floor((px - G.g) / (G.tw * G.z + G.g)), r = Math.floor((py - G.g) / (G.th * G.z + G.g));
    if (c < 0 || r < 0 || c >= G.cols || r >= G.rows) return null;
    var x = Math.floor((px - G.g - c * (G.tw * G.z + G.g)) / G.z), y = Math.floor((py - G.g - r * (G.th * G.z + G.g)) / G.z);
    if (x < 0 || y < 0 || x >= G.tw || y >= G.th) return null;
    return { r: r, c: c, y: y, x: x };
  }

  function facts() { return X.index.layers[X.cur.layer]; }
  function info() { return X.layerInfo[X.cur.layer]; }
  function momentInfo(L, m) { return L && L.moments[m]; }

  /** The colour scale of quantity q of the open layer: common to all moments, or this moment's. */
  function scaleOf(q) {
    var L = info(), m = X.cur.moment, sc = momentInfo(L, m) && L.moments[m].scales[q];
    if (!sc) return { s: 0, kind: 'diverging', how: '' };
    // Gradients change by orders of magnitude during training (the untrained step 0 dwarfs the last epoch),
    // so 'auto' gives them this moment's scale and keeps activations and weights comparable across moments.
    var mode = X.scaleMode === 'auto' ? (q.indexOf('gradients') >= 0 ? 'moment' : 'common') : X.scaleMode;
    if (mode === 'moment') return { s: sc.robust, kind: sc.kind, how: 'this moment: 99.5th percentile of |value|' };
    var s = 0, n = 0;
    L.moments.forEach(function (mm) { var x = mm.scales[q]; if (x && x.robust > s) s = x.robust; if (x) n++; });
    return { s: s, kind: sc.kind, how: 'common to the ' + n + ' moments: the largest 99.5th percentile of |value| among them' };
  }

  function tensorView(q, blk) {
    var sh = blk.shape, d = blk.data;
    // (P, C, H, W) or (K, Cin, kH, kW): rows are the first axis, columns the second.
    return { rows: sh[0], cols: sh[1], th: sh[2], tw: sh[3], at: function (r, c, y, x) { return d[((r * sh[1] + c) * sh[2] + y) * sh[3] + x]; } };
  }
  function posText(q, r, c, y, x) {
    return q === 'weights' || q === 'weight-gradients'
      ? 'filter ' + r + ' · input channel ' + c + ' · y ' + y + ' · x ' + x
      : 'image ' + r + ' · channel ' + c + ' · y ' + y + ' · x ' + x;
  }

  // float16 data (--explorer-data half) holds each value to 11 significant bits: say so where values are read.
  function precision(rec) { return rec && rec.dtype === 'float16' ? ' (stored as float16: within 0.05%)' : ''; }

  var views = {};
  function quantityPanel(q, rec, box) {
    var L = info(), f = facts(), m = X.cur.moment, mi = momentInfo(L, m);
    var fig = el('figure', 'qpanel'); fig.setAttribute('data-quantity', q);
    var head = el('figcaption'); head.appendChild(el('b', '', QTITLE[q]));
    fig.appendChild(head);
    var reason = mi && mi.noPicture && mi.noPicture[q];
    var blk = rec && rec.blocks[q];
    if (!blk) {
      if (!reason && !(mi && mi.scales[q])) return null;
      fig.appendChild(el('p', 'explain-q', reason || (rec && rec.header.omitted && rec.header.omitted[q] ? 'Not kept for the explorer: ' + rec.header.omitted[q] + '.' : 'No data for this moment.')));
      box.appendChild(fig); return fig;
    }
    var sc = scaleOf(q), V = tensorView(q, blk);
    var avail = Math.max(240, Math.min(box.clientWidth || 900, 1100) - 24);
    var G = gridGeom(V.rows, V.cols, V.th, V.tw, q.indexOf('weight') === 0 ? avail : Math.max(avail, 700));
    var clipped = 0, n = blk.data.length;
    for (var i = 0; i < n; i++) { var v = blk.data[i]; if (sc.kind === 'sequential' ? v > sc.s || v < 0 : Math.abs(v) > sc.s) clipped++; }
    head.appendChild(document.createTextNode(' · ' + (q.indexOf('weight') === 0 ? 'rows: filters, columns: input channels' : 'rows: probe images, columns: channels') + ' · scale ' + (sc.kind === 'sequential' ? '0 .. ' : '±') + fmt(sc.s) + ' (' + sc.how + ')' + (clipped ? ' · ' + clipped + ' of ' + n + ' values beyond it' : '')));
    var wrap = el('div', 'cbox'), cv = el('canvas', 'qcanvas');
    cv.setAttribute('data-quantity', q);
    wrap.appendChild(cv); fig.appendChild(wrap);
    var ro = el('p', 'readout', 'Point at the picture to read a value; click to choose the ' + (q.indexOf('weight') === 0 ? 'filter' : 'image and channel') + '.');
    ro.setAttribute('data-quantity', q);
    fig.appendChild(ro);
    var mark = q.indexOf('weight') === 0 ? { row: X.cur.channel } : { col: X.cur.channel, row: X.cur.image };
    drawGrid(cv, G, V.at, sc.kind, sc.s, mark);
    views[q] = { G: G, V: V, cv: cv, scale: sc };
    cv.addEventListener('mousemove', function (ev) {
      var rect = cv.getBoundingClientRect(), px = (ev.clientX - rect.left) * cv.width / rect.width, py = (ev.clientY - rect.top) * cv.height / rect.height;
      var at = cellAt(G, px, py);
      if (!at) return;
      var val = V.at(at.r, at.c, at.y, at.x);
      ro.textContent = QTITLE[q] + ' · ' + posText(q, at.r, at.c, at.y, at.x) + ' = ' + fmt(val) + precision(rec) + '  (scale ' + (sc.kind === 'sequential' ? '0 .. ' : '±') + fmt(sc.s) + ', ' + X.index.moments[m].label + ')';
      ro.setAttribute('data-value', String(val));
      ro.setAttribute('data-pos', [at.r, at.c, at.y, at.x].join(','));
    });
    cv.addEventListener('click', function (ev) {
      var rect = cv.getBoundingClientRect(), at = cellAt(G, (ev.clientX - rect.left) * cv.width / rect.width, (ev.clientY - rect.top) * cv.height / rect.height);
      if (!at) return;
      if (q.indexOf('weight') === 0) { X.cur.channel = at.r; render(); return; }
      X.cur.channel = at.c; X.cur.image = at.r;
      X.rf = (f.outShape[1] > 1 || f.outShape[2] > 1) ? { layer: f.index, image: at.r, channel: at.c, y: at.y, x: at.x } : null;
      render();
    });
    fig.appendChild(el('p', 'explain-q', L.words[q] || ''));
    var png = mi && mi.files && mi.files[q];
    if (png) {
      var p = el('p', 'pnglinks'), a = el('a', '', 'labelled picture (' + q + '.png)'), ps = mi.pictureScales && mi.pictureScales[q];
      a.href = png; p.appendChild(a);
      if (ps && ps.scale > 0) p.appendChild(document.createTextNode(', drawn with its own colour scale s = ' + fmt(ps.scale) + (ps.clipped > 0 ? ', ' + ps.clipped.toLocaleString('en-US') + ' of ' + ps.count.toLocaleString('en-US') + ' values beyond s' : '')));
      fig.appendChild(p);
    }
    box.appendChild(fig);
    return fig;
  }

  function spark(values, cur, w, h) {
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('class', 'spark');
    var pts = [], lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (typeof v === 'number') { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    if (lo === Infinity) return svg;
    if (hi === lo) { hi += 1e-12; lo -= 1e-12; }
    var n = values.length, X0 = function (i) { return n > 1 ? 2 + (w - 4) * i / (n - 1) : w / 2; }, Y0 = function (v) { return h - 3 - (h - 6) * (v - lo) / (hi - lo); };
    values.forEach(function (v, i) { if (typeof v === 'number') pts.push(X0(i).toFixed(1) + ',' + Y0(v).toFixed(1)); });
    var pl = document.createElementNS(ns, 'polyline'); pl.setAttribute('points', pts.join(' ')); pl.setAttribute('fill', 'none'); pl.setAttribute('stroke', '#2166ac'); pl.setAttribute('stroke-width', '1.5');
    svg.appendChild(pl);
    if (typeof values[cur] === 'number') { var c = document.createElementNS(ns, 'circle'); c.setAttribute('cx', X0(cur)); c.setAttribute('cy', Y0(values[cur])); c.setAttribute('r', '3'); c.setAttribute('fill', '#d6604d'); svg.appendChild(c); }
    return svg;
  }

  function drill(rec, box) {
    var f = facts(), L = info(), k = X.cur.channel, m = X.cur.moment;
    var sec = el('section', 'drill'); sec.id = 'drill';
    var h = el('h4', '', 'Channel ' + k + ' side by side');
    sec.appendChild(h);
    var pick = el('p', 'drillpick');
    var lab = el('label', '', 'channel '), inp = el('input'); inp.type = 'number'; inp.min = '0'; inp.max = String(f.outShape[0] - 1); inp.value = String(k); inp.id = 'channel-input';
    inp.addEventListener('change', function () { var v = Math.max(0, Math.min(f.outShape[0] - 1, Math.floor(Number(inp.value) || 0))); X.cur.channel = v; render(); });
    lab.appendChild(inp); pick.appendChild(lab);
    pick.appendChild(document.createTextNode(' of ' + f.outShape[0] + ' · click a tile above to choose another'));
    sec.appendChild(pick);
    var row = el('div', 'drillrow');
    function tiles(title, q, pick) {
      var blk = rec && rec.blocks[q];
      if (!blk) return;
      var V = tensorView(q, blk), sc = scaleOf(q), fig = el('figure', 'dfig'); fig.setAttribute('data-drill', q);
      fig.appendChild(el('figcaption', '', title));
      var n = pick === 'filter' ? V.cols : V.rows;
      var G = gridGeom(1, n, V.th, V.tw, 520);
      G.z = Math.max(G.z, Math.min(8, Math.floor(96 / Math.max(V.th, V.tw))) || 1); G.w = n * (V.tw * G.z + G.g) + G.g; G.h = V.th * G.z + 2 * G.g;
      var cv = el('canvas', 'qcanvas');
      drawGrid(cv, G, pick === 'filter' ? function (r, c, y, x) { return V.at(k, c, y, x); } : function (r, c, y, x) { return V.at(c, k, y, x); }, sc.kind, sc.s);
      var wrap = el('div', 'cbox small'); wrap.appendChild(cv); fig.appendChild(wrap);
      var ro = el('p', 'readout', pick === 'filter' ? 'one tile per input channel' : 'one tile per probe image'); fig.appendChild(ro);
      cv.addEventListener('mousemove', function (ev) {
        var rect = cv.getBoundingClientRect(), at = cellAt(G, (ev.clientX - rect.left) * cv.width / rect.width, (ev.clientY - rect.top) * cv.height / rect.height);
        if (!at) return;
        var val = pick === 'filter' ? V.at(k, at.c, at.y, at.x) : V.at(at.c, k, at.y, at.x);
        ro.textContent = QTITLE[q] + ' · ' + (pick === 'filter' ? posText(q, k, at.c, at.y, at.x) : posText(q, at.c, k, at.y, at.x)) + ' = ' + fmt(val) + precision(rec);
        ro.setAttribute('data-value', String(val));
      });
      row.appendChild(fig);
    }
    if (f.weightShape && k < f.weightShape[0]) tiles('Filter ' + k + ' (its weights, per input channel)', 'weights', 'filter');
    tiles('Map ' + k + ' for every probe image', 'activations', 'map');
    tiles('Its gradient d(loss)/d(map ' + k + ')', 'activation-gradients', 'map');
    sec.appendChild(row);
    // Top 9 patches: row k of top-patches.png, cut out where the picture draws it.
    var mi = momentInfo(L, m);
    if (mi && mi.patches && L.patchRf) {
      var rf = L.patchRf, side = Math.max(rf.sizeH, rf.sizeW), z = Math.max(1, Math.min(11, Math.round(56 / side)));
      var rowH = rf.sizeH * z + 4 + X.index.patchRowText, fig = el('figure', 'dfig'); fig.setAttribute('data-drill', 'top-patches');
      fig.appendChild(el('figcaption', '', 'Top 9 patches of ' + mi.patches.subsetImages + ' test images (best first): the ' + rf.sizeW + '×' + rf.sizeH + ' pixels a value of channel ' + k + ' depends on'));
      var crop = el('div', 'patchcrop'), im = el('img');
      crop.style.height = rowH + 'px'; crop.style.width = Math.min(9 * (rf.sizeW * z + 4), 900) + 'px';
      im.alt = 'top patches of channel ' + k;
      im.addEventListener('load', function () { var gridY = im.naturalHeight - 10 - f.outShape[0] * rowH; im.style.top = -(gridY + k * rowH) + 'px'; im.style.left = '-86px'; });
      im.src = withV(mi.patches.png);
      crop.appendChild(im); fig.appendChild(crop); row.appendChild(fig);
    }
    // Health of channel k over the moments.
    var hs = el('div', 'chealth'), series = [
      ['mean activation', 'mean'], ['activation std', 'std'], ['fraction exactly 0', 'zero'], ['mean |gradient|', 'gradMeanAbs'], ['filter norm', 'weightNorm'], ['filter-gradient norm', 'weightGradNorm']
    ];
    hs.appendChild(el('h5', '', 'Channel ' + k + ' over the moments (dot: the moment shown)'));
    var tb = el('table', 'sparks');
    series.forEach(function (s) {
      var vals = L.moments.map(function (mm) { var c = mm.channels && mm.channels[s[1]]; return c ? c[k] : undefined; });
      if (!vals.some(function (v) { return typeof v === 'number'; })) return;
      var tr = el('tr'); tr.appendChild(el('th', 'l', s[0]));
      var td = el('td'); td.appendChild(spark(vals, m, 160, 26)); tr.appendChild(td);
      tr.appendChild(el('td', '', typeof vals[m] === 'number' ? (s[1] === 'zero' ? pct(vals[m]) : fmt(vals[m])) : '–'));
      tb.appendChild(tr);
    });
    hs.appendChild(tb); sec.appendChild(hs);
    box.appendChild(sec);
  }

  // Receptive field: the input rectangle of every layer an output position depends on (clipped to
  // each layer's map, since padding depends on nothing).
  function rfFor(li, y, x) {
    var Ls = X.index.layers, rects = {};
    rects[li] = [y, y, x, x];
    for (var k = li; k >= 1; k--) {
      var r = rects[k]; if (!r) continue;
      var l = Ls[k];
      l.inputs.forEach(function (j) {
        var s = Ls[j].outShape, H = s[1], W = s[2], n;
        if (l.window) {
          var w = l.window;
          n = [r[0] * w.stride - w.pad, r[1] * w.stride - w.pad + w.kernelH - 1, r[2] * w.stride - w.pad, r[3] * w.stride - w.pad + w.kernelW - 1];
        } else if (H === l.outShape[1] && W === l.outShape[2]) n = r.slice();
        else n = [0, H - 1, 0, W - 1];
        n = [Math.max(0, n[0]), Math.min(H - 1, n[1]), Math.max(0, n[2]), Math.min(W - 1, n[3])];
        var o = rects[j];
        rects[j] = o ? [Math.min(o[0], n[0]), Math.max(o[1], n[1]), Math.min(o[2], n[2]), Math.max(o[3], n[3])] : n;
      });
    }
    return rects;
  }
  X.rfFor = rfFor;

  function rfPanel(box) {
    var R = X.rf, f = facts();
    if (!R || R.layer !== f.index) return;
    var rects = rfFor(R.layer, R.y, R.x), sec = el('section', 'rfpanel'); sec.id = 'rf';
    sec.appendChild(el('h4', '', 'Receptive field of layer ' + R.layer + ', image ' + R.image + ', channel ' + R.channel + ', y ' + R.y + ', x ' + R.x));
    var r0 = rects[0];
    sec.appendChild(el('p', 'explain-q', 'The outlined pixels are all the input this one output value depends on' + (r0 ? ': rows ' + r0[0] + '–' + r0[1] + ', columns ' + r0[2] + '–' + r0[3] + ' of the image (' + (r0[1] - r0[0] + 1) + '×' + (r0[3] - r0[2] + 1) + ')' : '') + '. The layers in between are shown with their own outline (mean |activation| over channels, image ' + R.image + ').'));
    var strip = el('div', 'rfstrip'); sec.appendChild(strip);
    var chain = Object.keys(rects).map(Number).filter(function (j) { return j !== R.layer; }).sort(function (a, b) { return b - a; });
    var shown = chain.filter(function (j) { return j !== 0; }).slice(0, 6);
    function panel(title, cvs, rect, z, j) {
      var fig = el('figure', 'rffig'); fig.appendChild(el('figcaption', '', title));
      var wrapper = el('div', 'rfwrap'); wrapper.appendChild(cvs);
      var box2 = el('div', 'rfbox'); box2.setAttribute('data-layer', String(j));
      box2.setAttribute('data-rect', rect.join(','));
      box2.style.left = (rect[2] * z) + 'px'; box2.style.top = (rect[0] * z) + 'px'; box2.style.width = ((rect[3] - rect[2] + 1) * z) + 'px'; box2.style.height = ((rect[1] - rect[0] + 1) * z) + 'px';
      wrapper.appendChild(box2); fig.appendChild(wrapper); strip.appendChild(fig);
    }
    var m = X.cur.moment;
    loadProbe(m).then(function (pr) {
      if (pr && r0) {
        var sh = pr.header.shape, H = sh[2], W = sh[3], z = Math.max(2, Math.floor(192 / Math.max(H, W))), cv = el('canvas', 'rfimg');
        cv.width = W * z; cv.height = H * z;
        var g = cv.getContext('2d'), img = g.createImageData(W * z, H * z), base = R.image * 3 * H * W;
        for (var y = 0; y < H * z; y++) for (var x = 0; x < W * z; x++) {
          var o = (y * W * z + x) * 4, p = base + Math.floor(y / z) * W + Math.floor(x / z);
          img.data[o] = pr.images[p]; img.data[o + 1] = pr.images[p + H * W]; img.data[o + 2] = pr.images[p + 2 * H * W]; img.data[o + 3] = 255;
        }
        g.putImageData(img, 0, 0);
        panel('probe image ' + R.image + ' (input)', cv, r0, z, 0);
      }
      return Promise.all(shown.map(function (j) { return loadData(m, j).then(function (rec) { return [j, rec]; }); }));
    }).then(function (list) {
      (list || []).forEach(function (p) {
        var j = p[0], rec = p[1], blk = rec && rec.blocks.activations;
        if (!blk) return;
        var sh = blk.shape, C = sh[1], H = sh[2], W = sh[3], z = Math.max(1, Math.floor(128 / Math.max(H, W))), mean = new Float32Array(H * W), s = 0;
        for (var c = 0; c < C; c++) for (var i = 0; i < H * W; i++) mean[i] += Math.abs(blk.data[(R.image * C + c) * H * W + i]) / C;
        for (i = 0; i < H * W; i++) s = Math.max(s, mean[i]);
        var cv = el('canvas', 'rfimg'), G = { rows: 1, cols: 1, th: H, tw: W, z: z, g: 0, w: W * z, h: H * z };
        drawGrid(cv, G, function (r, cc, y, x) { return mean[y * W + x]; }, 'sequential', s);
        panel('layer ' + j + ' · ' + X.index.layers[j].name, cv, rects[j], z, j);
      });
      var rest = chain.filter(function (j) { return j !== 0 && shown.indexOf(j) < 0; });
      if (rest.length) sec.appendChild(el('p', 'muted', 'Further layers between, their rectangles (rows, columns): ' + rest.map(function (j) { var r = rects[j]; return j + ': ' + r[0] + '–' + r[1] + ', ' + r[2] + '–' + r[3]; }).join(' · ')));
    });
    box.appendChild(sec);
  }

  function statsTable(mi) {
    var t = el('table', 'xstats'), hr = el('tr');
    ['quantity', 'min', 'max', 'mean', 'std', 'exactly 0'].forEach(function (h, i) { hr.appendChild(el('th', i ? '' : 'l', h)); });
    t.appendChild(hr);
    QS.forEach(function (q) {
      var r = mi && mi.ranges[q]; if (!r) return;
      var tr = el('tr'); tr.appendChild(el('th', 'l', QTITLE[q]));
      [r.min, r.max, r.mean, r.std].forEach(function (v) { tr.appendChild(el('td', '', fmt(v))); });
      tr.appendChild(el('td', '', pct(r.zeroFraction || 0))); t.appendChild(tr);
    });
    return t;
  }

  function linkList(label, list) {
    var p = el('span', 'links'); p.appendChild(document.createTextNode(label));
    list.forEach(function (j, i) { var a = el('a', '', j + ' ' + X.index.layers[j].name); a.href = '#layer-' + j; p.appendChild(a); if (i < list.length - 1) p.appendChild(document.createTextNode(', ')); });
    return p;
  }

  var token = 0;
  function render() {
    if (!X.index) return;
    var my = ++token, li = X.cur.layer, m = X.cur.moment;
    X.pending++;
    Promise.all([loadLayer(li), loadData(m, li)]).then(function (r) {
      X.pending--;
      if (my !== token) return;
      var L = r[0], rec = r[1], f = facts(), view = document.getElementById('layer-view');
      if (!view) return;
      views = {};
      var frag = el('article', 'xlayer'); frag.id = 'open-layer'; frag.setAttribute('data-layer', String(li)); frag.setAttribute('data-moment', String(m));
      var h = el('h3', '', 'Layer ' + f.index + ' · ' + f.name + ' · ' + f.type + ' '); h.appendChild(el('span', 'muted', '— ' + f.description)); frag.appendChild(h);
      if (!L) { frag.appendChild(el('p', 'bad', 'This layer\u2019s file (' + layerFile(li) + ') is missing.')); view.replaceChildren(frag); return; }
      var mi = momentInfo(L, m);
      if (L.note) frag.appendChild(el('p', 'what', L.note));
      var fp = el('p', 'facts');
      fp.appendChild(document.createTextNode('Output ' + f.outShape.join('×') + ' per image · ' + f.paramCount.toLocaleString('en-US') + ' parameters' + (f.weightShape ? ' (weights ' + f.weightShape.join('×') + ')' : '') + ' · '));
      if (f.inputs.length) fp.appendChild(linkList('reads ', f.inputs));
      var readers = X.index.layers.filter(function (l) { return l.inputs.indexOf(li) >= 0; }).map(function (l) { return l.index; });
      if (readers.length) { fp.appendChild(document.createTextNode(' · ')); fp.appendChild(linkList('read by ', readers)); }
      frag.appendChild(fp);
      var nav = el('p', 'prevnext');
      if (li > 0) { var a = el('a', '', '← layer ' + (li - 1)); a.href = '#layer-' + (li - 1); nav.appendChild(a); nav.appendChild(document.createTextNode(' ')); }
      if (li < X.index.layers.length - 1) { var b = el('a', '', 'layer ' + (li + 1) + ' →'); b.href = '#layer-' + (li + 1); nav.appendChild(b); }
      if (mi && mi.stats) { nav.appendChild(document.createTextNode(' · ')); var st = el('a', '', 'stats.json'); st.href = mi.stats; nav.appendChild(st); }
      frag.appendChild(nav);
      if (!rec) frag.appendChild(el('p', 'muted', X.index.moments[m] && X.index.moments[m].data ? 'Loading…' : 'No float32 data for ' + (X.index.moments[m] ? X.index.moments[m].label : 'this moment') + ' (written by an older version): the labelled pictures are linked below.'));
      frag.appendChild(statsTable(mi));
      var quad = el('div', 'quad'); frag.appendChild(quad);
      view.replaceChildren(frag);
      QS.forEach(function (q) { quantityPanel(q, rec, quad); if (!rec && mi && mi.files[q]) { var p = el('p', 'pnglinks'), a2 = el('a', '', QTITLE[q] + ' (' + q + '.png)'); a2.href = mi.files[q]; p.appendChild(a2); quad.appendChild(p); } });
      if (X.cur.channel >= f.outShape[0]) X.cur.channel = 0;
      if (rec) drill(rec, frag);
      rfPanel(frag);
      var ex = (mi && mi.extras) || [], an = L.animations || [];
      if (ex.length || an.length) {
        // The layer's own title and words for each extra picture (LayerWords.channels / .branches).
        var xw = L.extraWords || {};
        var det = el('details', 'extras'); det.appendChild(el('summary', '', 'More pictures of this layer (' + ex.map(function (x) { return xw[x.kind] ? xw[x.kind][0] : x.kind; }).concat(an.map(function (a3) { return 'animation of the ' + a3.quantity; })).join(', ') + ')'));
        ex.forEach(function (x) { var fig = el('figure'), img = el('img'); img.loading = 'lazy'; img.src = withV(x.file); img.alt = xw[x.kind] ? xw[x.kind][0] : x.kind; if (xw[x.kind]) fig.appendChild(el('h4', '', xw[x.kind][0])); var d = el('div', 'cbox'); d.appendChild(img); fig.appendChild(d); if (xw[x.kind]) fig.appendChild(el('figcaption', '', xw[x.kind][1])); det.appendChild(fig); });
        an.forEach(function (a3) { var fig = el('figure'), img = el('img'); img.loading = 'lazy'; img.src = withV(a3.file); img.alt = 'animation'; var d = el('div', 'cbox'); d.appendChild(img); fig.appendChild(d); fig.appendChild(el('figcaption', '', a3.frames + ' frames, one per epoch or step, each on the colour scale written in its caption')); det.appendChild(fig); });
        frag.appendChild(det);
      }
      X.renders++;
      markMap();
    }, function (e) { X.pending--; X.errors.push(String(e)); });
  }

  function markMap() {
    var links = document.querySelectorAll('#layer-map a[data-layer]');
    for (var i = 0; i < links.length; i++) {
      var on = Number(links[i].getAttribute('data-layer')) === X.cur.layer;
      links[i].classList.toggle('open', on);
      if (on) { links[i].setAttribute('aria-current', 'true'); if (links[i].scrollIntoView) links[i].scrollIntoView({ block: 'nearest' }); } else links[i].removeAttribute('aria-current');
    }
  }

  function setMoment(m) {
    var M = X.index.moments.length;
    X.cur.moment = Math.max(0, Math.min(M - 1, m));
    var s = document.getElementById('moment-slider'), o = document.getElementById('moment-label');
    if (s) { s.max = String(Math.max(0, M - 1)); s.value = String(X.cur.moment); }
    if (o) o.textContent = X.index.moments[X.cur.moment] ? X.index.moments[X.cur.moment].label : '';
  }

  function fromHash(scroll) {
    var h = /^#layer-(\d+)(?:-c(\d+))?$/.exec(location.hash);
    if (!h) return false;
    var li = Number(h[1]);
    if (!X.index.layers[li]) return false;
    if (li !== X.cur.layer) { X.rf = null; X.cur.channel = 0; }
    X.cur.layer = li;
    if (h[2] !== undefined) X.cur.channel = Number(h[2]);
    render();
    if (scroll) { var ex = document.getElementById('explorer'); if (ex && ex.getBoundingClientRect().top < -40) ex.scrollIntoView(); }
    return true;
  }

  function wire() {
    var s = document.getElementById('moment-slider');
    if (s && !s.getAttribute('data-wired')) {
      s.setAttribute('data-wired', '1');
      s.addEventListener('input', function () { setMoment(Number(s.value)); render(); });
    }
    var sel = document.getElementById('scale-mode');
    if (sel && !sel.getAttribute('data-wired')) {
      sel.setAttribute('data-wired', '1'); sel.value = X.scaleMode;
      sel.addEventListener('change', function () { X.scaleMode = sel.value; render(); });
    }
    drawCurves();
  }

  function start() {
    X.started = true;
    setMoment(X.index.moments.length - 1);
    wire();
    if (!fromHash(false)) render();
    window.addEventListener('hashchange', function () { fromHash(true); });
  }

  // After a live update: the index was rewritten (new moments); keep the layer, follow the newest moment when it was shown.
  function refreshed() {
    var M = X.index.moments.length, was = X.cur.moment, wasLatest = was >= X.lastMoments - 1;
    X.lastMoments = M;
    setMoment(wasLatest ? M - 1 : was);
    wire();
    render();
  }
  X.refresh = function (version) {
    X.version = version || String(Date.now());
    loading = {}; X.layerInfo = {};
    ['explorer/index.js', 'explorer/curves.js'].forEach(function (src) {
      var s = document.createElement('script'); s.src = withV(src);
      s.onload = s.onerror = function () { if (s.parentNode) s.parentNode.removeChild(s); };
      document.head.appendChild(s);
    });
  };

  /** Page coordinates of the centre of one value of a drawn quantity (tests point there). */
  X.locate = function (q, r, c, y, x) {
    var v = views[q]; if (!v) return null;
    var G = v.G, rect = v.cv.getBoundingClientRect(), sx = rect.width / v.cv.width, sy = rect.height / v.cv.height;
    return { x: rect.left + (G.g + c * (G.tw * G.z + G.g) + x * G.z + G.z / 2) * sx, y: rect.top + (G.g + r * (G.th * G.z + G.g) + y * G.z + G.z / 2) * sy };
  };
  X.ready = function () { return X.pending === 0 && X.renders > 0; };

  // Batch-level curves: drag across a chart to zoom into those steps, double-click to zoom out.
  var zoom = null;
  function drawCurves() {
    var d = X.curves, host = document.getElementById('batch-curves');
    if (!d || !host) return;
    if (!host.getAttribute('data-wired')) {
      host.setAttribute('data-wired', '1');
      ['loss', 'accuracy'].forEach(function (k) {
        var cv = el('canvas', 'curve'); cv.id = 'curve-' + k; host.appendChild(cv);
        var x0 = null;
        cv.addEventListener('mousedown', function (ev) { x0 = ev.offsetX; });
        cv.addEventListener('mouseup', function (ev) {
          if (x0 === null || Math.abs(ev.offsetX - x0) < 5) { x0 = null; return; }
          var a = cv._toStep(Math.min(x0, ev.offsetX)), b = cv._toStep(Math.max(x0, ev.offsetX)); x0 = null;
          zoom = [a, b]; drawCurves();
        });
        cv.addEventListener('dblclick', function () { zoom = null; drawCurves(); });
      });
      window.addEventListener('resize', drawCurves);
    }
    var B = d.batches || 1;
    var pts = evenPoints(d.points);
    var ep = function (key) { return d.epochs.filter(function (e) { return typeof e[key] === 'number'; }).map(function (e) { return [e.epoch * B, e[key]]; }); };
    chart('curve-loss', 'Loss', [
      { name: 'batches', color: '#9ecae1', pts: pts.map(function (p) { return [p[0], p[1]]; }) },
      { name: 'train (epoch mean)', color: '#2166ac', dots: true, pts: ep('trainLoss') },
      { name: 'test', color: '#d6604d', dots: true, pts: ep('testLoss') }
    ], null, B);
    chart('curve-accuracy', 'Accuracy', [
      { name: 'batches', color: '#9ecae1', pts: pts.map(function (p) { return [p[0], p[2]]; }) },
      { name: 'train (epoch mean)', color: '#2166ac', dots: true, pts: ep('trainAccuracy') },
      { name: 'test', color: '#d6604d', dots: true, pts: ep('testAccuracy') }
    ], [0, 1], B);
  }
  // A live.jsonl point averages the batches of about half a second, but the first point after an
  // epoch's evaluation holds a single batch (the interval passed during the evaluation): alone it is
  // much noisier than its neighbours and drew a spike at every epoch start. Points are merged until
  // each averages at least the typical number of batches.
  function evenPoints(raw) {
    if (!raw.length) return raw;
    var ns = raw.map(function (p) { return p[3]; }).sort(function (a, b) { return a - b; }), want = ns[Math.floor(ns.length / 2)];
    var out = [], n = 0, l = 0, a = 0;
    raw.forEach(function (p, i) {
      n += p[3]; l += p[1] * p[3]; a += p[2] * p[3];
      if (n >= want || i === raw.length - 1) { out.push([p[0], l / n, a / n, n]); n = 0; l = 0; a = 0; }
    });
    return out;
  }
  X.evenPoints = evenPoints;
  function ticks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log(span / n) / Math.LN10)), err = span / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return { t: t, step: step };
  }
  function chart(id, title, series, yFixed, B) {
    var c = document.getElementById(id); if (!c) return;
    var dpr = window.devicePixelRatio || 1, W = c.clientWidth || 600, H = c.clientHeight || 240;
    c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
    var g = c.getContext('2d'); g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, W, H);
    var L = 52, R = 12, T = 26, Bm = 34, xmin = 0, xmax = 1, ymin = Infinity, ymax = -Infinity, n = 0;
    series.forEach(function (s) { s.pts.forEach(function (p) { if (p[0] > xmax) xmax = p[0]; }); });
    if (zoom) { xmin = zoom[0]; xmax = zoom[1]; }
    series.forEach(function (s) { s.pts.forEach(function (p) { if (p[0] < xmin || p[0] > xmax) return; n++; if (p[1] < ymin) ymin = p[1]; if (p[1] > ymax) ymax = p[1]; }); });
    c.setAttribute('data-points', String(n));
    c._toStep = function (px) { return xmin + (xmax - xmin) * Math.max(0, Math.min(1, (px - L) / (W - L - R))); };
    g.fillStyle = '#1d1d1f'; g.font = 'bold 13px system-ui, sans-serif'; g.fillText(title + (zoom ? ' (steps ' + Math.round(xmin) + '–' + Math.round(xmax) + '; double-click: all)' : ''), L, 16);
    if (!n) return;
    if (yFixed && !zoom) { ymin = yFixed[0]; ymax = yFixed[1]; } else { var pd = (ymax - ymin) * 0.08 || Math.abs(ymax) * 0.05 || 1; ymin -= pd; ymax += pd; }
    var Xp = function (x) { return L + (W - L - R) * (x - xmin) / (xmax - xmin || 1); }, Yp = function (y) { return T + (H - T - Bm) * (1 - (y - ymin) / (ymax - ymin)); };
    g.save(); g.beginPath(); g.rect(L, T - 4, W - L - R, H - T - Bm + 8); g.clip();
    g.strokeStyle = '#e4e4e8'; g.lineWidth = 1;
    var yt = ticks(ymin, ymax, 5), xt = ticks(xmin, xmax, 6);
    yt.t.forEach(function (v) { g.beginPath(); g.moveTo(L, Yp(v)); g.lineTo(W - R, Yp(v)); g.stroke(); });
    g.strokeStyle = '#c8c8cf'; g.setLineDash([3, 3]);
    for (var e = B; e < xmax; e += B) if (e > xmin) { g.beginPath(); g.moveTo(Xp(e), T); g.lineTo(Xp(e), H - Bm); g.stroke(); }
    g.setLineDash([]);
    series.forEach(function (s) {
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = 1.5;
      if (s.dots) s.pts.forEach(function (p) { g.beginPath(); g.arc(Xp(p[0]), Yp(p[1]), 3.5, 0, 2 * Math.PI); g.fill(); });
      g.beginPath(); s.pts.forEach(function (p, i) { if (i) g.lineTo(Xp(p[0]), Yp(p[1])); else g.moveTo(Xp(p[0]), Yp(p[1])); }); g.stroke();
    });
    g.restore();
    g.fillStyle = '#5a5a5f'; g.font = '11px system-ui, sans-serif';
    var dec = function (st) { return Math.max(0, Math.min(6, -Math.floor(Math.log(st) / Math.LN10 + 1e-9))); };
    yt.t.forEach(function (v) { g.fillText(v.toFixed(dec(yt.step)), 6, Yp(v) + 4); });
    xt.t.forEach(function (v) { g.fillText(v.toFixed(dec(xt.step)), Xp(v) - 8, H - Bm + 14); });
    g.fillText('step', W - R - 26, H - 6);
    g.strokeStyle = '#888'; g.beginPath(); g.moveTo(L, T); g.lineTo(L, H - Bm); g.lineTo(W - R, H - Bm); g.stroke();
    var lx = L + 200; g.font = '11px system-ui, sans-serif';
    series.forEach(function (s) { g.fillStyle = s.color; g.fillRect(lx, 9, 10, 3); g.fillStyle = '#1d1d1f'; g.fillText(s.name, lx + 14, 14); lx += 24 + g.measureText(s.name).width; });
  }

  if (X.index) start();
  else window.cnnvizExplorerIndex = function (d) { X.index = d; if (X.started) refreshed(); else { X.lastMoments = d.moments.length; start(); } };
  if (X.index) X.lastMoments = X.index.moments.length;
})();
`;

const CSS = `
.explorer { display: block; }
.layer-map { font-size: 12px; line-height: 1.3; }
.layer-map .lm-title { font-weight: 600; margin: 8px 6px 4px; }
.layer-map ol { list-style: none; margin: 0; padding: 0 0 40px; }
.layer-map li { margin: 0; }
.layer-map a { display: block; padding: 2px 6px; color: var(--fg, #1d1d1f); text-decoration: none; border-left: 3px solid transparent; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.layer-map a:hover { background: #eef3fa; }
.layer-map a.open { background: #dbe8f6; border-left-color: #2166ac; font-weight: 600; }
.layer-map .ix { display: inline-block; min-width: 1.8em; text-align: right; color: #5a5a5f; }
.layer-map .ty { color: #2166ac; }
.layer-map .sh { color: #5a5a5f; font-size: 11px; }
.layer-map .join, .layer-map .split, .layer-map .skipmark { margin-left: 4px; color: #b35806; font-size: 11px; }
.layer-map li.d1 a { margin-left: 10px; border-left-color: #c6dbef; }
.layer-map li.d2 a { margin-left: 20px; border-left-color: #9ecae1; }
.layer-map li.d3 a, .layer-map li.d4 a, .layer-map li.d5 a, .layer-map li.d6 a { margin-left: 30px; border-left-color: #6baed6; }
.layer-map li.skip a { border-left-style: dashed; }
.layer-map li a.open { border-left-color: #2166ac; }
@media (min-width: 900px) {
  body.has-explorer { padding-left: 260px; }
  body.has-explorer .layer-map { position: fixed; left: 0; top: 0; bottom: 0; width: 252px; overflow-y: auto; background: #f3f4f7; border-right: 1px solid #d8d8dc; z-index: 5; }
}
@media (max-width: 899px) {
  .layer-map { max-height: 40vh; overflow: auto; border: 1px solid #d8d8dc; background: #f3f4f7; }
}
.xview { min-width: 0; }
.xbar { position: sticky; top: 0; z-index: 4; background: #fafafa; border-bottom: 1px solid #d8d8dc; padding: 6px 0; display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; }
.xbar input[type=range] { width: min(420px, 50vw); }
.xbar output { font-weight: 600; min-width: 12em; }
.xlayer { background: #fff; border: 1px solid #d8d8dc; border-radius: 6px; padding: 10px 14px; margin: 10px 0; min-width: 0; }
.xlayer h3 { margin: 0 0 4px; }
.xlayer p.facts a, .xlayer p.prevnext a { margin-right: 2px; }
.quad { display: grid; grid-template-columns: minmax(0, 1fr); gap: 6px; }
@media (min-width: 1300px) { .quad { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.qpanel { margin: 8px 0; border-top: 1px solid #d8d8dc; padding-top: 8px; min-width: 0; }
.qpanel figcaption { font-size: 13px; color: #5a5a5f; }
.cbox { overflow: auto; max-width: 100%; max-height: 380px; border: 1px solid #d8d8dc; background: #fff; }
.cbox.small { max-height: 220px; }
.cbox canvas, .cbox img { display: block; image-rendering: pixelated; max-width: none; }
canvas.qcanvas { cursor: crosshair; }
p.readout { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; margin: 3px 0; min-height: 1.4em; overflow-wrap: anywhere; }
p.pnglinks { font-size: 12px; margin: 2px 0; }
.xstats { margin: 6px 0; }
.drill { border-top: 2px solid #2166ac; margin-top: 12px; padding-top: 6px; }
.drill h4, .rfpanel h4 { margin: 4px 0; }
.drillrow { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: flex-start; }
.dfig { margin: 4px 0; min-width: 0; max-width: 100%; }
.dfig figcaption { font-size: 12px; color: #5a5a5f; max-width: 520px; }
.patchcrop { position: relative; overflow: hidden; max-width: 100%; border: 1px solid #d8d8dc; }
.patchcrop img { position: absolute; left: 0; top: 0; max-width: none; }
.chealth h5 { margin: 8px 0 2px; font-size: 13px; }
table.sparks td, table.sparks th { padding: 1px 6px; }
svg.spark { display: block; }
.rfpanel { border-top: 2px solid #f0a000; margin-top: 12px; padding-top: 6px; }
.rfstrip { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; }
.rffig { margin: 0; }
.rffig figcaption { font-size: 12px; color: #5a5a5f; max-width: 200px; }
.rfwrap { position: relative; display: inline-block; }
.rfwrap canvas { display: block; image-rendering: pixelated; }
.rfbox { position: absolute; outline: 2px solid #f0a000; box-shadow: 0 0 0 1px #000; pointer-events: none; }
details.extras { margin-top: 10px; }
#batch-curves { display: flex; flex-wrap: wrap; gap: 12px; }
canvas.curve { width: min(640px, 100%); height: 260px; border: 1px solid #d8d8dc; background: #fff; cursor: zoom-in; }
.health-box { max-height: 70vh; max-width: 100%; }
.health-sparks td { vertical-align: middle; padding: 1px 4px; }
.health-sparks th.l { white-space: nowrap; }
.health-sparks svg { display: block; }
`;

export function explorerScript(): string {
  return SCRIPT;
}

export function explorerCss(): string {
  return CSS;
}
