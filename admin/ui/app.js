// chatbot admin panel: a small hand-written front end over the JSON APIs.
// Every piece of text that comes from users or the server is put in the
// page with textContent (through el()), never as HTML.
'use strict';

(function () {
  var state = { csrf: '', section: '', timers: [], events: null, agent: localStorage.getItem('chatbot.agent') || '' };

  // ---- DOM helpers ----------------------------------------------------
  function el(tag, attrs) {
    var n = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') n.textContent = String(v);
        else if (k === 'class') n.className = v;
        else if (k.slice(0, 2) === 'on') n.addEventListener(k.slice(2), v);
        else if (k === 'value') n.value = v;
        else if (k === 'checked') n.checked = !!v;
        else n.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) add(n, arguments[i]);
    return n;
  }
  function add(n, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(n, x); }); return; }
    n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function $(id) { return document.getElementById(id); }
  function fmtTime(s) {
    if (!s) return '';
    var d = new Date(s);
    return isNaN(d) ? String(s) : d.toLocaleString();
  }
  function pill(s) { return el('span', { class: 'pill ' + String(s || ''), text: s || '' }); }
  function field(label, input, hint) {
    var id = input.id || ('f' + Math.random().toString(36).slice(2));
    input.id = id;
    return el('div', null, el('label', { for: id, text: label }), input, hint ? el('div', { class: 'hint', text: hint }) : null);
  }
  function notAvailable(what) {
    return el('p', { class: 'na', role: 'status', text: what + ' is not available on this server yet (its API does not answer). The rest of the panel works.' });
  }

  // ---- API --------------------------------------------------------------
  // api resolves to {ok, status, data}; it never throws for HTTP errors.
  function api(method, path, body, isForm) {
    var opts = { method: method, headers: {}, credentials: 'same-origin' };
    if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = state.csrf;
    if (body !== undefined) {
      if (isForm) opts.body = body;
      else { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    }
    return fetch(path, opts).then(function (r) {
      var ct = r.headers.get('Content-Type') || '';
      var p = ct.indexOf('json') >= 0 ? r.json().catch(function () { return {}; }) : r.text().then(function (t) { return { text: t }; });
      return p.then(function (data) {
        if (r.status === 401 && path.indexOf('/admin/api/login') !== 0 && path !== '/admin/api/session') showLogin('Your session has ended; log in again.');
        return { ok: r.ok, status: r.status, data: data || {}, retryAfter: r.headers.get('Retry-After') };
      });
    }, function (err) {
      return { ok: false, status: 0, data: { error: 'The server did not answer: ' + err.message } };
    });
  }
  function missing(res) { return res.status === 404 || res.status === 405 || res.status === 501; }
  function errText(res) { return (res.data && res.data.error) || ('request failed with status ' + res.status); }

  // ---- login ------------------------------------------------------------
  function showLogin(msg) {
    stopTimers();
    $('nav').hidden = true;
    clear($('view'));
    $('login').hidden = false;
    $('login-error').textContent = msg || '';
    $('login-token').focus();
  }
  function loggedIn(data) {
    state.csrf = data.csrf_token;
    $('login').hidden = true;
    $('nav').hidden = false;
    route();
  }
  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var btn = e.target.querySelector('button');
    btn.disabled = true;
    api('POST', '/admin/api/login', { token: $('login-token').value }).then(function (res) {
      btn.disabled = false;
      if (res.ok) { $('login-token').value = ''; loggedIn(res.data); return; }
      var msg = errText(res);
      if (res.status === 429 || res.retryAfter) msg += ' (wait ' + (res.retryAfter || '?') + ' s before the next try)';
      $('login-error').textContent = msg;
    });
  });
  $('logout').addEventListener('click', function () {
    api('POST', '/admin/api/logout').then(function () { state.csrf = ''; showLogin('Logged out.'); });
  });

  // ---- navigation -------------------------------------------------------
  var sections = {
    overview: overview, integrations: integrations, messages: messages, deliveries: deliveries,
    livechat: livechat, knowledge: knowledge, logs: logs, conversation: conversation, curated: curated, tools: toolsSection
  };
  function stopTimers() {
    state.timers.forEach(function (t) { clearInterval(t); });
    state.timers = [];
    if (state.events) { state.events.close(); state.events = null; }
    document.body.removeAttribute('data-live');
    document.body.removeAttribute('data-waiting');
  }
  function route() {
    if ($('nav').hidden) return;
    stopTimers();
    var hash = location.hash.replace(/^#/, '') || 'overview';
    var parts = hash.split('/');
    var name = sections[parts[0]] ? parts[0] : 'overview';
    state.section = name;
    document.querySelectorAll('nav a').forEach(function (a) {
      if (a.getAttribute('data-section') === (name === 'conversation' ? 'messages' : name)) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    var view = clear($('view'));
    sections[name](view, decodeURIComponent(parts.slice(1).join('/')));
    watchLiveChat();
  }
  window.addEventListener('hashchange', route);

  // ---- Overview -----------------------------------------------------------
  function stat(k, v, id) { return el('div', { class: 'stat', id: id }, el('div', { class: 'v', text: v }), el('div', { class: 'k', text: k })); }
  // backupStat shows the last scheduled backup: a short state as the
  // number, the details (when, size, why not) in the label beneath.
  function backupStat(b) {
    var v, k;
    if (!b || !b.enabled) { v = 'off'; k = 'scheduled backups (serve --backup-every 24h)'; }
    else if (b.error) { v = 'FAILED'; k = 'last backup ' + b.time + ': ' + b.error; }
    else if (!b.last_success) { v = 'none yet'; k = 'last backup (every ' + b.every + ')'; }
    else { v = Math.round(b.bytes / 1048576 * 10) / 10 + ' MB'; k = 'last backup ' + b.last_success + ', checked' + (b.with_key ? ', with key' : ', without key'); }
    return stat(k, v, 'stat-backup');
  }
  function overview(view) {
    var card = el('section', { class: 'card', 'aria-labelledby': 'ov-h' }, el('h2', { id: 'ov-h', text: 'Overview (last 24 hours)' }));
    var grid = el('div', { class: 'grid' });
    var chart = el('div');
    var platforms = el('div');
    var extra = el('div', { class: 'grid' });
    add(card, [grid, el('h3', { text: 'Messages per hour' }), chart, el('h3', { text: 'Incoming messages per platform' }), platforms, el('h3', { text: 'Services' }), extra,
      el('button', { type: 'button', class: 'secondary', text: 'Refresh', onclick: function () { route(); } })]);
    add(view, card);
    api('GET', '/admin/api/overview').then(function (res) {
      if (!res.ok) { add(grid, el('p', { class: 'error', text: errText(res) })); return; }
      var d = res.data, m = d.messages || {};
      var total = 0;
      Object.keys(m.incoming_by_platform || {}).forEach(function (p) { total += m.incoming_by_platform[p]; });
      add(grid, [
        stat('incoming messages', total, 'stat-incoming'),
        stat('answer latency p50 / p95', (m.latency_p50_ms || 0) + ' / ' + (m.latency_p95_ms || 0) + ' ms'),
        stat('delivery success rate', m.delivery_success_rate < 0 ? 'no deliveries' : Math.round(m.delivery_success_rate * 1000) / 10 + ' %'),
        stat('deliveries queued', d.delivery_queue_depth),
        stat('integrations', d.integrations),
        stat('warnings and errors (recent)', d.recent_problems),
        backupStat(d.backup)
      ]);
      add(chart, barChart(m.series || []));
      var rows = Object.keys(m.incoming_by_platform || {}).sort().map(function (p) {
        return el('tr', null, el('td', { text: p }), el('td', { text: m.incoming_by_platform[p] }));
      });
      add(platforms, rows.length ? el('table', null, el('thead', null, el('tr', null, el('th', { text: 'platform' }), el('th', { text: 'messages' }))), el('tbody', null, rows))
        : el('p', { class: 'muted', text: 'No messages in the last 24 hours.' }));
    });
    var live = stat('live chats waiting', '…', 'stat-waiting'); add(extra, live);
    api('GET', '/api/livechat/sessions').then(function (res) {
      var v = live.querySelector('.v');
      if (!res.ok) { v.textContent = missing(res) ? 'not available' : 'error'; return; }
      v.textContent = sessionsOf(res.data).filter(function (s) { return stateOf(s) === 'waiting'; }).length;
    });
    var kb = stat('knowledge base documents', '…', 'stat-kb'); add(extra, kb);
    api('GET', '/api/knowledge/documents').then(function (res) {
      var v = kb.querySelector('.v');
      if (!res.ok) { v.textContent = missing(res) ? 'not available' : 'error'; return; }
      var docs = docsOf(res.data), chunks = res.data.chunks || 0;
      if (!chunks) docs.forEach(function (x) { chunks += x.chunks || 0; });
      v.textContent = docs.length + ' (' + chunks + ' chunks)';
    });
    var llm = stat('language model', '…', 'stat-llm'); add(extra, llm);
    api('GET', '/readyz').then(function (res) {
      var v = llm.querySelector('.v'), k = llm.querySelector('.k');
      if (missing(res)) { v.textContent = 'not available'; return; }
      var d = res.data || {};
      var o = d.llm || {};
      v.textContent = (o.mode === 'none' ? 'built-in answerer' : (o.state || d.status || (res.ok ? 'ready' : 'not ready')));
      var e = d.embedder || {};
      k.textContent = 'language model' + (o.model ? ': ' + o.model : '') + (o.reason ? ' (' + o.reason + ')' : '') +
        (e.provider ? ' · embeddings: ' + e.provider + (e.model ? ' ' + e.model : '') : '');
    });
    // One row per model server: several Ollama hosts or OpenAI-compatible servers.
    api('GET', '/api/llm/hosts').then(function (res) {
      if (!res.ok) return;
      var o = (res.data || {}).llm || {}, hosts = o.hosts || [];
      if (hosts.length) {
        add(card, [el('h3', { text: 'Language-model servers (' + o.mode + ')' }), el('table', { id: 'llm-hosts' },
          el('thead', null, el('tr', null, ['server', 'state', 'in flight / limit', 'calls', 'errors', 'mean latency'].map(function (h) { return el('th', { text: h }); }))),
          el('tbody', null, hosts.map(function (h) {
            return el('tr', null, [
              el('td', { text: h.url }),
              el('td', { text: h.state + (h.reason ? ' (' + h.reason + ')' : '') }),
              el('td', { text: h.in_flight + ' / ' + h.limit }),
              el('td', { text: h.calls }),
              el('td', { text: h.errors }),
              el('td', { text: h.latency_count ? Math.round(h.mean_latency_ms) + ' ms' : '–' })
            ]);
          })))]);
      }
    });
  }
  function barChart(series) {
    var ns = 'http://www.w3.org/2000/svg';
    var max = 1;
    series.forEach(function (p) { max = Math.max(max, p.incoming, p.outgoing); });
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'chart');
    svg.setAttribute('viewBox', '0 0 ' + (series.length * 12 + 4) + ' 104');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    var sumIn = 0, sumOut = 0;
    series.forEach(function (p, i) {
      sumIn += p.incoming; sumOut += p.outgoing;
      [['in', p.incoming, 0], ['out', p.outgoing, 5]].forEach(function (b) {
        var h = Math.round(b[1] / max * 100);
        var r = document.createElementNS(ns, 'rect');
        r.setAttribute('class', b[0]);
        r.setAttribute('x', 2 + i * 12 + b[2]); r.setAttribute('width', 4);
        r.setAttribute('y', 102 - h); r.setAttribute('height', h);
        var t = document.createElementNS(ns, 'title');
        t.textContent = fmtTime(p.start) + ': ' + b[1] + (b[0] === 'in' ? ' incoming' : ' outgoing');
        r.appendChild(t);
        svg.appendChild(r);
      });
    });
    var axis = document.createElementNS(ns, 'rect');
    axis.setAttribute('class', 'axis');
    axis.setAttribute('x', 0); axis.setAttribute('y', 102); axis.setAttribute('height', 1); axis.setAttribute('width', series.length * 12 + 4);
    svg.appendChild(axis);
    svg.setAttribute('aria-label', 'Messages per hour over 24 hours: ' + sumIn + ' incoming (dark) and ' + sumOut + ' outgoing (light)');
    var legend = el('div', { class: 'legend' }, series.length ? fmtTime(series[0].start) + ' to now' : '',
      el('span', { class: 'sw in' }), 'incoming ' + sumIn, el('span', { class: 'sw out' }), 'outgoing ' + sumOut);
    return el('div', null, svg, legend);
  }

  // ---- Integrations and widgets -----------------------------------------
  // A native integration's platform posts its events to this server's own
  // origin + events_path: the URL to paste into the platform's settings.
  function eventsURL(c) { return c.events_path ? location.origin + c.events_path : ''; }
  var pauseCauses = {
    agent_reply: 'an agent replied in the platform', assigned: 'assigned to an agent', status_open: 'the platform marks it open (human-owned)',
    handoff: 'the user asked for a human and the bot handed over', control_passed: 'control was passed to another integration',
    resolved: 'the platform resolved it', handed_back: 'an agent handed it back', operator: 'given back from this panel'
  };
  function integrations(view) {
    var list = el('div'), out = el('div', { role: 'status' });
    var f = {
      id: el('input', { type: 'hidden' }),
      name: el('input', { id: 'int-name', required: true, maxlength: 100 }),
      provider: el('input', { id: 'int-provider', required: true, list: 'int-providers', placeholder: 'freshchat, zendesk, intercom, chatwoot, custom' }),
      adapter: el('select', { id: 'int-adapter', onchange: showAdapter },
        el('option', { value: 'generic', text: 'Generic (our JSON both ways, your glue code)' }),
        el('option', { value: 'native', text: 'Native (the platform\'s own events and reply API)' })),
      url: el('input', { id: 'int-url', type: 'url', placeholder: 'https://your-platform.example/webhook' }),
      auth: el('input', { id: 'int-auth', type: 'password', autocomplete: 'off', placeholder: 'leave empty to keep the stored one' }),
      headers: el('textarea', { id: 'int-headers', placeholder: 'X-API-Key: value (one per line)' }),
      apiURL: el('input', { id: 'int-api-url', type: 'url', placeholder: 'https://app.chatwoot.com' }),
      apiToken: el('input', { id: 'int-api-token', type: 'password', autocomplete: 'off', placeholder: 'leave blank to keep the stored one' }),
      secret: el('textarea', { id: 'int-platform-secret', autocomplete: 'off', placeholder: 'leave blank to keep the stored one' }),
      account: el('input', { id: 'int-account', maxlength: 200 }),
      botID: el('input', { id: 'int-bot-id', maxlength: 200 }),
      handoff: el('select', { id: 'int-handoff' },
        el('option', { value: 'native', text: 'Native: the platform\'s agents take over there' }),
        el('option', { value: 'console', text: 'Console: our live-chat console' })),
      handoffTarget: el('input', { id: 'int-handoff-target', maxlength: 200, placeholder: 'team or group id (optional)' }),
      unsigned: el('input', { id: 'int-accept-unsigned', type: 'checkbox', onchange: showAdapter }),
      timeout: el('input', { id: 'int-timeout', type: 'number', min: 1, max: 120, value: 30 }),
      retries: el('input', { id: 'int-retries', type: 'number', min: 0, max: 20, value: 3 }),
      active: el('input', { id: 'int-active', type: 'checkbox', checked: true })
    };
    var providers = el('datalist', { id: 'int-providers' }, ['chatwoot', 'freshchat', 'zendesk', 'intercom', 'custom'].map(function (p) { return el('option', { value: p }); }));
    var unsignedWarn = el('p', { id: 'int-unsigned-warning', class: 'warning', role: 'alert', hidden: true,
      text: 'Warning: unsigned events are accepted. Anyone who knows the events URL can then post messages and pause conversations as the platform. Use it only for a platform version that does not sign its webhooks.' });
    var generic = el('div', { id: 'int-generic' }, field('Outgoing webhook URL', f.url, 'Where answers are delivered.'),
      el('div', { class: 'row' }, field('Auth token for outgoing calls', f.auth), field('Timeout (seconds)', f.timeout), field('Retry attempts', f.retries)),
      field('Custom headers', f.headers));
    var native = el('fieldset', { id: 'int-native', hidden: true }, el('legend', { text: 'Native adapter' }),
      field('API URL', f.apiURL, 'The platform\'s API base; answers go out through its reply API.'),
      el('div', { class: 'row' }, field('API token', f.apiToken, 'Shown masked once saved.'), field('Account', f.account, 'Chatwoot account id; Sunshine app id for Zendesk.'), field('Bot id', f.botID, 'The bot\'s identity on the platform (Chatwoot bot, Freshchat agent, Intercom admin).')),
      field('Platform secret', f.secret, 'The webhook\'s signing secret (Freshchat: its RSA public key in PEM). Shown masked once saved.'),
      el('div', { class: 'row' }, field('Hand-off', f.handoff), field('Hand-off target', f.handoffTarget)),
      el('label', { class: 'inline' }, f.unsigned, 'Accept unsigned events'), unsignedWarn);
    function isNative() { return f.adapter.value === 'native'; }
    function showAdapter() {
      native.hidden = !isNative(); generic.hidden = isNative();
      unsignedWarn.hidden = !(isNative() && f.unsigned.checked);
    }
    var title = el('h3', { text: 'New integration' });
    var submit = el('button', { type: 'submit', text: 'Create integration' });
    var cancel = el('button', { type: 'button', class: 'secondary', text: 'Cancel edit', hidden: true, onclick: resetForm });
    var formErr = el('p', { class: 'error', role: 'alert' });
    function resetForm() {
      f.id.value = ''; f.name.value = ''; f.provider.value = ''; f.url.value = ''; f.auth.value = ''; f.headers.value = '';
      f.timeout.value = 30; f.retries.value = 3; f.active.checked = true;
      f.adapter.value = 'generic'; f.apiURL.value = ''; f.apiToken.value = ''; f.secret.value = ''; f.account.value = ''; f.botID.value = '';
      f.handoff.value = 'native'; f.handoffTarget.value = ''; f.unsigned.checked = false; showAdapter();
      title.textContent = 'New integration'; submit.textContent = 'Create integration'; cancel.hidden = true; formErr.textContent = '';
    }
    function formBody(editing) {
      var body = { name: f.name.value, provider: f.provider.value, is_active: f.active.checked, adapter: f.adapter.value };
      if (isNative()) {
        body.api_url = f.apiURL.value; body.account = f.account.value; body.bot_id = f.botID.value;
        body.handoff = f.handoff.value; body.handoff_target = f.handoffTarget.value; body.accept_unsigned = f.unsigned.checked;
        // Blank keeps the stored credential: reads return it masked.
        if (f.apiToken.value) body.api_token = f.apiToken.value;
        if (f.secret.value) body.platform_secret = f.secret.value;
        if (editing) body.outgoing_webhook_url = '';
        return body;
      }
      body.outgoing_webhook_url = f.url.value; body.custom_headers = parseHeaders(f.headers.value);
      body.timeout_seconds = +f.timeout.value; body.retry_attempts = +f.retries.value;
      if (f.auth.value) body.auth_token = f.auth.value;
      if (editing && !f.headers.value) delete body.custom_headers;
      return body;
    }
    function eventsURLCard(c, intro) {
      return el('div', { class: 'card', id: 'events-url-card' },
        el('p', { class: 'ok', text: intro }),
        el('label', { text: 'Paste this URL into the platform\'s webhook settings' }),
        el('div', { class: 'secret', id: 'events-url', text: eventsURL(c) }));
    }
    var form = el('form', {
      id: 'integration-form', onsubmit: function (e) {
        e.preventDefault();
        var editing = f.id.value;
        api(editing ? 'PUT' : 'POST', '/api/webhook/config' + (editing ? '/' + editing : ''), formBody(editing)).then(function (res) {
          if (!res.ok) { formErr.textContent = errText(res); return; }
          clear(out);
          var c = res.data.config || {};
          if (c.adapter === 'native') {
            add(out, eventsURLCard(c, (editing ? 'Saved "' : 'Created "') + c.name + '".'));
          } else if (!editing) {
            add(out, el('div', { class: 'card', id: 'created-secrets' },
              el('p', { class: 'ok', text: 'Created "' + c.name + '". Copy these now: they are shown only once.' }),
              el('label', { text: 'Incoming token (the platform sends it as Authorization: Bearer …)' }),
              el('div', { class: 'secret', id: 'incoming-token', text: c.incoming_token || '' }),
              el('label', { text: 'Signing secret (verifies our outgoing webhooks)' }),
              el('div', { class: 'secret', text: c.signing_secret || '' })));
          } else add(out, el('p', { class: 'ok', text: 'Saved.' }));
          resetForm(); load();
        });
      }
    }, f.id, providers, el('div', { class: 'row' }, field('Name', f.name), field('Provider', f.provider), field('Adapter', f.adapter)),
      generic, native,
      el('label', { class: 'inline' }, f.active, 'Active'),
      el('div', null, submit, cancel), formErr);
    var convs = el('div', { id: 'conv-states' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 'int-h' }, el('h2', { id: 'int-h', text: 'Webhook integrations' }), list, out, convs, title, form));
    var shown = null; // the native integration whose conversations are listed
    function load() {
      Promise.all([api('GET', '/api/webhook/config'), api('GET', '/api/webhook/breakers')]).then(function (both) {
        var res = both[0], breakers = {};
        if (both[1].ok) (both[1].data.breakers || []).forEach(function (b) { breakers[b.config_id] = b; });
        clear(list);
        if (!res.ok) { add(list, missing(res) ? notAvailable('Webhook configuration') : el('p', { class: 'error', text: errText(res) })); return; }
        var cs = res.data.configs || [];
        if (shown && !cs.some(function (c) { return c.id === shown.id && c.adapter === 'native'; })) { shown = null; clear(convs); }
        if (!cs.length) { add(list, el('p', { class: 'muted', text: 'No integrations yet. Create one below.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'integrations-table' },
          el('thead', null, el('tr', null, ['Name', 'Provider', 'Adapter', 'Outgoing or API URL', 'Incoming token or events URL', 'Status', 'Deliveries', 'Actions'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, cs.map(function (c) {
            var result = el('div', { role: 'status', class: 'muted' });
            var nat = c.adapter === 'native';
            var adapterCell = el('td', { class: 'adapter' }, pill(c.adapter || 'generic'));
            if (nat && c.accept_unsigned) add(adapterCell, el('div', { class: 'warning', text: 'accepts unsigned events' }));
            return el('tr', { 'data-config': c.id }, el('td', { text: c.name }), el('td', { text: c.provider }), adapterCell,
              el('td', { class: 'text mono', text: nat ? (c.api_url || '') : (c.outgoing_webhook_url || '') }),
              el('td', { class: 'mono', text: nat ? eventsURL(c) : c.incoming_token }), el('td', null, pill(c.is_active ? 'active' : 'disabled')),
              breakerCell(breakers[c.id]),
              el('td', null,
                el('button', { type: 'button', class: 'secondary', text: 'Edit', 'aria-label': 'Edit ' + c.name, onclick: function () {
                  resetForm();
                  f.id.value = c.id; f.name.value = c.name; f.provider.value = c.provider; f.url.value = c.outgoing_webhook_url || '';
                  f.auth.value = ''; f.headers.value = ''; f.timeout.value = c.timeout_seconds; f.retries.value = c.retry_attempts; f.active.checked = c.is_active;
                  f.adapter.value = nat ? 'native' : 'generic'; f.apiURL.value = c.api_url || ''; f.account.value = c.account || ''; f.botID.value = c.bot_id || '';
                  f.handoff.value = c.handoff || 'native'; f.handoffTarget.value = c.handoff_target || ''; f.unsigned.checked = !!c.accept_unsigned;
                  f.apiToken.placeholder = c.api_token ? 'stored: ' + c.api_token + ' (leave blank to keep)' : 'leave blank to keep the stored one';
                  f.secret.placeholder = c.platform_secret ? 'stored: ' + c.platform_secret + ' (leave blank to keep)' : 'leave blank to keep the stored one';
                  showAdapter();
                  title.textContent = 'Edit ' + c.name; submit.textContent = 'Save changes'; cancel.hidden = false; f.name.focus();
                } }),
                nat ? el('button', { type: 'button', class: 'secondary', text: 'Conversations', 'aria-label': 'Conversations of ' + c.name, onclick: function () {
                  shown = c; loadConvs();
                } }) : null,
                el('button', { type: 'button', class: 'secondary', text: c.is_active ? 'Disable' : 'Enable', onclick: function () {
                  api('PUT', '/api/webhook/config/' + c.id, { is_active: !c.is_active }).then(function (r) { if (!r.ok) result.textContent = errText(r); else load(); });
                } }),
                nat ? null : el('button', { type: 'button', class: 'secondary', text: 'Send test', onclick: function () {
                  result.textContent = 'Sending a test delivery…';
                  api('POST', '/api/webhook/config/' + c.id + '/test').then(function (r) {
                    if (missing(r)) { result.textContent = 'Test delivery is not available on this server yet.'; return; }
                    var t = r.data || {};
                    result.textContent = r.ok ? 'Test ' + (t.delivered ? 'delivered' : 'not delivered') + (t.status_code ? ': HTTP ' + t.status_code : '') +
                      (t.duration_ms !== undefined ? ' in ' + Math.round(t.duration_ms) + ' ms' : '') + (t.error ? ' (' + t.error + ')' : '') : errText(r);
                  });
                } }),
                el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: function () {
                  if (!confirm('Delete the integration "' + c.name + '"? Its incoming token stops working.')) return;
                  api('DELETE', '/api/webhook/config/' + c.id).then(function (r) { if (!r.ok) result.textContent = errText(r); else load(); });
                } }), result));
          })))));
      });
    }
    // loadConvs lists the shown native integration's conversations and
    // whether the bot answers them (paused while a human owns one).
    function loadConvs() {
      if (!shown) return;
      var c = shown;
      api('GET', '/api/platforms/' + c.id + '/conversations').then(function (res) {
        if (shown !== c) return;
        clear(convs);
        var card = el('div', { class: 'card' }, el('h3', { text: 'Conversations of ' + c.name }),
          el('p', { class: 'muted', text: 'The bot stays silent in a paused conversation while a human owns it; user messages are stored, not answered.' }));
        add(convs, card);
        if (!res.ok) { add(card, missing(res) ? notAvailable('The conversations\' states') : el('p', { class: 'error', text: errText(res) })); return; }
        var ps = res.data.conversations || [];
        if (!ps.length) { add(card, el('p', { class: 'muted', text: 'No conversation has been paused or given back yet.' })); return; }
        add(card, el('div', { class: 'table-wrap' }, el('table', { id: 'conv-states-table' },
          el('thead', null, el('tr', null, ['Conversation', 'State', 'Cause', 'Since', 'Action'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, ps.map(function (p) {
            var result = el('div', { role: 'status', class: 'error' });
            return el('tr', { 'data-conv': p.conversation_id }, el('td', { class: 'mono', text: p.conversation_id }),
              el('td', null, pill(p.paused ? 'paused' : 'active')),
              el('td', { class: 'cause', text: p.cause + (pauseCauses[p.cause] ? ' (' + pauseCauses[p.cause] + ')' : '') }),
              el('td', { text: fmtTime(p.updated_at) }),
              el('td', null, p.paused ? el('button', { type: 'button', class: 'secondary resume', text: 'Give back to the bot', onclick: function (e) {
                e.target.disabled = true;
                api('POST', '/api/platforms/' + c.id + '/conversations/' + encodeURIComponent(p.conversation_id) + '/resume').then(function (r) {
                  if (!r.ok) { e.target.disabled = false; result.textContent = errText(r); return; }
                  loadConvs();
                });
              } }) : null, result));
          })))));
      });
    }
    // A pause comes from the platform at any time: refresh the list.
    state.timers.push(setInterval(loadConvs, 5000));
    load();
    widgetsCard(view);
  }
  // breakerCell shows an integration's delivery circuit breaker: closed,
  // or open / half-open with its failures and when deliveries resume.
  function breakerCell(b) {
    if (!b) return el('td', { class: 'muted', text: '' });
    var td = el('td', { class: 'breaker' }, pill(b.state));
    if (b.state !== 'closed') {
      add(td, el('div', { class: 'muted', text: b.consecutive_failures + ' failed in a row; next attempt ' + fmtTime(b.next_attempt_at) }));
    }
    return td;
  }
  function parseHeaders(text) {
    var h = {};
    text.split('\n').forEach(function (line) {
      var i = line.indexOf(':');
      if (i > 0) h[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    });
    return h;
  }
  function widgetsCard(view) {
    var list = el('div'), err = el('p', { class: 'error', role: 'alert' });
    var name = el('input', { id: 'w-name', required: true }), origins = el('textarea', { id: 'w-origins', required: true, placeholder: 'https://www.example.com (one per line)' });
    var rate = el('input', { id: 'w-rate', type: 'number', min: 1, max: 600, value: 30 });
    var form = el('form', { id: 'widget-form', onsubmit: function (e) {
      e.preventDefault();
      api('POST', '/admin/api/widgets', { name: name.value, allowed_origins: origins.value.split(/\s+/).filter(Boolean), rate_per_minute: +rate.value }).then(function (res) {
        if (!res.ok) { err.textContent = errText(res); return; }
        err.textContent = ''; name.value = ''; origins.value = ''; load();
      });
    } }, el('div', { class: 'row' }, field('Site name', name), field('Requests per minute', rate)), field('Allowed origins', origins, 'Only pages on these origins may use the widget.'),
      el('button', { type: 'submit', text: 'Create widget' }), err);
    add(view, el('section', { class: 'card', 'aria-labelledby': 'w-h' }, el('h2', { id: 'w-h', text: 'Website widgets' }),
      el('p', { class: 'muted', text: 'Paste the snippet into your site to show a chat bubble that answers from the knowledge base.' }), list, el('h3', { text: 'New widget' }), form));
    function load() {
      api('GET', '/admin/api/widgets').then(function (res) {
        clear(list);
        if (!res.ok) { add(list, el('p', { class: 'error', text: errText(res) })); return; }
        var ws = res.data.widgets || [];
        if (!ws.length) { add(list, el('p', { class: 'muted', text: 'No widgets yet.' })); return; }
        ws.forEach(function (w) {
          var msg = el('span', { role: 'status', class: 'muted' });
          var snippet = '<script src="' + location.origin + '/widget.js" data-key="' + w.key + '" defer></script>';
          add(list, el('div', { class: 'card widget-item' },
            el('h3', null, w.name + ' ', pill(w.is_active ? 'active' : 'disabled')),
            el('p', { class: 'muted', text: 'Origins: ' + (w.allowed_origins || []).join(', ') + ' · ' + w.rate_per_minute + ' requests per minute' }),
            el('pre', { class: 'snippet', text: snippet }),
            el('button', { type: 'button', class: 'secondary', text: w.is_active ? 'Disable' : 'Enable', onclick: function () {
              api('PUT', '/admin/api/widgets/' + w.id, { is_active: !w.is_active }).then(function (r) { if (!r.ok) msg.textContent = errText(r); else load(); });
            } }),
            el('button', { type: 'button', class: 'secondary', text: 'New key', onclick: function () {
              if (!confirm('Issue a new key? The snippet on your site must be updated.')) return;
              api('PUT', '/admin/api/widgets/' + w.id, { rotate_key: true }).then(function (r) { if (!r.ok) msg.textContent = errText(r); else load(); });
            } }),
            el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: function () {
              if (!confirm('Delete the widget "' + w.name + '"?')) return;
              api('DELETE', '/admin/api/widgets/' + w.id).then(function (r) { if (!r.ok) msg.textContent = errText(r); else load(); });
            } }), msg));
        });
      });
    }
    load();
  }

  // ---- Messages -----------------------------------------------------------
  var msgFilter = { platform: '', message_type: '', status: '', conversation_id: '', page: 1, per_page: 20 };
  function select(id, opts, value) {
    return el('select', { id: id }, opts.map(function (o) { return el('option', { value: o, text: o || 'any', selected: o === value ? true : undefined }); }));
  }
  function messages(view) {
    var platform = el('input', { id: 'm-platform', value: msgFilter.platform });
    var type = select('m-type', ['', 'incoming', 'outgoing', 'agent_outgoing'], msgFilter.message_type);
    var status = select('m-status', ['', 'received', 'pending', 'sent', 'failed'], msgFilter.status);
    var conv = el('input', { id: 'm-conv', value: msgFilter.conversation_id });
    var per = select('m-per', ['20', '50', '100'], String(msgFilter.per_page));
    var list = el('div'), pager = el('div', { class: 'row' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 'm-h' }, el('h2', { id: 'm-h', text: 'Messages' }),
      el('form', { class: 'row', onsubmit: function (e) {
        e.preventDefault();
        msgFilter = { platform: platform.value.trim(), message_type: type.value, status: status.value, conversation_id: conv.value.trim(), page: 1, per_page: +per.value };
        load();
      } }, field('Platform', platform), field('Type', type), field('Status', status), field('Conversation', conv), field('Per page', per), el('button', { type: 'submit', text: 'Filter' })),
      list, pager));
    function load() {
      var q = Object.keys(msgFilter).filter(function (k) { return msgFilter[k] !== ''; }).map(function (k) { return k + '=' + encodeURIComponent(msgFilter[k]); }).join('&');
      api('GET', '/api/webhook/messages?' + q).then(function (res) {
        clear(list); clear(pager);
        if (!res.ok) { add(list, missing(res) ? notAvailable('The message history') : el('p', { class: 'error', text: errText(res) })); return; }
        var ms = res.data.messages || [];
        if (!ms.length) { add(list, el('p', { class: 'muted', text: 'No messages match.' })); return; }
        add(list, messageTable(ms, true));
        var pages = Math.max(1, Math.ceil((res.data.total || 0) / msgFilter.per_page));
        add(pager, [
          el('button', { type: 'button', class: 'secondary', text: 'Previous', disabled: msgFilter.page <= 1 ? true : undefined, onclick: function () { msgFilter.page--; load(); } }),
          el('span', { class: 'muted', text: 'Page ' + msgFilter.page + ' of ' + pages + ' (' + (res.data.total || 0) + ' messages)' }),
          el('button', { type: 'button', class: 'secondary', text: 'Next', disabled: msgFilter.page >= pages ? true : undefined, onclick: function () { msgFilter.page++; load(); } })
        ]);
      });
    }
    load();
  }
  function messageTable(ms, withConv, extra) {
    return el('div', { class: 'table-wrap' }, el('table', { class: 'messages-table' },
      el('thead', null, el('tr', null, ['Time', 'Type', 'Platform', 'Conversation', 'User', 'Message', 'Status'].concat(extra ? extra.heads : []).map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', null, ms.map(function (m) {
        return el('tr', null, el('td', { text: fmtTime(m.created_at) }), el('td', { text: m.message_type }), el('td', { text: m.platform }),
          el('td', null, withConv ? el('a', { href: '#conversation/' + encodeURIComponent(m.conversation_id), text: m.conversation_id }) : m.conversation_id),
          el('td', { text: m.username || m.user_id || '' }), messageCell(m), el('td', null, pill(m.status)),
          extra ? extra.cells(m) : null);
      }))));
  }
  // messageCell shows a message's text: the bot's answers rendered from
  // their Markdown (renderMarkdown, markdown.js: text nodes only), the
  // rest as typed.
  function messageCell(m) {
    if (m.message_type !== 'outgoing') return el('td', { class: 'text message-text', text: m.message });
    return el('td', { class: 'text message-text md' }, renderMarkdown(document, m.message));
  }
  function conversation(view, id) {
    var box = el('div', { class: 'chat', id: 'conversation' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 'c-h' }, el('a', { href: '#messages', text: '← Messages' }),
      el('h2', { id: 'c-h', text: 'Conversation ' + id }), box));
    api('GET', '/api/webhook/messages?per_page=100&conversation_id=' + encodeURIComponent(id)).then(function (res) {
      if (!res.ok) { add(box, missing(res) ? notAvailable('The message history') : el('p', { class: 'error', text: errText(res) })); return; }
      var ms = (res.data.messages || []).slice().reverse();
      if (!ms.length) add(box, el('p', { class: 'muted', text: 'No messages in this conversation.' }));
      ms.forEach(function (m) { add(box, bubble(m)); });
    });
  }
  function bubble(m) {
    var who = m.message_type === 'incoming' ? 'user' : (m.message_type === 'agent_outgoing' || m.sender_type === 'agent' ? 'agent' : 'bot');
    var label = who === 'user' ? (m.username || m.user_id || 'user') : (m.sender || (who === 'agent' ? 'Agent' : 'Assistant'));
    var meta = label + ' · ' + fmtTime(m.created_at) + (m.response_type ? ' · ' + m.response_type : '') + (m.status && who !== 'user' ? ' · ' + m.status : '');
    var srcs = (m.sources || []).length ? el('div', { class: 'sources' }, 'Sources: ', m.sources.map(function (s, i) {
      var href = s.url ? renderMarkdown.safeHref(s.url) : '';
      return [i ? '; ' : '', (s.title || s.source) + (s.source && s.title ? ' (' + s.source + ')' : ''),
        href ? [' ', el('a', { href: href, rel: 'noopener noreferrer nofollow', target: '_blank', text: href })] : null,
        s.score ? ' ' + Number(s.score).toFixed(2) : ''];
    })) : null;
    var text = m.message !== undefined ? m.message : (m.text || '');
    var body = who === 'bot' ? el('div', { class: 'body md' }, renderMarkdown(document, text)) : el('span', { class: 'body', text: text });
    return el('div', { class: 'bubble ' + who }, el('span', { class: 'meta', text: meta }), body, srcs);
  }

  // ---- Deliveries ---------------------------------------------------------
  function deliveries(view) {
    var failed = el('div'), pending = el('div');
    add(view, el('section', { class: 'card', 'aria-labelledby': 'd-h' }, el('h2', { id: 'd-h', text: 'Deliveries' }),
      el('h3', { text: 'Failed' }), failed, el('h3', { text: 'Pending (waiting or retrying)' }), pending,
      el('button', { type: 'button', class: 'secondary', text: 'Refresh', onclick: function () { route(); } })));
    // Bot answers and notices (outgoing) and agents' replies (agent_outgoing)
    // are both delivered; the API filters one type at a time.
    function load(target, status) {
      Promise.all(['outgoing', 'agent_outgoing'].map(function (type) {
        return api('GET', '/api/webhook/messages?per_page=100&message_type=' + type + '&status=' + status);
      })).then(function (all) {
        clear(target);
        var bad = all.filter(function (r) { return !r.ok; })[0];
        if (bad) { add(target, missing(bad) ? notAvailable('The delivery list') : el('p', { class: 'error', text: errText(bad) })); return; }
        var ms = (all[0].data.messages || []).concat(all[1].data.messages || []);
        ms.sort(function (a, b) { return (b.id || 0) - (a.id || 0); }); // newest first, as the API orders each list
        if (!ms.length) { add(target, el('p', { class: 'muted', text: 'None.' })); return; }
        add(target, messageTable(ms, true, {
          heads: ['Attempts', 'Last error', 'Webhook id', ''],
          cells: function (m) {
            var out = el('span', { role: 'status', class: 'muted' });
            return [el('td', { text: m.attempts }), el('td', { class: 'text', text: (m.last_http_status ? 'HTTP ' + m.last_http_status + ' ' : '') + (m.last_error || '') }),
              el('td', { class: 'text', text: m.webhook_id || '' }), // the webhook-id header a receiver logged
              el('td', null, el('button', { type: 'button', class: 'secondary', text: 'Redeliver', onclick: function () {
                api('POST', '/api/webhook/messages/' + m.id + '/redeliver').then(function (r) {
                  out.textContent = missing(r) ? 'Redelivery is not available on this server yet.' : (r.ok ? 'Queued again.' : errText(r));
                  if (r.ok) setTimeout(route, 800);
                });
              } }), out)];
          }
        }));
      });
    }
    load(failed, 'failed');
    load(pending, 'pending');
  }

  // ---- Live chat ----------------------------------------------------------
  function sessionsOf(d) { return d.sessions || d.items || []; }
  function stateOf(s) { return s.state || s.status || ''; }
  var knownWaiting = null;
  function cue(n) {
    var badge = $('waiting-badge');
    badge.hidden = !n; badge.textContent = n || '';
    document.title = (n ? '(' + n + ') ' : '') + 'chatbot admin';
  }
  function beep() {
    try {
      var C = window.AudioContext || window.webkitAudioContext;
      var ctx = new C(), o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.08; o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio: the visible cue remains */ }
  }
  // watchLiveChat keeps the waiting count (badge, title, banner, sound)
  // current in every section: the event stream when there is one, else polling.
  function watchLiveChat() {
    function poll() {
      api('GET', '/api/livechat/sessions').then(function (res) {
        if (!res.ok) return;
        var waiting = sessionsOf(res.data).filter(function (s) { return stateOf(s) === 'waiting'; });
        var ids = waiting.map(function (s) { return s.id; });
        if (knownWaiting !== null && ids.some(function (id) { return knownWaiting.indexOf(id) < 0; })) {
          $('cue').hidden = false; $('cue').textContent = 'A visitor is waiting for an agent in Live chat.';
          beep();
          setTimeout(function () { $('cue').hidden = true; }, 8000);
        }
        knownWaiting = ids;
        cue(ids.length);
        document.body.setAttribute('data-waiting', String(ids.length));
        if (state.section === 'livechat' && state.onLive) state.onLive();
      });
    }
    poll();
    if (window.EventSource) {
      var es = new EventSource('/api/livechat/events');
      // data-live and data-live-event say how the panel follows live chat
      // (the browser tests read them).
      var onEvent = function (e) { document.body.setAttribute('data-live-event', e.type); poll(); };
      es.onopen = function () { document.body.setAttribute('data-live', 'events'); };
      es.onmessage = onEvent;
      ['session_opened', 'user_message', 'session_accepted', 'agent_message', 'session_transferred', 'no_agent', 'session_closed', 'reset'].forEach(function (t) { es.addEventListener(t, onEvent); });
      es.onerror = function () {
        es.close();
        if (state.events === es) { state.events = null; document.body.setAttribute('data-live', 'polling'); state.timers.push(setInterval(poll, 5000)); }
      };
      state.events = es;
    } else { document.body.setAttribute('data-live', 'polling'); state.timers.push(setInterval(poll, 5000)); }
  }
  function livechat(view) {
    var agent = el('input', { id: 'agent-name', value: state.agent, autocomplete: 'name', onchange: function () { state.agent = agent.value; localStorage.setItem('chatbot.agent', agent.value); } });
    var list = el('div', { id: 'session-list' }), pane = el('div', { id: 'session-pane' }, el('p', { class: 'muted', text: 'Choose a session.' }));
    var selected = '';
    add(view, el('section', { class: 'card', 'aria-labelledby': 'l-h' }, el('h2', { id: 'l-h', text: 'Live chat' }),
      el('div', { class: 'row' }, field('Your name (shown to visitors)', agent)),
      el('div', { class: 'split' }, el('div', null, el('h3', { text: 'Sessions' }), list), pane)));
    function loadList() {
      api('GET', '/api/livechat/sessions').then(function (res) {
        clear(list);
        if (!res.ok) { add(list, missing(res) ? notAvailable('Live chat') : el('p', { class: 'error', text: errText(res) })); return; }
        var ss = sessionsOf(res.data).filter(function (s) { return stateOf(s) !== 'closed'; });
        if (!ss.length) { add(list, el('p', { class: 'muted', text: 'No waiting or active sessions.' })); return; }
        ss.forEach(function (s) {
          add(list, el('button', { type: 'button', class: 'session-item', 'aria-pressed': s.id === selected ? 'true' : 'false', 'data-id': s.id, onclick: function () { selected = s.id; loadList(); open(s.id); } },
            pill(stateOf(s)), ' ', el('strong', { text: s.username || s.user_id || s.id }), el('div', { class: 'muted', text: (s.platform || '') + ' · ' + fmtTime(s.created_at) + (s.agent ? ' · ' + s.agent : '') })));
        });
      });
    }
    // Every live-chat event opens the selected session again. Only the
    // latest request's answer is shown (an older one, answered late, would
    // bring back a state already left), and while the session stays in the
    // same state only its transcript is replaced: the Accept button and the
    // reply the agent is typing stay the same elements.
    var opened = 0, shown = { id: '', state: '' };
    // rated keeps the agent's ratings by answer id: the transcript is
    // rebuilt on every live-chat event and must still show them.
    var rated = {};
    function rateable(m) {
      var b = bubble(m);
      if (!m.id || m.sender_type !== 'bot' || m.message_type !== 'outgoing' || !m.response_type || m.response_type === 'live_chat_transfer') return b;
      var out = el('span', { class: 'muted', role: 'status' });
      var buttons = [['helpful', 'Helpful'], ['not_helpful', 'Not helpful']].map(function (r) {
        var btn = el('button', { type: 'button', class: 'secondary rate', 'data-rating': r[0], 'aria-pressed': rated[m.id] === r[0] ? 'true' : 'false', text: r[1], onclick: function () {
          out.textContent = 'Saving…'; out.className = 'muted';
          api('POST', '/api/messages/' + m.id + '/feedback', { rating: r[0], rater: agent.value.trim() || 'agent' }).then(function (res) {
            if (!res.ok) { out.textContent = errText(res); out.className = 'error'; return; }
            rated[m.id] = r[0];
            buttons.forEach(function (x) { x.setAttribute('aria-pressed', x === btn ? 'true' : 'false'); });
            out.textContent = 'Rated ' + r[1].toLowerCase() + '.'; out.className = 'ok';
          });
        } });
        return btn;
      });
      add(b, el('div', { class: 'rating' }, buttons, ' ', out));
      return b;
    }
    function open(id) {
      var seq = ++opened;
      api('GET', '/api/livechat/sessions/' + encodeURIComponent(id)).then(function (res) {
        if (seq !== opened) return;
        var s = res.ok ? res.data.session || res.data : null, ms = res.ok ? res.data.messages || s.messages || res.data.transcript || [] : [];
        var old = $('transcript');
        if (res.ok && shown.id === id && shown.state === stateOf(s) && old && pane.contains(old)) {
          add(clear(old), ms.map(rateable));
          old.scrollTop = old.scrollHeight;
          return;
        }
        clear(pane);
        shown = { id: '', state: '' };
        if (!res.ok) { add(pane, el('p', { class: 'error', text: errText(res) })); return; }
        shown = { id: id, state: stateOf(s) };
        var box = el('div', { class: 'chat', id: 'transcript' }, ms.map(rateable));
        var msg = el('textarea', { id: 'reply-text', required: true }), err = el('p', { class: 'error', role: 'alert' });
        add(pane, [el('h3', null, 'Session with ', s.username || s.user_id || id, ' ', pill(stateOf(s))), box]);
        if (stateOf(s) === 'waiting') {
          add(pane, el('button', { type: 'button', id: 'accept', text: 'Accept', onclick: function () {
            if (!agent.value.trim()) { err.textContent = 'Enter your name first.'; agent.focus(); return; }
            api('POST', '/api/livechat/sessions/' + encodeURIComponent(id) + '/accept', { agent: agent.value.trim() }).then(function (r) {
              if (!r.ok) { err.textContent = errText(r); return; }
              loadList(); open(id);
            });
          } }));
        }
        if (stateOf(s) === 'active') {
          add(pane, el('form', { id: 'reply-form', onsubmit: function (e) {
            e.preventDefault();
            api('POST', '/api/livechat/sessions/' + encodeURIComponent(id) + '/messages', { message: msg.value }).then(function (r) {
              if (!r.ok) { err.textContent = errText(r); return; }
              msg.value = ''; open(id);
            });
          } }, field('Reply', msg), el('button', { type: 'submit', text: 'Send' }),
            el('button', { type: 'button', id: 'close-session', class: 'danger', text: 'Close session', onclick: function () {
              api('POST', '/api/livechat/sessions/' + encodeURIComponent(id) + '/close').then(function (r) { if (!r.ok) err.textContent = errText(r); else { loadList(); open(id); } });
            } })));
        }
        add(pane, err);
        box.scrollTop = box.scrollHeight;
      });
    }
    state.onLive = function () { loadList(); if (selected && !document.activeElement.closest('#reply-form')) open(selected); };
    loadList();
  }

  // ---- Knowledge base -------------------------------------------------------
  function docsOf(d) { return d.documents || d.docs || d.items || []; }
  function knowledge(view) {
    var list = el('div'), upOut = el('div', { role: 'status' }), results = el('div', { id: 'search-results' });
    var file = el('input', { id: 'kb-file', type: 'file', multiple: true, accept: '.md,.markdown,.txt,.html,.htm' });
    var q = el('input', { id: 'kb-query', type: 'search', placeholder: 'Ask what a visitor would ask' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 'k-h' }, el('h2', { id: 'k-h', text: 'Knowledge base' }), list,
      el('h3', { text: 'Upload documents' }),
      el('form', { id: 'upload-form', onsubmit: function (e) {
        e.preventDefault();
        clear(upOut);
        Array.prototype.forEach.call(file.files, function (f) {
          var line = el('p', { text: f.name + ': uploading…' });
          add(upOut, line);
          var fd = new FormData();
          fd.append('file', f, f.name);
          api('POST', '/admin/api/knowledge/upload', fd, true).then(function (r) {
            line.textContent = f.name + ': ' + (r.ok ? 'indexed' + summary(r.data.result) : errText(r));
            line.className = r.ok ? 'ok' : 'error';
            if (r.ok) loadDocs();
          });
        });
      } }, field('Files (Markdown, text or HTML)', file), el('button', { type: 'submit', text: 'Upload and index' })), upOut,
      el('h3', { text: 'Try retrieval' }),
      el('form', { class: 'row', id: 'search-form', onsubmit: function (e) {
        e.preventDefault();
        clear(results);
        api('POST', '/api/knowledge/search', { query: q.value, k: 5 }).then(function (r) {
          if (!r.ok) { add(results, missing(r) ? notAvailable('Knowledge search') : el('p', { class: 'error', text: errText(r) })); return; }
          var hits = r.data.passages || r.data.results || [];
          if (!hits.length) { add(results, el('p', { class: 'muted', text: 'Nothing relevant found: the bot would offer a human.' })); return; }
          hits.forEach(function (h, i) {
            // The fused score always; the meaning (vector) and keyword
            // (lexical) scores, 0 to 1, when the server sends them.
            var why = el('div', { class: 'muted why' }, 'Why: ',
              h.heading ? 'section "' + h.heading + '" · ' : '',
              'fused keyword and meaning score ' + score(h.score) + ' (0 to 1)',
              isScore(h.vector_score) ? el('span', { class: 'score-vector', text: ' · meaning ' + score(h.vector_score) }) : null,
              isScore(h.lexical_score) ? el('span', { class: 'score-lexical', text: ' · keywords ' + score(h.lexical_score) }) : null,
              typeof h.why === 'string' && h.why ? ' · ' + h.why : '');
            add(results, el('div', { class: 'card search-hit' },
              el('strong', { text: (i + 1) + '. ' + (h.title || h.source || 'passage') }), ' ', el('span', { class: 'muted', text: (h.source || '') + ' · score ' + score(h.score) }),
              why, el('p', { class: 'text', text: h.text || h.content || h.snippet || '' })));
          });
        });
      } }, field('Question', q), el('button', { type: 'submit', text: 'Search' })), results));
    sources(view);
    function isScore(v) { return typeof v === 'number' && isFinite(v); }
    function score(v) { return isScore(v) ? v.toFixed(3) : '–'; }
    function summary(res) {
      if (!res || typeof res !== 'object') return '';
      var c = res.chunks || res.chunk_count;
      return c ? ' (' + c + ' chunks)' : '';
    }
    function loadDocs() {
      api('GET', '/api/knowledge/documents').then(function (res) {
        clear(list);
        if (!res.ok) { add(list, missing(res) ? notAvailable('The document list') : el('p', { class: 'error', text: errText(res) })); return; }
        var ds = docsOf(res.data);
        if (!ds.length) { add(list, el('p', { class: 'muted', text: 'No documents indexed yet.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'documents-table' },
          el('thead', null, el('tr', null, ['Title', 'Path', 'Chunks', 'Indexed', ''].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, ds.map(function (d) {
            var id = d.id;
            var out = el('span', { role: 'status', class: 'muted' });
            return el('tr', null, el('td', { class: 'doc-title', text: d.title || '' }), el('td', { class: 'mono', text: d.path || d.source || '' }),
              el('td', { text: d.chunks || d.chunk_count || 0 }), el('td', { text: fmtTime(d.updated_at || d.indexed_at || d.created_at) }),
              el('td', null,
                el('button', { type: 'button', class: 'secondary', text: 'Re-ingest', onclick: function () {
                  api('POST', '/admin/api/knowledge/documents/' + encodeURIComponent(id) + '/reingest').then(function (r) { out.textContent = missing(r) ? 'Re-ingest is not available; upload the file again.' : (r.ok ? 'Re-indexed.' : errText(r)); if (r.ok) loadDocs(); });
                } }),
                el('button', { type: 'button', class: 'danger', text: 'Remove', onclick: function () {
                  if (!confirm('Remove "' + (d.title || d.source) + '" from the knowledge base?')) return;
                  api('DELETE', '/api/knowledge/documents/' + encodeURIComponent(id)).then(function (r) { if (!r.ok) out.textContent = errText(r); else loadDocs(); });
                } }), out));
          })))));
      });
    }
    loadDocs();
  }

  // Websites and other sources the server keeps in sync (/api/sources).
  function sources(view) {
    var list = el('div'), out = el('div', { role: 'status' });
    var loc = el('input', { id: 'src-location', type: 'url', placeholder: 'https://help.example.com/sitemap.xml' });
    var every = el('input', { id: 'src-every', type: 'text', value: '6h' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 's-h' }, el('h2', { id: 's-h', text: 'Websites and sources' }),
      el('p', { class: 'muted', text: 'A help center or website, crawled from its start page or sitemap and re-synced on a schedule. Pages gone for two syncs are removed; a failing sync keeps the last good content.' }),
      list,
      el('form', { class: 'row', id: 'source-form', onsubmit: function (e) {
        e.preventDefault();
        out.textContent = 'Adding…';
        api('POST', '/api/sources', { kind: 'website', location: loc.value, every: every.value }).then(function (r) {
          if (!r.ok) { out.textContent = errText(r); out.className = 'error'; return; }
          out.textContent = 'Added; syncing…'; out.className = 'ok';
          load();
          api('POST', '/api/sources/' + r.data.source.id + '/sync').then(function (s) { out.textContent = s.ok ? 'Synced.' : errText(s); load(); });
        });
      } }, field('Website or sitemap URL', loc), field('Re-sync every', every, 'e.g. 6h; empty: only when asked'), el('button', { type: 'submit', text: 'Add and sync' })), out));
    function load() {
      api('GET', '/api/sources').then(function (res) {
        clear(list);
        if (!res.ok) { add(list, missing(res) ? notAvailable('Sources') : el('p', { class: 'error', text: errText(res) })); return; }
        var ss = res.data.sources || [];
        if (!ss.length) { add(list, el('p', { class: 'muted', text: 'No sources yet.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'sources-table' },
          el('thead', null, el('tr', null, ['Kind', 'Location', 'Every', 'Documents', 'Last sync', 'Next sync', 'Error', ''].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, ss.map(function (s) {
            var st = el('span', { role: 'status', class: 'muted' });
            return el('tr', null, el('td', { text: s.kind }), el('td', { class: 'mono src-location', text: s.location }),
              el('td', { text: s.every === '0s' ? 'when asked' : s.every }), el('td', { class: 'src-docs', text: String(s.documents || 0) }),
              el('td', { text: s.syncing ? 'syncing…' : (s.last_sync ? fmtTime(s.last_sync) : '–') }), el('td', { text: s.next_sync ? fmtTime(s.next_sync) : '–' }),
              el('td', { class: 'error src-error', text: s.last_error || '' }),
              el('td', null,
                el('button', { type: 'button', class: 'secondary', text: 'Sync now', onclick: function () {
                  st.textContent = 'Syncing…';
                  api('POST', '/api/sources/' + s.id + '/sync').then(function (r) { st.textContent = r.ok ? 'Synced.' : errText(r); load(); });
                } }),
                el('button', { type: 'button', class: 'danger', text: 'Remove', onclick: function () {
                  if (!confirm('Remove "' + s.location + '" and its documents?')) return;
                  api('DELETE', '/api/sources/' + s.id).then(function (r) { if (!r.ok) st.textContent = errText(r); else load(); });
                } }), st));
          })))));
      });
    }
    load();
  }

  // ---- Curated answers --------------------------------------------------------
  // The operator's own answers (/api/faq): given as written, before the
  // knowledge base, when a user's question matches one closely enough.
  function curated(view) {
    var list = el('div'), msg = el('p', { role: 'status' }), tried = el('div', { id: 'faq-tried', role: 'status' });
    var question = el('input', { id: 'faq-question', required: true, maxlength: 500 });
    var alts = el('textarea', { id: 'faq-alternatives', rows: 3 });
    var answer = el('textarea', { id: 'faq-answer', rows: 5, required: true, maxlength: 4000 });
    var probe = el('input', { id: 'faq-probe', type: 'search', placeholder: 'Ask what a customer would ask' });
    add(view, el('section', { class: 'card', 'aria-labelledby': 'q-h' }, el('h2', { id: 'q-h', text: 'Curated answers' }),
      el('p', { class: 'muted', text: 'Your own answer wins over the generated one when a question has the same content words as yours (or yours with at most one word in three added). Add the other ways customers ask it as phrasings.' }),
      list, msg,
      el('h3', { text: 'New curated answer' }),
      el('form', { id: 'faq-form', onsubmit: function (e) {
        e.preventDefault();
        var body = { question: question.value, answer: answer.value, alternatives: alts.value.split('\n').map(function (x) { return x.trim(); }).filter(Boolean) };
        api('POST', '/api/faq', body).then(function (res) {
          if (!res.ok) { msg.className = 'error'; msg.textContent = errText(res); return; }
          msg.className = 'ok'; msg.textContent = 'Curated answer ' + res.data.faq.id + ' added.';
          question.value = ''; alts.value = ''; answer.value = '';
          load();
        });
      } }, field('Question', question), field('Other phrasings (one per line, optional)', alts), field('Answer, sent as written', answer),
        el('button', { type: 'submit', text: 'Add' })),
      el('h3', { text: 'Try a question' }),
      el('form', { class: 'row', id: 'faq-probe-form', onsubmit: function (e) {
        e.preventDefault();
        clear(tried);
        api('POST', '/api/faq/match', { question: probe.value }).then(function (r) {
          if (!r.ok) { add(tried, el('p', { class: 'error', text: errText(r) })); return; }
          if (!r.data.matched) { add(tried, el('p', { class: 'muted', text: 'No curated answer matches: the knowledge base would answer.' })); return; }
          add(tried, el('p', null, 'Answered by curated answer ' + r.data.faq.id + ' (score ' + r.data.score.toFixed(2) + '): ', el('strong', { text: r.data.faq.question })));
        });
      } }, field('Question', probe), el('button', { type: 'submit', text: 'Try' })), tried));
    function load() {
      api('GET', '/api/faq').then(function (res) {
        clear(list);
        if (!res.ok) { add(list, missing(res) ? notAvailable('Curated answers') : el('p', { class: 'error', text: errText(res) })); return; }
        var fs = res.data.faqs || [];
        if (!fs.length) { add(list, el('p', { class: 'muted', text: 'No curated answers yet.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'faq-table' },
          el('thead', null, el('tr', null, ['Question', 'Phrasings', 'Answer', 'Updated', ''].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, fs.map(function (f) {
            return el('tr', null, el('td', { class: 'text', text: f.question }), el('td', { class: 'text', text: (f.alternatives || []).join(' · ') }),
              el('td', { class: 'text', text: f.answer }), el('td', { text: fmtTime(f.updated_at) }),
              el('td', null, el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': 'Delete curated answer ' + f.id, onclick: function () {
                if (!confirm('Delete the curated answer to "' + f.question + '"?')) return;
                api('DELETE', '/api/faq/' + f.id).then(function (r) { if (!r.ok) { msg.className = 'error'; msg.textContent = errText(r); } else load(); });
              } })));
          })))));
      });
    }
    load();
  }

  // ---- API tools --------------------------------------------------------------
  // The declarations (secrets masked), a test call per tool and the recent
  // calls; a tool is added or replaced by pasting its JSON declaration.
  function toolsSection(view) {
    var list = el('div'), calls = el('div'), out = el('p', { id: 'tool-out', role: 'status' });
    var decl = el('textarea', { id: 'tool-json', rows: '10', class: 'mono', placeholder: '{"name": "order_status", "url": "...", ...}' });
    var replace = el('input', { id: 'tool-replace', type: 'checkbox' });
    var form = el('form', { id: 'tool-form', onsubmit: function (e) {
      e.preventDefault();
      var t;
      try { t = JSON.parse(decl.value); } catch (err) { out.textContent = 'Not JSON: ' + err.message; return; }
      var req = replace.checked ? api('PUT', '/api/tools/' + encodeURIComponent(t.name || ''), t) : api('POST', '/api/tools', t);
      req.then(function (r) {
        out.textContent = r.ok ? 'Saved ' + r.data.tool.name + '.' : errText(r) + (r.data.field ? ' (field ' + r.data.field + ')' : '');
        if (r.ok) { decl.value = ''; load(); } // the secret does not stay on the page
      });
    } }, field('Declaration (JSON; see the README, "API tools")', decl),
      el('label', null, replace, ' replace the tool of the same name (an empty or masked secret keeps the stored one)'),
      el('button', { type: 'submit', text: 'Save tool' }));
    add(view, [el('section', { class: 'card', 'aria-labelledby': 't-h' }, el('h2', { id: 't-h', text: 'API tools' }), list, out, form),
      el('section', { class: 'card', 'aria-labelledby': 'tc-h' }, el('h2', { id: 'tc-h', text: 'Recent tool calls' }), calls)]);
    function load() {
      api('GET', '/api/tools').then(function (res) {
        clear(list);
        if (missing(res)) { add(list, notAvailable('API tools')); return; }
        if (!res.ok) { add(list, el('p', { class: 'error', text: errText(res) })); return; }
        var ts = res.data.tools || [];
        if (!ts.length) { add(list, el('p', { class: 'muted', text: 'No tools yet.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'tools-table' },
          el('thead', null, el('tr', null, ['Name', 'Call', 'Auth', 'Enabled for', 'Test'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, ts.map(function (t) {
            var params = el('input', { type: 'text', placeholder: (t.params || []).map(function (p) { return p.name + '=...'; }).join(' '), 'aria-label': 'Parameters of ' + t.name });
            var user = el('input', { type: 'text', placeholder: 'user id', 'aria-label': 'User id for ' + t.name });
            var res = el('div', { class: 'text', role: 'status' });
            return el('tr', { 'data-tool': t.name }, el('td', { text: t.name }), el('td', { class: 'text mono', text: t.method + ' ' + t.url }),
              el('td', { text: t.auth.kind + (t.auth.secret ? ' ' + t.auth.secret : '') }), el('td', { text: (t.enabled_for || []).join(', ') || 'nowhere' }),
              el('td', null, params, user,
                el('button', { type: 'button', class: 'secondary', text: 'Test', onclick: function () {
                  var kv = {};
                  params.value.split(/\s+/).filter(Boolean).forEach(function (p) { var i = p.indexOf('='); if (i > 0) kv[p.slice(0, i)] = p.slice(i + 1); });
                  res.textContent = 'Calling…';
                  api('POST', '/api/tools/' + encodeURIComponent(t.name) + '/test', { params: kv, as_user: user.value || 'admin' }).then(function (r) {
                    if (!r.ok) { res.textContent = errText(r); return; }
                    var x = r.data.result;
                    res.textContent = 'The user sees: ' + x.answer + ' (' + x.outcome + (x.status ? ', status ' + x.status : '') + ', ' + x.latency_ms + ' ms' + (x.error ? ': ' + x.error : '') + ')';
                    loadCalls();
                  });
                } }),
                el('button', { type: 'button', class: 'danger', text: 'Remove', onclick: function () {
                  if (!confirm('Remove the tool "' + t.name + '"?')) return;
                  api('DELETE', '/api/tools/' + encodeURIComponent(t.name)).then(function (r) { if (!r.ok) res.textContent = errText(r); else load(); });
                } }), res));
          })))));
      });
    }
    function loadCalls() {
      api('GET', '/api/tools/calls?limit=50').then(function (res) {
        clear(calls);
        if (!res.ok) { if (!missing(res)) add(calls, el('p', { class: 'error', text: errText(res) })); return; }
        var cs = res.data.calls || [];
        if (!cs.length) { add(calls, el('p', { class: 'muted', text: 'No calls yet.' })); return; }
        add(calls, el('div', { class: 'table-wrap' }, el('table', { id: 'tool-calls-table' },
          el('thead', null, el('tr', null, ['Time', 'Tool', 'Parameters', 'User', 'Outcome', 'Status', 'ms'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, cs.map(function (c) {
            var ps = Object.keys(c.params || {}).sort().map(function (k) { return k + '=' + c.params[k]; }).join(' ');
            return el('tr', null, el('td', { text: fmtTime(c.at) }), el('td', { text: c.tool }), el('td', { class: 'mono', text: ps }),
              el('td', { text: c.user_id || '' }), el('td', null, pill(c.outcome)), el('td', { text: c.status || '' }), el('td', { text: c.latency_ms }));
          })))));
      });
    }
    load();
    loadCalls();
  }

  // ---- Logs -------------------------------------------------------------------
  function logs(view) {
    var level = select('log-level', ['warn', 'error'], 'warn'), q = el('input', { id: 'log-q', type: 'search' }), list = el('div');
    add(view, el('section', { class: 'card', 'aria-labelledby': 'g-h' }, el('h2', { id: 'g-h', text: 'Logs: recent warnings and errors' }),
      el('form', { class: 'row', onsubmit: function (e) { e.preventDefault(); load(); } }, field('Level', level), field('Contains', q), el('button', { type: 'submit', text: 'Filter' })), list));
    function load() {
      api('GET', '/admin/api/logs?level=' + level.value + '&q=' + encodeURIComponent(q.value)).then(function (res) {
        clear(list);
        if (!res.ok) { add(list, el('p', { class: 'error', text: errText(res) })); return; }
        var rs = res.data.records || [];
        if (!rs.length) { add(list, el('p', { class: 'muted', text: 'No warnings or errors since the server started.' })); return; }
        add(list, el('div', { class: 'table-wrap' }, el('table', { id: 'logs-table' },
          el('thead', null, el('tr', null, ['Time', 'Level', 'Message', 'Details'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
          el('tbody', null, rs.map(function (r) {
            var attrs = Object.keys(r.attrs || {}).sort().map(function (k) { return k + '=' + r.attrs[k]; }).join('  ');
            return el('tr', null, el('td', { text: fmtTime(r.time) }), el('td', null, pill(r.level)), el('td', { class: 'text', text: r.message }), el('td', { class: 'text mono', text: attrs }));
          })))));
      });
    }
    load();
  }

  // Sections in their own files (insights.js) plug in through this.
  window.chatbotPanel = { el: el, add: add, clear: clear, api: api, errText: errText, missing: missing, notAvailable: notAvailable,
    field: field, fmtTime: fmtTime, pill: pill, sections: sections };

  // ---- start ------------------------------------------------------------------
  api('GET', '/admin/api/session').then(function (res) {
    if (res.ok) loggedIn(res.data); else showLogin('');
  });
})();
