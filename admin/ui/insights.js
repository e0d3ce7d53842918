// chatbot admin panel: the Insights section. Did the bot help (outcomes of
// conversations, ratings of answers), and what should the operator write
// next (knowledge gaps)? It plugs into app.js through window.chatbotPanel
// and, like app.js, puts every text in the page with textContent.
'use strict';

(function () {
  var p = window.chatbotPanel;
  if (!p) return;
  var el = p.el, add = p.add, clear = p.clear, api = p.api, errText = p.errText;

  // Outcomes in the order of the chart's stack, with their colours.
  var outcomes = [
    ['resolved_by_bot', 'Resolved by the bot', '#1a7f37'],
    ['open', 'Open (quiet period running)', '#7fb3e8'],
    ['handed_off', 'Handed off', '#8a5a00'],
    ['not_helpful', 'Rated not helpful', '#d4731c'],
    ['unanswered', 'Unanswered', '#a4161a']
  ];

  function pct(v) { return v === null || v === undefined ? 'n/a' : Math.round(v * 1000) / 10 + '%'; }
  function isoDay(d) { return d.toISOString().slice(0, 10); }

  function insights(view) {
    var range = el('select', { id: 'ins-range' }, [['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days']].map(function (o) {
      return el('option', { value: o[0], text: o[1] });
    }));
    var group = el('select', { id: 'ins-group' }, el('option', { value: 'days', text: 'By day' }), el('option', { value: 'weeks', text: 'By week' }));
    var integ = el('select', { id: 'ins-integration' }, el('option', { value: '', text: 'All integrations' }));
    var stats = el('div', { class: 'grid', id: 'ins-stats' }), chart = el('div', { id: 'ins-chart' }), convs = el('div', { id: 'ins-conversations' });
    var gaps = el('div', { id: 'ins-gaps' }), worst = el('div', { id: 'ins-worst' });
    add(view, [
      el('section', { class: 'card', 'aria-labelledby': 'ins-h' }, el('h2', { id: 'ins-h', text: 'Insights: did the bot help?' }),
        el('form', { class: 'row', onsubmit: function (e) { e.preventDefault(); load(); } },
          p.field('Range', range), p.field('Plot', group), p.field('Integration', integ), el('button', { type: 'submit', text: 'Show' })),
        stats, chart, convs),
      el('section', { class: 'card', 'aria-labelledby': 'gap-h' }, el('h2', { id: 'gap-h', text: 'Knowledge gaps: what to write next' }),
        el('p', { class: 'hint', text: 'Questions with no answer, weak answers and answers rated not helpful, grouped by similarity.' }), gaps),
      el('section', { class: 'card', 'aria-labelledby': 'worst-h' }, el('h2', { id: 'worst-h', text: 'Worst-rated answers' }), worst)]);
    api('GET', '/api/webhook/config').then(function (res) {
      (res.ok && res.data.configs || []).forEach(function (c) { add(integ, el('option', { value: 'integration=' + c.id, text: c.name })); });
    });
    [range, group, integ].forEach(function (s) { s.addEventListener('change', load); });

    function query() {
      var to = new Date(), from = new Date(to.getTime() - (Number(range.value) - 1) * 86400000);
      return 'from=' + isoDay(from) + '&to=' + isoDay(to) + (integ.value ? '&' + integ.value : '');
    }
    function load() {
      var q = query();
      api('GET', '/api/insights?' + q).then(function (res) {
        clear(stats); clear(chart); clear(convs);
        if (!res.ok) { add(stats, p.missing(res) ? p.notAvailable('Insights') : el('p', { class: 'error', text: errText(res) })); return; }
        var t = res.data.total;
        add(stats, [
          rateStat('Resolution rate', t.resolution_rate, t.resolved_by_bot + ' of ' + t.conversations + ' conversations', 'resolved_by_bot'),
          rateStat('Hand-off rate', t.handoff_rate, t.handed_off + ' handed to an agent', 'handed_off'),
          rateStat('Unanswered rate', t.unanswered_rate, t.unanswered + ' ended without an answer', 'unanswered'),
          rateStat('Feedback score', t.feedback_score, t.rated_helpful + ' helpful, ' + t.rated_not_helpful + ' not helpful', 'not_helpful'),
          rateStat('Open', null, t.open + ' answered within the last ' + Math.round(res.data.quiet_period_seconds / 3600) + ' h', 'open', String(t.open))]);
        add(chart, plot(res.data[group.value] || [], group.value === 'weeks' ? 'week of ' : ''));
        add(chart, el('p', { class: 'hint' }, 'Export: ', el('a', { href: '/api/insights/conversations.csv?' + q, text: 'conversations (CSV)' }), ' · ',
          el('a', { href: '/api/insights/gaps.csv?' + (integ.value || ''), text: 'knowledge gaps (CSV)' })));
      });
      // The curated answers' questions mark the clusters already answered.
      Promise.all([api('GET', '/api/insights/gaps?' + (integ.value || '')), api('GET', '/api/faq')]).then(function (rs) {
        var known = {};
        (rs[1].ok && rs[1].data.faqs || []).forEach(function (f) {
          [f.question].concat(f.alternatives || []).forEach(function (q) { known[norm(q)] = true; });
        });
        showGaps(gaps, rs[0], known);
      });
      api('GET', '/api/insights/answers?' + q).then(function (res) { showWorst(worst, res); });
    }
    // rateStat is a number that lists the conversations behind it.
    function rateStat(k, v, detail, outcome, shown) {
      return el('div', { class: 'stat' }, el('div', { class: 'v', text: shown || pct(v) }), el('div', { class: 'k', text: k }),
        el('button', { type: 'button', class: 'secondary', text: detail, onclick: function () { listConversations(outcome); } }));
    }
    function listConversations(outcome) {
      api('GET', '/api/insights/conversations?limit=100&outcome=' + outcome + '&' + query()).then(function (res) {
        clear(convs);
        if (!res.ok) { add(convs, el('p', { class: 'error', text: errText(res) })); return; }
        var cs = res.data.conversations || [];
        add(convs, el('h3', { text: 'Conversations: ' + outcome.replace(/_/g, ' ') + ' (' + cs.length + (cs.length === 100 ? '+' : '') + ')' }));
        if (!cs.length) { add(convs, el('p', { class: 'muted', text: 'None in this range.' })); return; }
        add(convs, el('div', { class: 'table-wrap' }, el('table', { id: 'ins-conv-table' },
          el('thead', null, el('tr', null, ['Conversation', 'Started', 'Last message', 'Turns', 'Outcome'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, cs.map(function (c) {
            return el('tr', null, el('td', null, el('a', { href: '#conversation/' + encodeURIComponent(c.conversation_id), text: c.conversation_id })),
              el('td', { text: p.fmtTime(c.started_at) }), el('td', { text: p.fmtTime(c.last_at) }), el('td', { text: c.turns }), el('td', null, p.pill(c.outcome)));
          })))));
      });
    }
    load();
  }

  // plot draws the outcomes of each period as a stacked bar (inline SVG),
  // with the feedback score beneath as text for each bar's title.
  function plot(periods, prefix) {
    var ns = 'http://www.w3.org/2000/svg', w = 24, h = 120;
    var max = Math.max.apply(null, periods.map(function (d) { return d.conversations; }).concat([1]));
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'chart');
    svg.setAttribute('viewBox', '0 0 ' + (periods.length * w + 4) + ' ' + (h + 4));
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    var total = periods.reduce(function (s, d) { return s + d.conversations; }, 0);
    svg.setAttribute('aria-label', 'Conversations by outcome, ' + periods.length + ' bars, ' + total + ' conversations in all');
    periods.forEach(function (d, i) {
      var y = h;
      outcomes.forEach(function (o) {
        var n = d[o[0]] || 0;
        if (!n) return;
        var bh = n / max * h;
        y -= bh;
        var r = document.createElementNS(ns, 'rect');
        r.setAttribute('x', i * w + 3); r.setAttribute('y', y); r.setAttribute('width', w - 6); r.setAttribute('height', bh);
        r.setAttribute('fill', o[2]);
        var title = document.createElementNS(ns, 'title');
        title.textContent = prefix + d.period + ': ' + n + ' ' + o[1].toLowerCase() + ' (feedback score ' + pct(d.feedback_score) + ')';
        r.appendChild(title);
        svg.appendChild(r);
      });
    });
    var legend = el('div', { class: 'legend' });
    outcomes.forEach(function (o) {
      var s = document.createElementNS(ns, 'svg');
      s.setAttribute('width', '10'); s.setAttribute('height', '10'); s.setAttribute('aria-hidden', 'true');
      var r = document.createElementNS(ns, 'rect');
      r.setAttribute('width', '10'); r.setAttribute('height', '10'); r.setAttribute('fill', o[2]);
      s.appendChild(r);
      add(legend, [' ', s, ' ' + o[1]]);
    });
    var first = periods.length ? periods[0].period : '', last = periods.length ? periods[periods.length - 1].period : '';
    return el('div', null, svg, legend, el('div', { class: 'hint', text: prefix + first + ' to ' + last + '; hover a bar for its numbers.' }));
  }

  function norm(q) { return String(q || '').trim().toLowerCase(); }

  // curatedForm is the inline form under a cluster's row that adds a
  // curated answer for it: the representative question, the other wordings
  // as alternatives, and the answer the operator types.
  function curatedForm(c, row, done) {
    var q = el('input', { class: 'gap-question', value: c.representative, required: true });
    var alts = el('textarea', { class: 'gap-alternatives', rows: 3, value: (c.examples || []).join('\n') });
    var answer = el('textarea', { class: 'gap-answer', rows: 4, required: true });
    var err = el('p', { class: 'error', role: 'alert' });
    var form = el('form', { class: 'gap-form', onsubmit: function (e) {
      e.preventDefault();
      err.textContent = '';
      var alternatives = alts.value.split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s && norm(s) !== norm(q.value); });
      api('POST', '/api/faq', { question: q.value.trim(), alternatives: alternatives, answer: answer.value }).then(function (r) {
        if (!r.ok) { err.textContent = errText(r); return; }
        tr.remove();
        done(r.data.faq);
      });
    } }, p.field('Question', q), p.field('Other wordings (one a line)', alts), p.field('Answer', answer),
      el('div', { class: 'row' }, el('button', { type: 'submit', text: 'Save curated answer' }),
        el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: function () { tr.remove(); } })), err);
    var tr = el('tr', { class: 'gap-form-row' }, el('td', { colspan: row.children.length }, form));
    row.parentNode.insertBefore(tr, row.nextSibling);
    answer.focus();
    return tr;
  }

  function showGaps(box, res, known) {
    clear(box);
    if (!res.ok) { add(box, el('p', { class: 'error', text: errText(res) })); return; }
    var cs = res.data.clusters || [];
    if (!cs.length) { add(box, el('p', { class: 'muted', text: 'No gaps in the last 30 days: every question got a good answer.' })); return; }
    add(box, el('div', { class: 'table-wrap' }, el('table', { id: 'gaps-table' },
      el('thead', null, el('tr', null, ['Asked', 'Question', 'Other wordings', 'Why', 'Last seen', 'Conversations', 'Curated answer'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', null, cs.map(function (c) {
        var why = Object.keys(c.reasons || {}).sort().map(function (k) { return k.replace(/_/g, ' ') + ' ' + c.reasons[k]; }).join(', ');
        var action = el('td', { class: 'gap-action' }), row;
        var answered = function (f) {
          clear(action);
          add(action, el('span', { class: 'ok', text: 'answered by a curated answer' + (f ? ' (#' + f.id + ')' : '') }));
        };
        if (known[norm(c.representative)]) answered(null);
        else {
          var open = null;
          add(action, el('button', { type: 'button', class: 'secondary add-curated', text: 'Add a curated answer', onclick: function () {
            if (open && open.parentNode) { open.querySelector('.gap-answer').focus(); return; }
            open = curatedForm(c, row, answered);
          } }));
        }
        row = el('tr', null, el('td', { text: c.count }), el('td', { class: 'text', text: c.representative }),
          el('td', { class: 'text', text: (c.examples || []).join('\n') }), el('td', { text: why }), el('td', { text: p.fmtTime(c.last_seen) }),
          el('td', null, (c.conversations || []).slice(0, 5).map(function (r) {
            return [el('a', { href: '#conversation/' + encodeURIComponent(r.conversation_id), text: r.conversation_id }), ' '];
          })), action);
        return row;
      })))));
  }

  function showWorst(box, res) {
    clear(box);
    if (!res.ok) { add(box, el('p', { class: 'error', text: errText(res) })); return; }
    var as = res.data.answers || [];
    if (!as.length) { add(box, el('p', { class: 'muted', text: 'No answer was rated not helpful in this range.' })); return; }
    add(box, el('div', { class: 'table-wrap' }, el('table', { id: 'worst-table' },
      el('thead', null, el('tr', null, ['Question', 'Not helpful', 'Helpful', 'Answered by', 'Sources', 'Comments', 'Conversation'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', null, as.map(function (a) {
        return el('tr', null, el('td', { class: 'text', text: a.question }), el('td', { text: a.not_helpful }), el('td', { text: a.helpful }),
          el('td', null, p.pill(a.response_type)), el('td', { class: 'text', text: (a.sources || []).map(function (s) { return s.title || s.source; }).join('\n') }),
          el('td', { class: 'text', text: (a.comments || []).join('\n') }),
          el('td', null, el('a', { href: '#conversation/' + encodeURIComponent(a.conversation_id), text: a.conversation_id })));
      })))));
  }

  p.sections.insights = insights;
})();
