// What both pages share: the token (this tab's sessionStorage only), GraphQL calls, messages,
// and the SVG pictures. Every text goes in through textContent or an attribute, never as HTML:
// names are user input.
(function () {
  'use strict';

  var TOKEN_KEY = 'referral-graph-token';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var serial = 0;
  // The documents this page sent (never their variables or the token): to check their cost.
  var sent = [];

  function el(tag, attrs, children) {
    return build(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(node, attrs, children) {
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function uid(prefix) {
    serial += 1;
    return prefix + '-' + serial;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function status(text) {
    byId('status').textContent = text;
  }

  function refuse(text) {
    var box = byId('refusal');
    box.textContent = text;
    box.hidden = false;
    byId('view').hidden = true;
    document.body.dataset.loaded = 'refused';
  }

  function reset() {
    var box = byId('refusal');
    box.textContent = '';
    box.hidden = true;
  }

  // A GraphQL error as one sentence for the viewer.
  function describe(result) {
    if (result.httpStatus === 401) return 'The service refused this token: it is missing, expired or invalid.';
    if (result.httpStatus === 429) return 'Too many requests; try again in a minute.';
    var errors = result.errors || [];
    if (!errors.length) return 'The service did not answer (HTTP ' + result.httpStatus + ').';
    var first = errors[0];
    var code = (first.extensions && first.extensions.code) || 'ERROR';
    return 'The service answered with an error (' + code + '): ' + first.message;
  }

  function forbidden(result) {
    return (result.errors || []).some(function (e) {
      return e.extensions && e.extensions.code === 'FORBIDDEN';
    });
  }

  // POST one operation with the viewer's token; resolves to {httpStatus, data, errors}.
  function gql(query, variables) {
    sent.push(query);
    var token = sessionStorage.getItem(TOKEN_KEY) || '';
    return fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: 'Bearer ' + token,
      },
      body: JSON.stringify({ query: query, variables: variables || {} }),
      credentials: 'omit',
      cache: 'no-store',
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = {};
        try { body = text ? JSON.parse(text) : {}; } catch (e) { body = {}; }
        return { httpStatus: response.status, data: body.data || null, errors: body.errors || null };
      });
    }, function (error) {
      return { httpStatus: 0, data: null, errors: [{ message: String(error), extensions: { code: 'NETWORK' } }] };
    });
  }

  // Wires the token form; `load` runs with a token in sessionStorage, at start and on submit.
  function start(load) {
    var form = byId('token-form');
    var input = byId('token');
    var main = byId('content');
    function run() {
      reset();
      delete document.body.dataset.loaded;
      byId('view').hidden = true;
      status('Loading...');
      Promise.resolve(load(main.dataset.id)).catch(function (error) {
        refuse('The page could not be drawn: ' + error);
        status('');
      });
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var token = input.value.trim();
      if (!token) {
        status('Enter a token first.');
        input.focus();
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      run();
    });
    byId('forget').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      input.value = '';
      byId('view').hidden = true;
      reset();
      status('Token forgotten. Enter a token to load the page.');
      input.focus();
    });
    if (sessionStorage.getItem(TOKEN_KEY)) {
      input.value = sessionStorage.getItem(TOKEN_KEY);
      run();
    }
  }

  function partyName(party) {
    if (!party) return '?';
    return party.name || party.displayName || party.id;
  }

  function day(iso) {
    return iso ? String(iso).slice(0, 10) : '';
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? '-' : Number(value).toFixed(digits);
  }

  // A data table: `head` the column names, `rows` lists of cells (strings or nodes).
  function table(caption, head, rows, className) {
    return el('table', { class: className || null }, [
      caption ? el('caption', { text: caption }) : null,
      el('thead', {}, [el('tr', {}, head.map(function (h) { return el('th', { scope: 'col', text: h }); }))]),
      el('tbody', {}, rows.map(function (row) {
        return el('tr', {}, row.map(function (cell, i) {
          var tag = i === 0 ? 'th' : 'td';
          var attrs = i === 0 ? { scope: 'row' } : {};
          return el(tag, attrs, [typeof cell === 'string' || typeof cell === 'number' ? String(cell) : cell]);
        }));
      })),
    ]);
  }

  function note(text, className) {
    return el('p', { class: className || 'empty', text: text });
  }

  // The frame of every picture: role img, named by its <title>, described by its <desc>.
  function picture(width, height, title, desc, className) {
    var titleId = uid('t');
    var descId = uid('d');
    var root = svg('svg', {
      xmlns: SVG_NS, width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', 'aria-labelledby': titleId + ' ' + descId, class: className || null,
    }, [svg('title', { id: titleId, text: title }), svg('desc', { id: descId, text: desc })]);
    return root;
  }

  function shorten(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }

  // Parties in a row joined by labelled arrows: a trust path, or a referral's chain.
  // nodes: [{id, label, kind}], edges: [{label, sub, relation}] (edges[i] joins nodes i, i+1).
  function lineDiagram(nodes, edges, title, desc, className) {
    var boxW = 150, boxH = 44, gap = 110, pad = 10, top = 34;
    var width = pad * 2 + nodes.length * boxW + Math.max(nodes.length - 1, 0) * gap;
    var height = top + boxH + 34;
    var root = picture(width, height, title, desc, className || 'diagram');
    var arrow = uid('arrow');
    root.appendChild(svg('defs', {}, [
      svg('marker', { id: arrow, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7,
                      markerHeight: 7, orient: 'auto-start-reverse' }, [
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }),
      ]),
    ]));
    nodes.forEach(function (node, i) {
      var x = pad + i * (boxW + gap);
      var shape = node.kind === 'Customer'
        ? svg('rect', { x: x, y: top, width: boxW, height: boxH, rx: 22, class: 'box customer' })
        : svg('rect', { x: x, y: top, width: boxW, height: boxH, rx: 4, class: 'box professional' });
      root.appendChild(svg('g', { class: 'node', 'data-id': node.id, 'data-kind': node.kind }, [
        svg('title', { text: node.label + (node.kind ? ' (' + node.kind.toLowerCase() + ')' : '') }),
        shape,
        svg('text', { x: x + boxW / 2, y: top + boxH / 2 + 5, 'text-anchor': 'middle',
                      class: 'node-label', text: shorten(node.label, 20) }),
      ]));
    });
    edges.forEach(function (edge, i) {
      var x1 = pad + i * (boxW + gap) + boxW;
      var x2 = x1 + gap;
      var y = top + boxH / 2;
      var mid = (x1 + x2) / 2;
      root.appendChild(svg('g', { class: 'hop', 'data-relation': edge.relation || null }, [
        svg('line', { x1: x1 + 2, y1: y, x2: x2 - 2, y2: y, class: 'edge',
                      'marker-end': 'url(#' + arrow + ')' }),
        svg('text', { x: mid, y: y - 8, 'text-anchor': 'middle', class: 'hop-label',
                      text: edge.label }),
        edge.sub ? svg('text', { x: mid, y: top + boxH + 16, 'text-anchor': 'middle',
                                 class: 'hop-sub', text: edge.sub }) : null,
        edge.sub2 ? svg('text', { x: mid, y: top + boxH + 30, 'text-anchor': 'middle',
                                  class: 'hop-sub', text: edge.sub2 }) : null,
      ]));
    });
    return el('div', { class: 'scroll' }, [root]);
  }

  // A colour from light to dark blue for share in [0, 1].
  function shade(share) {
    var light = [238, 244, 251], dark = [8, 69, 148];
    var rgb = light.map(function (c, i) { return Math.round(c + (dark[i] - c) * share); });
    return 'rgb(' + rgb.join(',') + ')';
  }

  window.RG = {
    el: el, svg: svg, clear: clear, byId: byId, status: status, refuse: refuse, reset: reset,
    describe: describe, forbidden: forbidden, gql: gql, start: start, partyName: partyName,
    day: day, fixed: fixed, table: table, note: note, picture: picture, lineDiagram: lineDiagram,
    shade: shade, shorten: shorten, uid: uid, sent: sent,
  };
})();
