/* The lineage page: dataset overview and column neighbourhoods, laid out by dagre. */
(function () {
  'use strict';

  var DATA = JSON.parse(document.getElementById('lineage-data').textContent);
  var PALETTE = ['#d97706', '#7c3aed', '#dc2626', '#0891b2', '#be185d'];
  var LAYERS = {
    source: '#dbeafe', seed: '#f5f5f4', snapshot: '#f5f5f4', staging: '#f1f5f9',
    intermediate: '#dcfce7', marts: '#fef9c3'
  };
  var UP = '#ea580c', DOWN = '#2563eb';

  // -- indexes --------------------------------------------------------------------------------
  var nodes = {}, byLabel = {}, colour = {}, restrictionLabel = {};
  DATA.nodes.forEach(function (n) { nodes[n.id] = n; byLabel[n.label] = n; });
  DATA.restrictions.forEach(function (r, i) {
    colour[r.key] = PALETTE[i % PALETTE.length];
    restrictionLabel[r.key] = r.label;
  });
  var cols = DATA.columns, colIn = {}, colOut = {}, nodeIn = {};
  DATA.edges.forEach(function (e) {
    (colOut[e.s] = colOut[e.s] || []).push(e);
    if (e.t) { (colIn[e.t] = colIn[e.t] || []).push(e); }
    else { (nodeIn[e.tn] = nodeIn[e.tn] || []).push(e); }
  });

  function allowed(e) { return !state.directOnly || e.type === 'DIRECT'; }
  // Every edge into a column: its own and the dataset-level edges of its dataset.
  function inputs(cid) {
    var c = cols[cid];
    return (colIn[cid] || []).concat(nodeIn[c.node] || []).filter(allowed);
  }
  // Every (edge, column) out of a column, dataset-level edges reaching every column.
  function outputs(cid) {
    var out = [];
    (colOut[cid] || []).filter(allowed).forEach(function (e) {
      if (e.t) { out.push([e, e.t]); }
      else { nodes[e.tn].columns.forEach(function (t) { out.push([e, t]); }); }
    });
    return out;
  }
  function walk(start, direction) {
    var seen = {}, queue = [start], order = [];
    while (queue.length) {
      var cur = queue.shift();
      var next = direction === 'up'
        ? inputs(cur).map(function (e) { return e.s; })
        : outputs(cur).map(function (p) { return p[1]; });
      next.forEach(function (c) {
        if (c !== start && !seen[c]) { seen[c] = true; order.push(c); queue.push(c); }
      });
    }
    return order;
  }

  // -- small DOM helpers ----------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { node.textContent = attrs[k]; }
      else if (k === 'cls') { node.className = attrs[k]; }
      else if (k === 'on') { node.addEventListener('click', attrs[k]); }
      else { node.setAttribute(k, attrs[k]); }
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function list(values) { return values && values.length ? values.join(', ') : '—'; }
  function layerColour(layer) { return LAYERS[layer.split('/')[0]] || '#f1f5f9'; }
  function columnLink(cid) {
    return el('button', { type: 'button', cls: 'link', text: cid, 'data-column': cid,
      on: function () { selectColumn(cid); } });
  }
  function datasetLink(id) {
    return el('button', { type: 'button', cls: 'link', text: nodes[id].label, 'data-dataset': id,
      on: function () { selectDataset(id); } });
  }
  function setHash(id) {
    try { history.replaceState(null, '', '#' + encodeURIComponent(id)); } catch (err) { /* file:// */ }
  }

  // -- the graph ------------------------------------------------------------------------------
  var STYLE = [
    { selector: 'node', style: {
      'label': 'data(label)', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'center',
      'shape': 'round-rectangle',
      'background-color': 'data(bg)', 'border-width': 1, 'border-color': '#64748b',
      'text-wrap': 'wrap', 'color': '#0f172a' } },
    { selector: 'node[w]', style: { 'width': 'data(w)', 'height': 'data(h)' } },
    { selector: 'node.restricted', style: { 'border-width': 4, 'border-color': 'data(rc)' } },
    { selector: 'node.gate', style: { 'border-style': 'double', 'border-width': 7,
      'border-color': '#047857' } },
    { selector: 'node.violation', style: { 'background-color': '#fecaca', 'color': '#7f1d1d' } },
    { selector: ':parent', style: { 'text-valign': 'top', 'text-halign': 'center',
      'background-opacity': 0.35, 'padding': '10px', 'font-weight': 'bold', 'font-size': 12 } },
    { selector: 'node.rowset', style: { 'shape': 'rectangle', 'font-style': 'italic',
      'background-color': '#f8fafc', 'border-style': 'dotted', 'font-size': 10 } },
    { selector: 'node.upstream', style: { 'background-color': '#fed7aa' } },
    { selector: 'node.downstream', style: { 'background-color': '#bfdbfe' } },
    { selector: 'node.selected', style: { 'background-color': '#fde047', 'border-width': 4,
      'border-color': '#0f172a', 'font-weight': 'bold' } },
    { selector: 'node.faded', style: { 'opacity': 0.35 } },
    { selector: 'edge', style: { 'width': 1.5, 'line-color': '#94a3b8',
      'target-arrow-color': '#94a3b8', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier',
      'arrow-scale': 0.8, 'label': 'data(label)', 'font-size': 8, 'color': '#475569',
      'text-rotation': 'autorotate', 'text-background-color': '#fff',
      'text-background-opacity': 0.8 } },
    { selector: 'edge.indirect', style: { 'line-style': 'dashed' } },
    { selector: 'edge.upstream', style: { 'line-color': UP, 'target-arrow-color': UP, 'width': 2 } },
    { selector: 'edge.downstream', style: { 'line-color': DOWN, 'target-arrow-color': DOWN,
      'width': 2 } },
    { selector: 'edge.faded', style: { 'opacity': 0.25 } }
  ];

  var cy = cytoscape({ container: document.getElementById('cy'), elements: [], style: STYLE,
    minZoom: 0.05, maxZoom: 3 });
  // view: null until the first graph is drawn (a #dataset fragment on load draws the overview)
  var state = { view: null, selected: null, directOnly: false, up: [], down: [] };

  // Node box size from its label (11px text): cytoscape's 'label' sizing is deprecated.
  function sized(data) {
    var lines = String(data.label).split('\n');
    var longest = Math.max.apply(null, lines.map(function (l) { return l.length; }));
    data.w = Math.round(longest * 6.4 + 16);
    data.h = lines.length * 14 + 10;
    return data;
  }

  function restrictedData(keys) {
    return keys.length ? { cls: ' restricted', rc: colour[keys[0]] } : { cls: '', rc: '#64748b' };
  }

  function layout() {
    cy.layout({ name: 'dagre', rankDir: 'LR', nodeSep: 12, rankSep: 70, edgeSep: 6,
      padding: 20, fit: true, animate: false, nodeDimensionsIncludeLabels: true }).run();
  }

  function showOverview() {
    state.view = 'overview';
    var elements = [], seen = {};
    DATA.nodes.forEach(function (n) {
      var r = restrictedData(n.restricted);
      var label = n.label + (n.gate.length ? '\n[consent gate: ' + n.gate.join(', ') + ']' : '');
      elements.push({ group: 'nodes', data: sized({ id: n.id, label: label,
        bg: layerColour(n.layer), rc: r.rc }), classes: 'dataset' + r.cls + (n.gate.length ? ' gate' : '') +
        (n.violations.length ? ' violation' : '') });
    });
    DATA.edges.forEach(function (e) {
      var s = cols[e.s].node, key = s + '>' + e.tn;
      if (s === e.tn || !allowed(e)) { return; }
      if (!seen[key]) {
        seen[key] = { group: 'edges', data: { id: 'd:' + key, source: s, target: e.tn, label: '',
          direct: false }, classes: 'indirect' };
        elements.push(seen[key]);
      }
      if (e.type === 'DIRECT') { seen[key].data.direct = true; seen[key].classes = 'direct'; }
    });
    cy.elements().remove();
    cy.add(elements);
    layout();
    document.getElementById('view-title').textContent =
      'Datasets of ' + DATA.project + ' (' + DATA.nodes.length + '): click one to see its columns';
    if (state.selected && state.selected.kind === 'dataset') { highlightDataset(state.selected.id); }
  }

  function highlightDataset(id) {
    cy.elements().removeClass('upstream downstream selected faded');
    var node = cy.getElementById(id);
    if (!node.length) { return; }
    var up = node.predecessors(), down = node.successors();
    cy.elements().not(up.union(down).union(node)).addClass('faded');
    up.addClass('upstream'); down.addClass('downstream'); node.addClass('selected');
  }

  function showColumn(cid) {
    state.view = 'column';
    var up = walk(cid, 'up'), down = walk(cid, 'down');
    state.up = up; state.down = down;
    var inUp = {}, inDown = {}, included = {};
    up.forEach(function (c) { inUp[c] = true; included[c] = true; });
    down.forEach(function (c) { inDown[c] = true; included[c] = true; });
    included[cid] = true;
    var elements = [], parents = {}, rowsets = {};
    function parent(id) {
      if (!parents[id]) {
        var n = nodes[id], r = restrictedData(n.restricted);
        parents[id] = true;
        elements.push({ group: 'nodes', data: { id: 'n:' + id, label: n.label +
          (n.gate.length ? ' [consent gate: ' + n.gate.join(', ') + ']' : ''),
          bg: layerColour(n.layer), rc: r.rc }, classes: 'dataset' + r.cls +
          (n.gate.length ? ' gate' : '') + (n.violations.length ? ' violation' : '') });
      }
      return 'n:' + id;
    }
    Object.keys(included).forEach(function (c) {
      var col = cols[c], r = restrictedData(col.restricted);
      var cls = 'column' + r.cls + (col.violations.length ? ' violation' : '') +
        (c === cid ? ' selected' : inDown[c] ? ' downstream' : inUp[c] ? ' upstream' : '');
      elements.push({ group: 'nodes', data: sized({ id: 'c:' + c, parent: parent(col.node),
        label: col.name, bg: '#ffffff', rc: r.rc, column: c }), classes: cls });
    });
    var count = 0;
    DATA.edges.forEach(function (e) {
      if (!included[e.s] || !allowed(e)) { return; }
      var target, downstreamEdge, upstreamEdge;
      if (e.t) {
        if (!included[e.t]) { return; }
        target = 'c:' + e.t;
        downstreamEdge = (e.s === cid || inDown[e.s]) && inDown[e.t];
        upstreamEdge = inUp[e.s] && (e.t === cid || inUp[e.t]);
      } else {
        var reached = nodes[e.tn].columns.filter(function (c) { return included[c]; });
        if (!reached.length) { return; }
        if (!rowsets[e.tn]) {
          rowsets[e.tn] = true;
          elements.push({ group: 'nodes', data: sized({ id: 'r:' + e.tn, parent: parent(e.tn),
            label: 'every row', bg: '#f8fafc', rc: '#64748b' }), classes: 'rowset' });
        }
        target = 'r:' + e.tn;
        downstreamEdge = (e.s === cid || inDown[e.s]) &&
          reached.some(function (c) { return inDown[c]; });
        upstreamEdge = inUp[e.s] && reached.some(function (c) { return c === cid || inUp[c]; });
      }
      count += 1;
      elements.push({ group: 'edges', data: { id: 'e' + count, source: 'c:' + e.s, target: target,
        label: e.type === 'DIRECT' ? (e.subtype === 'IDENTITY' ? '' : e.subtype) : e.subtype,
        type: e.type, subtype: e.subtype },
        classes: (e.type === 'DIRECT' ? 'direct' : 'indirect') +
          (downstreamEdge ? ' downstream' : upstreamEdge ? ' upstream' : '') });
    });
    cy.elements().remove();
    cy.add(elements);
    layout();
    document.getElementById('view-title').textContent = cid + ': ' + up.length +
      ' upstream and ' + down.length + ' downstream columns' +
      (state.directOnly ? ' (DIRECT edges only)' : ' (DIRECT and INDIRECT edges)');
  }

  // -- the side panel -------------------------------------------------------------------------
  var panel = document.getElementById('panel');

  function restrictionBadges(keys) {
    return keys.map(function (k) {
      return el('span', { cls: 'badge', style: 'background:' + colour[k], text: restrictionLabel[k],
        'data-restriction': k });
    });
  }
  function violationBlock(i) {
    var v = DATA.violations[i];
    return el('div', { cls: 'violation', 'data-violation': String(i) },
      el('div', { cls: 'rule', text: v.rule + ': ' + (v.column || v.dataset) }),
      el('div', { text: v.message }),
      v.path.length ? el('div', { cls: 'muted', text: 'path: ' + v.path.join(' → ') }) : null);
  }
  function edgeList(title, items, id) {
    var ul = el('ul', { cls: 'edges', id: id });
    items.forEach(function (it) {
      var e = it.edge;
      ul.appendChild(el('li', {},
        el('span', { cls: 'line' + (e.type === 'DIRECT' ? '' : ' dashed') }),
        el('span', { cls: 'kind', text: e.type + ' ' + e.subtype + (e.masking ? ' masking' : '') +
          (e.rows ? ' (removes rows)' : '') }),
        it.target ? (cols[it.target] ? columnLink(it.target) : datasetLink(it.target))
          : columnLink(e.s)));
    });
    return [el('h2', { text: title + ' (' + items.length + ')' }), items.length ? ul :
      el('div', { cls: 'muted', id: id, text: 'none' })];
  }

  function renderColumnPanel(cid) {
    var c = cols[cid], n = nodes[c.node];
    clear(panel);
    panel.appendChild(el('h3', { text: cid }));
    panel.appendChild(el('div', { cls: 'muted', text: c.description || 'No description.' }));
    var dl = el('dl', { id: 'tags' });
    function row(k, v) { dl.appendChild(el('dt', { text: k })); dl.appendChild(el('dd', {}, v)); }
    row('dataset', datasetLink(n.id));
    row('category', el('span', { 'data-tag': 'category', text: c.category.map(function (k, i) {
      return c.category_names[i] + ' (' + k + ')'; }).join(', ') || 'untagged' }));
    row('purposes', el('span', { 'data-tag': 'purposes', text: list(c.purposes) }));
    row('legal basis', el('span', { 'data-tag': 'legal_basis',
      text: list(c.legal_basis.concat(c.art9_ground)) }));
    row('retention', el('span', { 'data-tag': 'retention',
      text: c.retention ? c.retention + ' (' + c.retention_words + ')' : '—' }));
    if (c.inherited.length) { row('inherited', 'from the dataset: ' + c.inherited.join(', ')); }
    panel.appendChild(dl);
    var badges = restrictionBadges(c.restricted);
    if (n.gate.length) {
      n.gate.forEach(function (g) {
        var proof = n.gate_proof[g];
        badges.push(el('span', { cls: 'badge gate', text: 'consent gate ' + g +
          (proof ? ' (' + proof + ')' : '') }));
      });
    }
    if (badges.length) { panel.appendChild(el.apply(null, ['div', {}].concat(badges))); }
    c.problems.forEach(function (p) { panel.appendChild(el('div', { cls: 'violation', text: p })); });
    c.violations.forEach(function (i) { panel.appendChild(violationBlock(i)); });

    var incoming = inputs(cid).map(function (e) { return { edge: e }; });
    var outgoing = (colOut[cid] || []).filter(allowed).map(function (e) {
      return { edge: e, target: e.t || e.tn };
    });
    edgeList('Incoming edges', incoming, 'incoming').forEach(function (x) { panel.appendChild(x); });
    edgeList('Outgoing edges', outgoing, 'outgoing').forEach(function (x) { panel.appendChild(x); });
    [['Upstream', state.up, 'upstream-list'], ['Downstream', state.down, 'downstream-list']]
      .forEach(function (spec) {
        var ul = el('ul', { cls: 'edges', id: spec[2] });
        spec[1].forEach(function (x) { ul.appendChild(el('li', {}, columnLink(x))); });
        panel.appendChild(el('details', { open: '' },
          el('summary', { text: spec[0] + ' columns (' + spec[1].length + ')' }), ul));
      });
  }

  function renderDatasetPanel(id) {
    var n = nodes[id];
    clear(panel);
    panel.appendChild(el('h3', { text: n.label }));
    panel.appendChild(el('div', { cls: 'muted', text: n.description || 'No description.' }));
    var dl = el('dl', {});
    function row(k, v) { dl.appendChild(el('dt', { text: k })); dl.appendChild(el('dd', {}, v)); }
    row('kind', n.type + (n.materialized ? ' (' + n.materialized + ')' : ''));
    row('layer', n.layer);
    row('relation', n.relation || '—');
    row('purposes', list(n.purposes));
    row('retention', n.retention || 'per column');
    panel.appendChild(dl);
    var badges = restrictionBadges(n.restricted);
    n.gate.forEach(function (g) {
      var proof = n.gate_proof[g];
      badges.push(el('span', { cls: 'badge gate', text: 'consent gate ' + g +
        (proof ? ' (' + proof + ')' : '') }));
    });
    if (badges.length) { panel.appendChild(el.apply(null, ['div', {}].concat(badges))); }
    n.violations.forEach(function (i) { panel.appendChild(violationBlock(i)); });
    panel.appendChild(el('h2', { text: 'Columns (' + n.columns.length + ')' }));
    var ul = el('ul', { cls: 'edges', id: 'dataset-columns' });
    n.columns.forEach(function (cid) {
      var c = cols[cid];
      ul.appendChild(el('li', {},
        el('span', { cls: 'swatch', style: 'background:' +
          (c.restricted.length ? colour[c.restricted[0]] : '#fff') }),
        el('button', { type: 'button', cls: 'link', 'data-column': cid,
          text: c.name + ' · ' + (c.category.join(', ') || 'untagged'),
          on: function () { selectColumn(cid); } })));
    });
    panel.appendChild(ul);
  }

  // -- selection ------------------------------------------------------------------------------
  function selectColumn(cid) {
    if (!cols[cid]) { return false; }
    state.selected = { kind: 'column', id: cid };
    showColumn(cid);
    renderColumnPanel(cid);
    setHash(cid);
    return true;
  }
  function selectDataset(id) {
    if (!nodes[id]) { return false; }
    state.selected = { kind: 'dataset', id: id };
    if (state.view !== 'overview') { showOverview(); }
    highlightDataset(id);
    renderDatasetPanel(id);
    setHash(nodes[id].label);
    return true;
  }

  cy.on('tap', 'node', function (evt) {
    var d = evt.target.data();
    if (d.column) { selectColumn(d.column); }
    else if (nodes[d.id]) { selectDataset(d.id); }
    else if (d.id.indexOf('n:') === 0 && nodes[d.id.slice(2)]) { selectDataset(d.id.slice(2)); }
  });

  // -- search ---------------------------------------------------------------------------------
  var search = document.getElementById('search'), results = document.getElementById('results');
  var haystack = Object.keys(cols).map(function (cid) {
    return { kind: 'column', id: cid, text: cid.toLowerCase(), note: cols[cid].category.join(', ') };
  }).concat(DATA.nodes.map(function (n) {
    return { kind: 'dataset', id: n.id, text: n.label.toLowerCase(), note: n.type };
  }));
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) { return []; }
    var hits = haystack.filter(function (h) { return h.text.indexOf(q) >= 0; });
    hits.sort(function (a, b) {
      var ea = a.text === q || a.text.slice(-q.length - 1) === '.' + q ? 0 : 1;
      var eb = b.text === q || b.text.slice(-q.length - 1) === '.' + q ? 0 : 1;
      return ea - eb || a.text.length - b.text.length || (a.text < b.text ? -1 : 1);
    });
    return hits.slice(0, 60);
  }
  function showResults() {
    clear(results);
    find(search.value).forEach(function (h) {
      var label = h.kind === 'column' ? h.id : nodes[h.id].label;
      results.appendChild(el('li', { role: 'option' }, el('button', { type: 'button',
        'data-kind': h.kind, 'data-id': h.id,
        on: function () { if (h.kind === 'column') { selectColumn(h.id); } else { selectDataset(h.id); } } },
        label, el('div', { cls: 'kind', text: h.kind + (h.note ? ': ' + h.note : '') }))));
    });
  }
  search.addEventListener('input', showResults);
  search.addEventListener('keydown', function (evt) {
    if (evt.key === 'Enter') {
      var first = results.querySelector('button');
      if (first) { first.click(); }
    }
  });

  // -- sidebar: legend, violations, summary ---------------------------------------------------
  function renderLegend() {
    var legend = document.getElementById('legend');
    legend.appendChild(el('h2', { text: 'Legend' }));
    function row(sample, text) { legend.appendChild(el('div', { cls: 'legend-row' }, sample, text)); }
    row(el('span', { cls: 'line' }), 'DIRECT: the value is copied, transformed or aggregated');
    row(el('span', { cls: 'line dashed' }),
      'INDIRECT: decides which rows exist or their order (JOIN, FILTER, GROUP_BY, SORT, WINDOW, CONDITIONAL)');
    DATA.restrictions.forEach(function (r) {
      row(el('span', { cls: 'swatch', style: 'border:3px solid ' + colour[r.key] }),
        r.label + ': ' + r.categories.concat(r.sources).join(', '));
    });
    row(el('span', { cls: 'swatch', style: 'border:3px double #047857' }),
      'consent gate model (' + Object.keys(DATA.gates).join(', ') + ')');
    row(el('span', { cls: 'swatch', style: 'background:#fecaca' }), 'has a policy violation');
    row(el('span', { cls: 'swatch', style: 'background:#fde047' }), 'selected');
    row(el('span', { cls: 'swatch', style: 'background:#fed7aa' }), 'upstream of the selection');
    row(el('span', { cls: 'swatch', style: 'background:#bfdbfe' }), 'downstream of the selection');
    Object.keys(LAYERS).forEach(function (k) {
      row(el('span', { cls: 'swatch', style: 'background:' + LAYERS[k] }), k);
    });
  }
  function renderViolations() {
    var box = document.getElementById('violations');
    box.appendChild(el('h2', { text: 'Policy violations (' + DATA.violations.length + ')' }));
    if (!DATA.violations.length) {
      box.appendChild(el('div', { cls: 'ok', text: 'The privacy policy holds on every column.' }));
    }
    DATA.violations.forEach(function (v, i) {
      var block = violationBlock(i);
      block.addEventListener('click', function () {
        if (!(v.column && selectColumn(v.column))) { selectDataset(v.node); }
      });
      box.appendChild(block);
    });
  }
  function renderSummary() {
    var s = DATA.summary, box = document.getElementById('summary');
    box.appendChild(document.createTextNode(s.datasets + ' datasets, ' + s.columns + ' columns, ' +
      s.edges + ' edges; generated ' + DATA.generated_at + '. '));
    box.appendChild(s.violations
      ? el('span', { cls: 'bad', text: s.violations + ' policy violation(s)' })
      : el('span', { cls: 'good', text: 'privacy policy holds' }));
  }

  document.getElementById('overview').addEventListener('click', function () {
    state.selected = null; clear(panel); showOverview();
    panel.appendChild(el('div', { cls: 'muted', text: 'Select a dataset or a column.' }));
  });
  document.getElementById('direct-only').addEventListener('change', function (evt) {
    state.directOnly = evt.target.checked;
    if (state.selected && state.selected.kind === 'column') { selectColumn(state.selected.id); }
    else { showOverview(); }
  });

  function fromHash() {
    var id = decodeURIComponent(location.hash.replace(/^#/, ''));
    if (!id) { return false; }
    if (cols[id]) { return selectColumn(id); }
    if (byLabel[id]) { return selectDataset(byLabel[id].id); }
    return false;
  }

  renderSummary();
  renderLegend();
  renderViolations();
  if (!fromHash()) {
    showOverview();
    panel.appendChild(el('div', { cls: 'muted',
      text: 'Search for a column, or click a dataset to see its columns and their tags.' }));
  }
  window.addEventListener('hashchange', fromHash);

  // For tests and the browser console.
  window.lineage = { cy: cy, state: state, selectColumn: selectColumn,
    selectDataset: selectDataset, find: find, walk: walk };
}());
