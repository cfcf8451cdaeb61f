/**
 * The dashboard's browser code (served as assets/app.js). Plain ES2017, no build step. Rules it
 * keeps: every key, value, alias and message goes into the page through `textContent` (never
 * `innerHTML`), every request goes to the dashboard's own origin, and changes are JSON POSTs
 * (which the server also checks for a same-origin `Origin`).
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var body = document.body;
  var base = body.dataset.base || '';
  var readOnly = body.dataset.readOnly === 'true';
  var params = new URLSearchParams(location.search);
  var POLL_MS = Math.max(250, Number(params.get('poll')) || 2000);
  var WINDOW_S = 10 * 60;
  var PAGE = 50;
  var COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#d97706', '#0891b2', '#db2777'];
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function say(text, isError) {
    $('status').textContent = text;
    $('status').className = isError ? 'error' : '';
  }
  function api(path, init) {
    init = init || {};
    init.credentials = 'same-origin';
    init.headers = Object.assign({ accept: 'application/json' }, init.headers || {});
    return fetch(base + path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401) location.reload();
        if (!response.ok) throw new Error(data.error || 'HTTP ' + response.status);
        return data;
      });
    });
  }
  function post(path, data) {
    return api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(data),
    });
  }
  function percent(value) { return value === null ? '–' : (value * 100).toFixed(1) + ' %'; }

  // ---- caches and the hit-rate chart ----------------------------------------------------
  var history = { times: [], rates: {} };
  var previous = {};
  var chart = null;
  var chartAliases = '';

  function makeChart(aliases) {
    var target = $('chart');
    target.textContent = '';
    var legend = el('div', null, 'row');
    aliases.forEach(function (alias, i) {
      var item = el('span', '\u25A0 ' + alias);
      item.style.color = COLORS[i % COLORS.length];
      legend.appendChild(item);
    });
    var width = Math.max(320, target.clientWidth || 800);
    chart = new uPlot({
      width: width,
      height: 220,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: [0, 1] } },
      axes: [{}, { values: function (u, values) { return values.map(function (v) { return Math.round(v * 100) + '%'; }); } }],
      series: [{}].concat(aliases.map(function (alias, i) {
        return { label: alias, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true };
      })),
    }, [history.times].concat(aliases.map(function (alias) { return history.rates[alias]; })), target);
    target.appendChild(legend);
    chartAliases = aliases.join('\n');
  }

  function record(caches) {
    var now = Date.now() / 1000;
    history.times.push(now);
    caches.forEach(function (entry) {
      var list = history.rates[entry.alias];
      if (!list) list = history.rates[entry.alias] = history.times.slice(0, -1).map(function () { return null; });
      var last = previous[entry.alias];
      var hits = entry.stats.hits, misses = entry.stats.misses;
      var rate = null;
      if (last) {
        var lookups = (hits - last.hits) + (misses - last.misses);
        if (lookups > 0) rate = (hits - last.hits) / lookups;
      }
      list.push(rate);
      previous[entry.alias] = { hits: hits, misses: misses };
    });
    while (history.times.length && history.times[0] < now - WINDOW_S) {
      history.times.shift();
      Object.keys(history.rates).forEach(function (alias) { history.rates[alias].shift(); });
    }
    var aliases = caches.map(function (entry) { return entry.alias; });
    aliases.forEach(function (alias) {
      while (history.rates[alias].length < history.times.length) history.rates[alias].unshift(null);
    });
    if (!chart || chartAliases !== aliases.join('\n')) makeChart(aliases);
    else chart.setData([history.times].concat(aliases.map(function (alias) { return history.rates[alias]; })));
    var points = 0, latest = null;
    aliases.forEach(function (alias) {
      history.rates[alias].forEach(function (value) { if (value !== null) { points++; latest = value; } });
    });
    $('chart').dataset.points = String(points);
    $('chart').dataset.last = latest === null ? '' : String(latest);
  }

  function renderCaches(caches) {
    var rows = $('caches').tBodies[0];
    rows.textContent = '';
    caches.forEach(function (entry) {
      var row = el('tr');
      row.dataset.alias = entry.alias;
      [entry.alias, entry.backend, entry.location || '–', entry.keyPrefix || '–', entry.version]
        .forEach(function (text) { row.appendChild(el('td', text)); });
      row.appendChild(el('td', entry.circuit, 'state-' + entry.circuit));
      row.appendChild(el('td', entry.stats.hits));
      row.appendChild(el('td', entry.stats.misses));
      row.appendChild(el('td', percent(entry.stats.hits + entry.stats.misses ? entry.stats.hitRate : null)));
      rows.appendChild(row);
    });
    var select = $('cache');
    var current = select.value;
    var names = caches.map(function (entry) { return entry.alias; });
    if (Array.prototype.map.call(select.options, function (o) { return o.value; }).join('\n') !== names.join('\n')) {
      select.textContent = '';
      names.forEach(function (alias) {
        var option = el('option', alias);
        option.value = alias;
        select.appendChild(option);
      });
      if (names.indexOf(current) >= 0) select.value = current;
    }
  }

  function poll() {
    api('/api/caches').then(function (data) {
      renderCaches(data.caches);
      record(data.caches);
      say('updated ' + new Date().toLocaleTimeString());
    }).catch(function (error) { say(error.message, true); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  // ---- key browser ------------------------------------------------------------------------
  var offset = 0;
  var selected = null;

  function search() {
    var query = new URLSearchParams({
      cache: $('cache').value, pattern: $('pattern').value || '*', offset: String(offset), limit: String(PAGE),
    });
    return api('/api/keys?' + query).then(function (data) {
      var rows = $('keys').tBodies[0];
      rows.textContent = '';
      data.keys.forEach(function (entry) {
        var row = el('tr');
        var cell = el('td', entry.key, 'key');
        cell.addEventListener('click', function () { show(entry.key); });
        row.appendChild(cell);
        row.appendChild(el('td', entry.ttl === null ? 'never' : entry.ttl.toFixed(1)));
        row.appendChild(el('td', entry.size === null ? '–' : entry.size));
        rows.appendChild(row);
      });
      $('page').textContent = data.keys.length
        ? 'keys ' + (offset + 1) + '–' + (offset + data.keys.length)
        : 'no keys match';
      $('prev').disabled = offset === 0;
      $('next').disabled = !data.hasMore;
    }).catch(function (error) { say(error.message, true); });
  }

  function hex(text) { return text.replace(/(..)/g, '$1 ').replace(/((?:.. ){16})/g, '$1\n').trim(); }

  function show(key) {
    var query = new URLSearchParams({ cache: $('cache').value, key: key });
    api('/api/entry?' + query).then(function (data) {
      selected = key;
      var facts = $('entry-facts');
      facts.textContent = '';
      [['Key', data.key], ['Made key', data.madeKey], ['TTL', data.ttl === null ? 'never expires' : data.ttl.toFixed(1) + ' s'],
        ['Size', data.size + ' bytes'], ['Type', data.type]].forEach(function (pair) {
        facts.appendChild(el('dt', pair[0]));
        facts.appendChild(el('dd', pair[1]));
      });
      var value = data.type === 'buffer' ? hex(data.value)
        : data.type === 'string' ? data.value : JSON.stringify(data.value, null, 2);
      $('entry-value').textContent = value;
      $('entry').hidden = false;
    }).catch(function (error) { say(error.message, true); });
  }

  // ---- changes ----------------------------------------------------------------------------
  var pending = null;

  function wire() {
    $('search').addEventListener('submit', function (event) { event.preventDefault(); offset = 0; search(); });
    $('prev').addEventListener('click', function () { offset = Math.max(0, offset - PAGE); search(); });
    $('next').addEventListener('click', function () { offset += PAGE; search(); });
    $('delete-key').addEventListener('click', function () {
      if (selected === null || !confirm('Delete this key?\n\n' + selected)) return;
      post('/api/delete', { cache: $('cache').value, key: selected }).then(function (data) {
        say(data.deleted ? 'deleted 1 key' : 'the key was already gone');
        $('entry').hidden = true;
        return search();
      }).catch(function (error) { say(error.message, true); });
    });
    $('delete-pattern').addEventListener('submit', function (event) {
      event.preventDefault();
      var pattern = $('delete-pattern-input').value;
      pending = null;
      $('delete-pattern-confirm').hidden = true;
      post('/api/delete-pattern', { cache: $('cache').value, pattern: pattern, dryRun: true }).then(function (data) {
        $('delete-pattern-count').textContent = data.matched + ' keys match ' + pattern;
        if (data.matched > 0) {
          pending = { cache: $('cache').value, pattern: pattern };
          $('delete-pattern-confirm').textContent = 'Delete ' + data.matched + ' keys';
          $('delete-pattern-confirm').hidden = false;
        }
      }).catch(function (error) { say(error.message, true); });
    });
    $('delete-pattern-confirm').addEventListener('click', function () {
      if (!pending) return;
      var request = pending;
      pending = null;
      $('delete-pattern-confirm').hidden = true;
      post('/api/delete-pattern', request).then(function (data) {
        $('delete-pattern-count').textContent = 'deleted ' + data.deleted + ' keys matching ' + request.pattern;
        return search();
      }).catch(function (error) { say(error.message, true); });
    });
    $('delete-tag').addEventListener('submit', function (event) {
      event.preventDefault();
      var tags = $('delete-tag-input').value.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
      if (!tags.length || !confirm('Invalidate every entry tagged ' + tags.join(', ') + '?')) return;
      post('/api/delete-tag', { cache: $('cache').value, tags: tags }).then(function () {
        say('invalidated ' + tags.join(', '));
        return search();
      }).catch(function (error) { say(error.message, true); });
    });
  }

  if (readOnly) body.classList.add('read-only');
  wire();
  api('/api/caches').then(function (data) {
    renderCaches(data.caches);
    record(data.caches);
    return search();
  }).catch(function (error) { say(error.message, true); })
    .then(function () { setTimeout(poll, POLL_MS); });
})();
`;
