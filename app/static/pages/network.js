// The organiser's page of a network: four GraphQL operations, each well under the default
// cost limit (the gaps are an algorithm field of their own weight, the leaderboard is asked
// only when the network has reward programs).
(function () {
  'use strict';
  var R = window.RG;
  var el = R.el, svg = R.svg;

  var OVERVIEW = [
    'query NetworkOverview($id: ID!) { network(id: $id) { id name',
    '  members(first: 50) { totalCount nodes { id name trades area } }',
    '  rewardPrograms { id name active } } }',
  ].join('\n');
  // The organisers' figures: a member who reads the network itself is refused these alone.
  var MEASURES = [
    'query NetworkMeasures($id: ID!) { network(id: $id) { id',
    '  reciprocity { referrals coefficient',
    '    givers(limit: 5) { given received balance professional { id name } }',
    '    takers(limit: 5) { given received balance professional { id name } } }',
    '  reciprocityMatrix { giver { id name } receiver { id name } referrals converted value }',
    '  reciprocityTrend(months: 12) { month referrals converted }',
    '  referralFunnel { referrals accepted converted declined expired open conversionRate',
    '                   medianDaysToConvert value } } }',
  ].join('\n');
  var GAPS = [
    'query NetworkGaps($id: ID!) { network(id: $id) { id gaps { topReferrerShare',
    '  missingTrades { trade demand fit score candidates(limit: 3) { id name area } }',
    '  unconnectedPairs(limit: 10) { score a { id name trades } b { id name trades } }',
    '  passiveMembers { id name trades } } } }',
  ].join('\n');
  var LEADERBOARD = [
    'query NetworkLeaderboard($id: ID!) { network(id: $id) { id',
    '  leaderboard(metric: CONVERSIONS, limit: 10) { rank value party {',
    '    __typename ... on Professional { id name } ... on Customer { id displayName } } } } }',
  ].join('\n');

  // A section's own failure: the rest of the page still shows.
  function failed(box, result) {
    R.clear(box).appendChild(R.note(R.forbidden(result)
      ? 'You may not see this part of the network.' : R.describe(result), 'error'));
  }

  function members(box, connection) {
    R.clear(box);
    var shown = connection.nodes.length;
    box.appendChild(el('p', { text: connection.totalCount > shown
      ? 'The first ' + shown + ' of ' + connection.totalCount + ' members:'
      : connection.totalCount + (connection.totalCount === 1 ? ' member:' : ' members:') }));
    box.appendChild(el('ul', { class: 'members' }, connection.nodes.map(function (p) {
      return el('li', { 'data-id': p.id }, [
        el('span', { class: 'name', text: p.name }),
        el('span', { class: 'meta', text: ' ' + p.trades.join(', ') + (p.area ? ' \u00b7 ' + p.area : '') }),
      ]);
    })));
  }

  function balance(box, reciprocity) {
    R.clear(box);
    box.appendChild(el('p', { text: reciprocity.referrals + ' referrals between members; ' +
      'reciprocity ' + R.fixed(reciprocity.coefficient * 100, 0) +
      '% (share of member pairs whose referrals go both ways).' }));
    function rows(list) {
      return list.map(function (b) {
        return [b.professional.name, String(b.given), String(b.received), String(b.balance)];
      });
    }
    var head = ['Member', 'Given', 'Received', 'Balance'];
    box.appendChild(el('div', { class: 'pair-of-tables' }, [
      R.table('Givers (give more than they get)', head, rows(reciprocity.givers), 'givers'),
      R.table('Takers (get more than they give)', head, rows(reciprocity.takers), 'takers'),
    ]));
  }

  function funnel(box, f) {
    R.clear(box);
    var stages = [['referrals', 'Referrals'], ['accepted', 'Accepted'], ['converted', 'Converted'],
                  ['declined', 'Declined'], ['expired', 'Expired'], ['open', 'Still open']];
    var labelW = 110, barW = 380, rowH = 30, width = labelW + barW + 60;
    var height = stages.length * rowH + 10;
    var top = Math.max(f.referrals, 1);
    var desc = stages.map(function (s) { return s[1] + ': ' + f[s[0]]; }).join(', ') +
      '. Conversion rate ' + R.fixed(f.conversionRate * 100, 1) + '%.';
    var root = R.picture(width, height, 'Referral funnel between members', desc, 'funnel');
    stages.forEach(function (s, i) {
      var y = 5 + i * rowH;
      var w = Math.max(Math.round(barW * f[s[0]] / top), f[s[0]] ? 2 : 0);
      root.appendChild(svg('g', { class: 'stage', 'data-stage': s[0] }, [
        svg('text', { x: labelW - 8, y: y + 19, 'text-anchor': 'end', class: 'axis-label', text: s[1] }),
        svg('rect', { x: labelW, y: y + 4, width: w, height: rowH - 8, class: 'bar stage-' + s[0] }),
        svg('text', { x: labelW + w + 6, y: y + 19, class: 'value', text: String(f[s[0]]) }),
      ]));
    });
    box.appendChild(root);
    box.appendChild(el('dl', { class: 'figures' }, [
      el('dt', { text: 'Conversion rate' }),
      el('dd', { 'data-figure': 'conversionRate', text: R.fixed(f.conversionRate * 100, 1) + '%' }),
      el('dt', { text: 'Median days to convert' }),
      el('dd', { 'data-figure': 'medianDaysToConvert',
                 text: f.medianDaysToConvert === null ? 'none converted' : R.fixed(f.medianDaysToConvert, 1) }),
      el('dt', { text: 'Value of converted referrals' }),
      el('dd', { 'data-figure': 'value', text: R.fixed(f.value, 2) }),
    ]));
  }

  function matrix(box, cells) {
    R.clear(box);
    if (!cells.length) {
      box.appendChild(R.note('No referrals between members yet.'));
      return;
    }
    var people = {};
    cells.forEach(function (c) {
      people[c.giver.id] = c.giver.name;
      people[c.receiver.id] = c.receiver.name;
    });
    var ids = Object.keys(people).sort(function (a, b) {
      return people[a].localeCompare(people[b]) || (a < b ? -1 : 1);
    });
    var index = {};
    ids.forEach(function (id, i) { index[id] = i; });
    var byPair = {};
    var most = 0, biggest = cells[0];
    cells.forEach(function (c) {
      byPair[c.giver.id + ' ' + c.receiver.id] = c;
      if (c.referrals > most) { most = c.referrals; biggest = c; }
    });
    var cell = 34, left = 150, head = 120, n = ids.length;
    var width = left + n * cell + 110, height = head + n * cell + 10;
    var desc = cells.length + ' pairs of members with referrals; rows are givers, columns ' +
      'receivers. The most: ' + biggest.giver.name + ' to ' + biggest.receiver.name + ', ' +
      biggest.referrals + ' referrals. The table below lists every cell.';
    var root = R.picture(width, height, 'Heat map of referrals from giver to receiver', desc, 'heatmap');
    root.appendChild(svg('text', { x: left - 6, y: head - 26, 'text-anchor': 'end', class: 'axis-title',
                                   text: 'giver \u2193  receiver \u2192' }));
    ids.forEach(function (id, i) {
      root.appendChild(svg('text', { x: left - 6, y: head + i * cell + cell / 2 + 4,
        'text-anchor': 'end', class: 'axis-label row-label', text: R.shorten(people[id], 20) }));
      var x = left + i * cell + cell / 2 + 4, y = head - 6;
      root.appendChild(svg('text', { x: x, y: y, transform: 'rotate(-50 ' + x + ' ' + y + ')',
        class: 'axis-label col-label', text: R.shorten(people[id], 18) }));
    });
    ids.forEach(function (giver, i) {
      ids.forEach(function (receiver, j) {
        var c = byPair[giver + ' ' + receiver];
        var count = c ? c.referrals : 0;
        var share = most ? count / most : 0;
        var x = left + j * cell, y = head + i * cell;
        root.appendChild(svg('g', { class: c ? 'cell' : 'cell empty', 'data-giver': giver,
                                    'data-receiver': receiver, 'data-count': count }, [
          svg('title', { text: people[giver] + ' to ' + people[receiver] + ': ' + count +
            ' referrals' + (c ? ', ' + c.converted + ' converted' : '') }),
          svg('rect', { x: x + 1, y: y + 1, width: cell - 2, height: cell - 2,
                        fill: giver === receiver ? '#f4f4f4' : R.shade(share) }),
          c ? svg('text', { x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle',
                            class: share > 0.55 ? 'count light' : 'count', text: String(count) }) : null,
        ]));
      });
    });
    box.appendChild(el('div', { class: 'scroll' }, [root]));
    var rows = cells.map(function (c) {
      return [c.giver.name, c.receiver.name, String(c.referrals), String(c.converted), R.fixed(c.value, 2)];
    });
    box.appendChild(el('details', {}, [
      el('summary', { text: 'The heat map as a table' }),
      R.table('Referrals from giver to receiver', ['Giver', 'Receiver', 'Referrals', 'Converted', 'Value'],
              rows, 'matrix-table'),
    ]));
  }

  function trend(box, months) {
    R.clear(box);
    var most = 1;
    months.forEach(function (m) { most = Math.max(most, m.referrals, m.converted); });
    var step = 52, left = 44, top = 16, plot = 180, bottom = 50;
    var width = left + months.length * step + 10, height = top + plot + bottom;
    var total = months.reduce(function (s, m) { return s + m.referrals; }, 0);
    var desc = 'Referrals and converted referrals between members in each of the last ' +
      months.length + ' months (' + total + ' referrals in all); the table below lists them.';
    var root = R.picture(width, height, 'Referrals between members by month', desc, 'trend');
    var ticks = [0, Math.ceil(most / 2), most];
    ticks.forEach(function (t) {
      var y = top + plot - plot * t / most;
      root.appendChild(svg('line', { x1: left, x2: width - 6, y1: y, y2: y, class: 'grid' }));
      root.appendChild(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-label', text: String(t) }));
    });
    months.forEach(function (m, i) {
      var x = left + i * step + 8;
      var hr = plot * m.referrals / most, hc = plot * m.converted / most;
      root.appendChild(svg('g', { class: 'month', 'data-month': m.month }, [
        svg('title', { text: m.month + ': ' + m.referrals + ' referrals, ' + m.converted + ' converted' }),
        svg('rect', { x: x, y: top + plot - hr, width: 17, height: hr, class: 'bar referrals' }),
        svg('rect', { x: x + 19, y: top + plot - hc, width: 17, height: hc, class: 'bar converted' }),
        svg('text', { x: x + 18, y: top + plot + 16, 'text-anchor': 'middle', class: 'axis-label',
                      text: m.month.slice(2) }),
      ]));
    });
    root.appendChild(svg('g', { class: 'legend' }, [
      svg('rect', { x: left, y: height - 18, width: 12, height: 12, class: 'bar referrals' }),
      svg('text', { x: left + 16, y: height - 8, class: 'axis-label', text: 'referrals' }),
      svg('rect', { x: left + 100, y: height - 18, width: 12, height: 12, class: 'bar converted' }),
      svg('text', { x: left + 116, y: height - 8, class: 'axis-label', text: 'converted' }),
    ]));
    box.appendChild(el('div', { class: 'scroll' }, [root]));
    box.appendChild(el('details', {}, [
      el('summary', { text: 'The chart as a table' }),
      R.table('Referrals between members by month', ['Month', 'Referrals', 'Converted'],
              months.map(function (m) { return [m.month, String(m.referrals), String(m.converted)]; }),
              'trend-table'),
    ]));
  }

  function gaps(result) {
    var g = result.data.network.gaps;
    var box = R.clear(R.byId('gaps'));
    if (!g.missingTrades.length) box.appendChild(R.note('No trade is missing: members cover what their customers hire.'));
    else {
      box.appendChild(R.table('Trades no member offers, by demand weighted by fit',
        ['Trade', 'Demand (customers)', 'Fit', 'Candidates'],
        g.missingTrades.map(function (t) {
          var names = t.candidates.map(function (c) { return c.name + (c.area ? ' (' + c.area + ')' : ''); });
          return [t.trade, String(t.demand), R.fixed(t.fit, 2), names.join(', ') || '-'];
        }), 'missing'));
    }
    box.appendChild(el('p', { text: 'The most active referrer made ' +
      R.fixed(g.topReferrerShare * 100, 0) + '% of the referrals between members.' }));
    var pairs = R.clear(R.byId('pairs'));
    if (!g.unconnectedPairs.length) pairs.appendChild(R.note('Every complementary pair already refers.'));
    else {
      pairs.appendChild(R.table('Members in complementary trades with no referral either way',
        ['Member', 'And', 'Score'],
        g.unconnectedPairs.map(function (p) {
          return [p.a.name + ' (' + p.a.trades.join(', ') + ')',
                  p.b.name + ' (' + p.b.trades.join(', ') + ')', R.fixed(p.score, 2)];
        }), 'pairs'));
    }
    var passive = R.clear(R.byId('passive'));
    if (!g.passiveMembers.length) passive.appendChild(R.note('Every member gave a referral.'));
    else {
      passive.appendChild(el('p', { text: 'Members who gave no referral to another member:' }));
      passive.appendChild(el('ul', { class: 'passive' }, g.passiveMembers.map(function (p) {
        return el('li', { text: p.name + ' (' + p.trades.join(', ') + ')' });
      })));
    }
  }

  function leaderboard(box, entries) {
    R.clear(box);
    if (!entries.length) {
      box.appendChild(R.note('No converted referrals yet.'));
      return;
    }
    box.appendChild(R.table('Members by converted referrals to other members', ['Rank', 'Member', 'Conversions'],
      entries.map(function (e) { return [String(e.rank), R.partyName(e.party), R.fixed(e.value, 0)]; }),
      'leaderboard'));
  }

  function load(id) {
    var vars = { id: id };
    return R.gql(OVERVIEW, vars).then(function (overview) {
      var network = overview.data && overview.data.network;
      if (!network || overview.errors) {
        R.status('');
        if (R.forbidden(overview)) R.refuse('You may not see this network.');
        else if (!network && !overview.errors && overview.httpStatus === 200) {
          R.refuse('There is no network with this id.');
        } else R.refuse(R.describe(overview));
        return;
      }
      document.title = network.name + ': network';
      R.byId('page-title').textContent = network.name;
      members(R.byId('members'), network.members);
      R.byId('view').hidden = false;
      R.status('Loading the measures and gaps...');
      var hasPrograms = network.rewardPrograms.length > 0;
      R.byId('leaderboard-section').hidden = !hasPrograms;
      var calls = [
        R.gql(MEASURES, vars).then(function (r) {
          var n = r.data && r.data.network;
          if (!n || r.errors) {
            ['funnel', 'matrix', 'trend', 'balance'].forEach(function (b) { failed(R.byId(b), r); });
            return;
          }
          balance(R.byId('balance'), n.reciprocity);
          funnel(R.byId('funnel'), n.referralFunnel);
          matrix(R.byId('matrix'), n.reciprocityMatrix);
          trend(R.byId('trend'), n.reciprocityTrend);
        }),
        R.gql(GAPS, vars).then(function (r) {
          if (!(r.data && r.data.network) || r.errors) {
            ['gaps', 'pairs', 'passive'].forEach(function (b) { failed(R.byId(b), r); });
            return;
          }
          gaps(r);
        }),
      ];
      if (hasPrograms) {
        calls.push(R.gql(LEADERBOARD, vars).then(function (r) {
          if (!(r.data && r.data.network) || r.errors) failed(R.byId('leaderboard'), r);
          else leaderboard(R.byId('leaderboard'), r.data.network.leaderboard);
        }));
      }
      return Promise.all(calls).then(function () {
        R.status('Shown for this token: ' + network.name + '.');
        document.body.dataset.loaded = 'network';
      });
    });
  }

  R.start(load);
})();
