// The customer's page: whom it can trust for a trade, the path behind each professional, and
// the chains of its referrals. Two GraphQL operations, each well under the default cost limit.
(function () {
  'use strict';
  var R = window.RG;
  var el = R.el;

  var PARTY = '__typename ... on Customer { id displayName } ... on Professional { id name }';
  var REFERRAL = 'id status createdAt referrer { ' + PARTY + ' } professional { id name } ' +
    'referee { id displayName }';
  var OVERVIEW = [
    'query TrustOverview($id: ID!) { customer(id: $id) { id name',
    '  reachable: trustedProfessionals(limit: 50) { professional { id trades } }',
    '  referralsMade(first: 20) { nodes { ' + REFERRAL + ' chain { ' + REFERRAL + ' } } }',
    '  referralsReceived(first: 20) { nodes { ' + REFERRAL + ' chain { ' + REFERRAL + ' } } } } }',
  ].join('\n');
  var HOPS = 'trust hops { relation trust at from { ' + PARTY + ' } to { ' + PARTY + ' } }';
  var TRUSTED = [
    'query Trusted($id: ID!, $trade: String) { customer(id: $id) { id',
    '  trustedProfessionals(trade: $trade, limit: 10) { trust',
    '    professional { id name trades area } path { ' + HOPS + ' } ownHire { ' + HOPS + ' } } } }',
  ].join('\n');

  var customerId = null;

  function party(p) {
    return { id: p.id, label: R.partyName(p), kind: p.__typename || 'Customer' };
  }

  var VERBS = { HIRED: 'hired', REFERRED: 'recommended', REFERRED_BY: 'was referred by' };

  // A trust path as parties joined by their hops.
  function pathPicture(path, professional, heading) {
    var nodes = [party(path.hops[0].from)];
    var words = [];
    var edges = path.hops.map(function (hop) {
      nodes.push(party(hop.to));
      var when = R.day(hop.at);
      words.push(R.partyName(hop.from) + ' ' + VERBS[hop.relation] + ' ' + R.partyName(hop.to) +
        ' (trust ' + R.fixed(hop.trust, 2) + (when ? ', ' + when : '') + ')');
      return { label: hop.relation, relation: hop.relation,
               sub: 'trust ' + R.fixed(hop.trust, 2), sub2: when };
    });
    var title = heading + ' to ' + professional.name + ': trust ' + R.fixed(path.trust, 2);
    var desc = words.join('; then ') + '.';
    return el('figure', { class: 'path' }, [
      R.lineDiagram(nodes, edges, title, desc, 'diagram trust-path'),
      el('figcaption', { text: desc }),
    ]);
  }

  function trusted(box, list, trade) {
    R.clear(box);
    if (!list.length) {
      box.appendChild(R.note(trade ? 'Nobody you can reach offers ' + trade + '.'
        : 'You reach no professional through people you know yet.'));
      return;
    }
    box.appendChild(el('ol', { class: 'trusted' }, list.map(function (t) {
      var p = t.professional;
      var item = el('li', { class: 'trusted-pro', 'data-id': p.id }, [
        el('h3', { text: p.name }),
        el('p', { class: 'meta', text: p.trades.join(', ') + (p.area ? ' \u00b7 ' + p.area : '') +
          ' \u00b7 trust ' + R.fixed(t.trust, 2) + ' \u00b7 ' + t.path.hops.length +
          (t.path.hops.length === 1 ? ' hop' : ' hops') }),
        pathPicture(t.path, p, 'Most trusted path'),
      ]);
      if (t.ownHire && t.path.hops.length !== 1) {
        item.appendChild(pathPicture(t.ownHire, p, 'Your own hire'));
      }
      return item;
    })));
  }

  var asked = 0;

  function search(trade) {
    var box = R.byId('trusted');
    var mine = ++asked;
    R.clear(box).appendChild(R.note('Looking...'));
    delete box.dataset.trade;
    return R.gql(TRUSTED, { id: customerId, trade: trade || null }).then(function (r) {
      if (mine !== asked) return;  // a later choice's answer is the one to show
      var c = r.data && r.data.customer;
      if (!c || r.errors) {
        R.clear(box).appendChild(R.note(R.forbidden(r)
          ? 'You may not see this customer\u2019s trusted professionals.' : R.describe(r), 'error'));
        return;
      }
      trusted(box, c.trustedProfessionals, trade);
      box.dataset.trade = trade || '';
    });
  }

  // Oldest referral first: each one's referee made the next.
  function chainPicture(referral) {
    var links = referral.chain.slice().reverse().concat([referral]);
    var nodes = [party(links[0].referrer)];
    var edges = [];
    var words = [];
    links.forEach(function (r) {
      nodes.push({ id: r.professional.id, label: r.professional.name, kind: 'Professional' });
      nodes.push(party(r.referee));
      edges.push({ label: 'REFERRED', relation: 'REFERRED', sub: r.status.toLowerCase(), sub2: R.day(r.createdAt) });
      edges.push({ label: 'to', relation: 'REFEREE' });
      words.push(R.partyName(r.referrer) + ' recommended ' + r.professional.name + ' to ' +
        R.partyName(r.referee) + ' on ' + R.day(r.createdAt) + ' (' + r.status.toLowerCase() + ')');
    });
    var title = 'Chain of referral ' + referral.id + ': ' + links.length +
      (links.length === 1 ? ' referral' : ' referrals');
    var desc = words.join('; then ') + '.';
    return el('figure', { class: 'chain', 'data-referral': referral.id }, [
      R.lineDiagram(nodes, edges, title, desc, 'diagram referral-chain'),
      el('figcaption', { text: desc }),
    ]);
  }

  function chains(box, made, received) {
    R.clear(box);
    var all = received.map(function (r) { return [r, 'received']; })
      .concat(made.map(function (r) { return [r, 'made']; }));
    if (!all.length) {
      box.appendChild(R.note('You have made or received no referral yet.'));
      return;
    }
    var panel = el('div', { class: 'chain-panel', 'aria-live': 'polite' });
    var buttons = [];
    function show(i) {
      buttons.forEach(function (b, j) { b.setAttribute('aria-pressed', i === j ? 'true' : 'false'); });
      R.clear(panel).appendChild(chainPicture(all[i][0]));
    }
    var list = el('ul', { class: 'referrals' }, all.map(function (pair, i) {
      var r = pair[0];
      var text = (pair[1] === 'made' ? 'You recommended ' + r.professional.name + ' to ' + R.partyName(r.referee)
        : R.partyName(r.referrer) + ' recommended ' + r.professional.name + ' to you') +
        ' \u00b7 ' + r.status.toLowerCase() + ' \u00b7 ' + R.day(r.createdAt);
      var button = el('button', { type: 'button', class: 'referral', 'data-referral': r.id,
                                  'aria-pressed': 'false', text: text });
      button.addEventListener('click', function () { show(i); });
      buttons.push(button);
      return el('li', {}, [button]);
    }));
    box.appendChild(list);
    box.appendChild(panel);
    show(0);
  }

  function load(id) {
    customerId = id;
    return R.gql(OVERVIEW, { id: id }).then(function (overview) {
      var c = overview.data && overview.data.customer;
      if (!c || overview.errors) {
        R.status('');
        if (R.forbidden(overview)) R.refuse('You may not see this customer\u2019s trust page.');
        else if (!c && !overview.errors && overview.httpStatus === 200) {
          R.refuse('There is no customer with this id.');
        } else R.refuse(R.describe(overview));
        return;
      }
      document.title = 'Whom to trust: ' + c.name;
      R.byId('page-title').textContent = 'Whom ' + c.name + ' can trust';
      var trades = {};
      c.reachable.forEach(function (t) { t.professional.trades.forEach(function (x) { trades[x] = true; }); });
      var select = R.byId('trade');
      while (select.options.length > 1) select.remove(1);
      Object.keys(trades).sort().forEach(function (t) {
        select.appendChild(el('option', { value: t, text: t }));
      });
      chains(R.byId('chains'), c.referralsMade.nodes, c.referralsReceived.nodes);
      R.byId('view').hidden = false;
      return search(select.value).then(function () {
        R.status('Shown for this token: ' + c.name + '.');
        document.body.dataset.loaded = 'trust';
      });
    });
  }

  R.byId('trade-form').addEventListener('submit', function (event) {
    event.preventDefault();
    if (customerId) search(R.byId('trade').value);
  });
  R.byId('trade').addEventListener('change', function () {
    if (customerId) search(R.byId('trade').value);
  });

  R.start(load);
})();
