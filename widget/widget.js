// chatbot website widget. Paste into a page:
//   <script src="https://bot.example.com/widget.js" data-key="wk_..." defer></script>
// It adds a chat bubble (in a shadow root, so the page's styles and ours do
// not mix) that talks to POST /api/chat on the server it was loaded from,
// asking for the answer as a stream so that a model's words show as written.
// Every text is set with textContent: nothing a visitor or the bot writes is
// ever parsed as HTML. The conversation is kept in localStorage, so it
// survives page loads on the same site.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var key = script.getAttribute('data-key') || '';
  var base = new URL(script.src, location.href).origin;
  var title = script.getAttribute('data-title') || 'Questions? Ask us';
  var storeKey = 'chatbot-widget:' + key;
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(storeKey) || '{}') || {}; } catch (e) { saved = {}; }
  var conv = { id: saved.id || '', log: Array.isArray(saved.log) ? saved.log : [], live: !!saved.live, after: saved.after || 0 };
  function save() {
    conv.log = conv.log.slice(-50);
    try { localStorage.setItem(storeKey, JSON.stringify(conv)); } catch (e) { /* private mode: keep it in memory */ }
  }

  var css = [
    ':host { all: initial; }',
    '.b { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px; border-radius: 50%; border: 0; background: #1f5fbf; color: #fff; font: 600 14px system-ui, sans-serif; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }',
    '.b:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f4b400; outline-offset: 2px; }',
    '.p { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: min(360px, calc(100vw - 24px)); height: min(520px, calc(100vh - 120px)); display: flex; flex-direction: column; background: #fff; color: #1b1f24; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); font: 14px/1.4 system-ui, sans-serif; overflow: hidden; }',
    '.p[hidden] { display: none; }',
    '.h { background: #1f5fbf; color: #fff; padding: 10px 12px; font-weight: 600; display: flex; justify-content: space-between; align-items: center; }',
    '.h button { background: none; border: 0; color: #fff; font-size: 18px; cursor: pointer; }',
    '.l { flex: 1; overflow-y: auto; padding: 10px; display: flex; flex-direction: column; gap: 8px; }',
    '.m { max-width: 85%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; word-break: break-word; }',
    '.u { align-self: flex-end; background: #1f5fbf; color: #fff; }',
    '.a { align-self: flex-start; background: #eef1f5; }',
    '.md { white-space: normal; }',
    '.md p, .md ul, .md ol, .md pre, .md blockquote { margin: 0 0 6px; }',
    '.md > :last-child { margin-bottom: 0; }',
    '.md ul, .md ol { padding-left: 20px; }',
    '.md blockquote { padding-left: 8px; border-left: 3px solid #9aa5b4; }',
    '.md pre { white-space: pre-wrap; font: 12px ui-monospace, monospace; }',
    '.md a, .s a { color: #1f5fbf; }',
    '.e { color: #a4161a; font-size: 13px; padding: 0 10px; }',
    'form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #d3d8df; }',
    'textarea { flex: 1; resize: none; height: 40px; font: inherit; padding: 6px; border: 1px solid #8b95a3; border-radius: 6px; }',
    'form button, .human { background: #1f5fbf; color: #fff; border: 0; border-radius: 6px; padding: 0 12px; font: inherit; cursor: pointer; }',
    '.human { background: #fff; color: #1f5fbf; border: 1px solid #1f5fbf; margin: 0 8px 8px; padding: 6px; }',
    'button:disabled { opacity: .6; }',
    '.f { margin-top: 4px; font-size: 12px; color: #4a5361; } .f button { background: none; border: 1px solid #8b95a3; border-radius: 4px; margin-right: 4px; cursor: pointer; } .f button[aria-pressed="true"] { background: #dfe8f7; border-color: #1f5fbf; }'
  ].join('\n');

  var host = document.createElement('div');
  host.setAttribute('data-chatbot-widget', '');
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    var st = document.createElement('style');
    st.textContent = css;
    root.appendChild(st);
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // markdown:begin
  // renderMarkdown turns an answer's Markdown into DOM nodes: paragraphs
  // (line breaks kept), quotes, lists, code, emphasis, and links whose
  // address is http, https or mailto (bare web addresses too). It never parses
  // HTML: every piece of text becomes a text node, so markup in an answer
  // shows as typed, and a link to any other scheme (javascript:, data:) is
  // shown as its text without a link.
  var renderMarkdown = (function () {
    var maxDepth = 8;
    var fence = /^ {0,3}(`{3,}|~{3,})/;
    var quote = /^ {0,3}> ?/;
    var item = /^ {0,3}([-*+]|\d{1,9}[.)]) +/;
    var heading = /^ {0,3}#{1,6} +/;
    // Inline spans, tried left to right: code, [text](address), **strong**,
    // *emphasis*, and a bare web address (without the punctuation that ends
    // a sentence or closes a bracket after it). Underscores are left alone:
    // they are in names and addresses far more often than emphasis.
    var inlineRe = /`([^`\n]+)`|\[([^\]\n]{1,500})\]\(\s*([^\s()]+(?:\([^\s()]*\)[^\s()]*)*)\s*\)|\*\*(?=\S)([^*\n]+?)\*\*|\*(?=[^\s*])([^*\n]+?)\*|\b(https?:\/\/[^\s<>"]*[^\s<>"'.,;:!?)\]}])/g;

    // safeHref is the address of a link if its scheme is http, https or
    // mailto, else ''.
    function safeHref(u) {
      if (/[\s\u0000-\u001f\u007f]/.test(u)) return '';
      var m = /^([a-z][a-z0-9+.-]*):/i.exec(u);
      if (!m) return '';
      var scheme = m[1].toLowerCase();
      if (scheme !== 'http' && scheme !== 'https' && scheme !== 'mailto') return '';
      var parsed;
      try { parsed = new URL(u); } catch (e) { return ''; }
      return parsed.protocol === scheme + ':' ? parsed.href : '';
    }

    function link(doc, href, label, depth) {
      var a = doc.createElement('a');
      a.href = href;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      inline(doc, a, label, depth + 1, true);
      return a;
    }

    function inline(doc, parent, s, depth, inLink) {
      if (depth > maxDepth) { parent.appendChild(doc.createTextNode(s)); return; }
      var re = new RegExp(inlineRe.source, 'g');
      var last = 0, m, n, href;
      while ((m = re.exec(s)) !== null) {
        if (m.index > last) parent.appendChild(doc.createTextNode(s.slice(last, m.index)));
        last = re.lastIndex;
        if (m[1] !== undefined) {
          n = doc.createElement('code');
          n.textContent = m[1];
        } else if (m[2] !== undefined) {
          href = inLink ? '' : safeHref(m[3]);
          if (href) {
            n = link(doc, href, m[2], depth);
          } else {
            n = doc.createElement('span');
            inline(doc, n, m[2], depth + 1, inLink);
          }
        } else if (m[4] !== undefined) {
          n = doc.createElement('strong');
          inline(doc, n, m[4], depth + 1, inLink);
        } else if (m[5] !== undefined) {
          n = doc.createElement('em');
          inline(doc, n, m[5], depth + 1, inLink);
        } else {
          href = inLink ? '' : safeHref(m[6]);
          n = href ? link(doc, href, m[6], depth) : doc.createTextNode(m[6]);
        }
        parent.appendChild(n);
      }
      if (last < s.length) parent.appendChild(doc.createTextNode(s.slice(last)));
    }

    // lines renders lines as paragraphs, lines joined by <br>.
    function para(doc, parent, lines, depth) {
      var p = doc.createElement('p');
      lines.forEach(function (l, i) {
        if (i) p.appendChild(doc.createElement('br'));
        inline(doc, p, l.trim(), depth, false);
      });
      parent.appendChild(p);
    }

    function startsBlock(l) { return fence.test(l) || quote.test(l) || item.test(l) || heading.test(l); }

    function blocks(doc, parent, lines, depth) {
      var i = 0, l, m, buf, n;
      while (i < lines.length) {
        l = lines[i];
        if (!l.trim()) { i++; continue; }
        if (depth > maxDepth) { para(doc, parent, [l], depth); i++; continue; }
        if ((m = fence.exec(l)) !== null) {
          buf = [];
          for (i++; i < lines.length && lines[i].trim().indexOf(m[1]) !== 0; i++) buf.push(lines[i]);
          i++;
          n = doc.createElement('pre');
          var code = doc.createElement('code');
          code.textContent = buf.join('\n');
          n.appendChild(code);
          parent.appendChild(n);
        } else if (quote.test(l)) {
          buf = [];
          for (; i < lines.length && quote.test(lines[i]); i++) buf.push(lines[i].replace(quote, ''));
          n = doc.createElement('blockquote');
          blocks(doc, n, buf, depth + 1);
          parent.appendChild(n);
        } else if ((m = item.exec(l)) !== null) {
          var ordered = /\d/.test(m[1]);
          n = doc.createElement(ordered ? 'ol' : 'ul');
          if (ordered && parseInt(m[1], 10) !== 1) n.setAttribute('start', String(parseInt(m[1], 10)));
          while (i < lines.length && (m = item.exec(lines[i])) !== null && /\d/.test(m[1]) === ordered) {
            buf = [lines[i].slice(m[0].length)];
            for (i++; i < lines.length && lines[i].trim() && !startsBlock(lines[i]) && /^\s/.test(lines[i]); i++) buf.push(lines[i]);
            var li = doc.createElement('li');
            buf.forEach(function (x, k) {
              if (k) li.appendChild(doc.createElement('br'));
              inline(doc, li, x.trim(), depth, false);
            });
            n.appendChild(li);
          }
          parent.appendChild(n);
        } else if (heading.test(l)) {
          n = doc.createElement('p');
          var strong = doc.createElement('strong');
          inline(doc, strong, l.replace(heading, '').replace(/[ #]+$/, ''), depth, false);
          n.appendChild(strong);
          parent.appendChild(n);
          i++;
        } else {
          buf = [];
          for (; i < lines.length && lines[i].trim() && !startsBlock(lines[i]); i++) buf.push(lines[i]);
          para(doc, parent, buf, depth);
        }
      }
    }

    function render(doc, text) {
      var frag = doc.createDocumentFragment();
      blocks(doc, frag, String(text === undefined || text === null ? '' : text).replace(/\r\n?/g, '\n').split('\n'), 0);
      return frag;
    }
    render.safeHref = safeHref;
    return render;
  })();
  // markdown:end



  var bubble = el('button', 'b', 'Chat');
  bubble.type = 'button';
  bubble.setAttribute('aria-label', 'Open chat');
  bubble.setAttribute('aria-expanded', 'false');
  var panel = el('div', 'p');
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', title);
  var head = el('div', 'h');
  head.appendChild(el('span', '', title));
  var close = el('button', '', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Close chat');
  head.appendChild(close);
  var list = el('div', 'l');
  list.setAttribute('aria-live', 'polite');
  var err = el('div', 'e');
  err.setAttribute('role', 'alert');
  var human = el('button', 'human', 'Talk to a human');
  human.type = 'button';
  var form = el('form');
  var input = el('textarea');
  input.setAttribute('aria-label', 'Your message');
  input.placeholder = 'Type your question';
  input.maxLength = 4000;
  var send = el('button', '', 'Send');
  send.type = 'submit';
  form.appendChild(input);
  form.appendChild(send);
  [head, list, err, human, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(bubble);
  root.appendChild(panel);

  // show adds a message: the bot's answers rendered from their Markdown
  // (renderMarkdown: text nodes only), everything else as typed. An answer
  // names its own sources in its text (an extractive quote is followed by
  // its title and public address, a model's answer ends with its list), so
  // the widget adds no line of its own: it said them twice.
  function show(entry) {
    var m = el('div', 'm ' + (entry.who === 'user' ? 'u' : 'a'));
    if (entry.who === 'bot') {
      m.className += ' md';
      m.appendChild(renderMarkdown(document, entry.text));
    } else {
      m.textContent = entry.text;
    }
    if (entry.who === 'bot' && entry.rate) m.appendChild(thumbs(entry));
    list.appendChild(m);
    list.scrollTop = list.scrollHeight;
  }
  // thumbs lets the visitor rate an answer (POST /api/chat/feedback). An
  // answer without its response_id is rated as the conversation's latest,
  // so only the latest such answer keeps its thumbs.
  var lastThumbs = null;
  function thumbs(entry) {
    var f = el('div', 'f');
    if (!entry.rid) lastThumbs = f;
    // Words, not emoji: a page without an emoji font shows them all the same.
    f.appendChild(el('span', '', 'Was this helpful? '));
    [['helpful', 'Yes', 'Helpful'], ['not_helpful', 'No', 'Not helpful']].forEach(function (t) {
      var b = el('button', '', t[1]);
      b.type = 'button';
      b.setAttribute('aria-label', t[2]);
      b.setAttribute('aria-pressed', String(entry.rated === t[0]));
      b.addEventListener('click', function () {
        fetch(base + '/api/chat/feedback?key=' + encodeURIComponent(key), {
          method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ conversation_id: conv.id, response_id: entry.rid || 0, rating: t[0] })
        }).then(function (r) {
          if (!r.ok) throw new Error('your rating could not be sent; please try again');
          entry.rated = t[0];
          save();
          Array.prototype.forEach.call(f.children, function (x) { x.setAttribute('aria-pressed', String(x === b)); });
        }).catch(function (e) { err.textContent = e.message; });
      });
      f.appendChild(b);
    });
    return f;
  }
  conv.log.forEach(show);

  function toggle(open) {
    panel.hidden = !open;
    bubble.setAttribute('aria-expanded', String(open));
    if (open) input.focus(); else bubble.focus();
  }
  bubble.addEventListener('click', function () { toggle(panel.hidden); });
  close.addEventListener('click', function () { toggle(false); });
  panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') toggle(false); });

  // finish shows the server's answer (the JSON body, or a stream's done
  // event): it replaces the streamed text, which was a preview.
  function finish(d, partial) {
    if (partial && partial.parentNode) partial.parentNode.removeChild(partial);
    conv.id = d.conversation_id || conv.id;
    if (d.answer) {
      var live = d.response_type === 'live_chat_transfer' || d.response_type === 'live_chat_message';
      var a = { who: 'bot', text: d.answer, sources: d.sources || [], rid: d.response_id || 0, rate: !live };
      if (a.rate && !a.rid) {
        conv.log.forEach(function (x) { if (!x.rid) x.rate = false; });
        if (lastThumbs && lastThumbs.parentNode) lastThumbs.parentNode.removeChild(lastThumbs);
      }
      conv.log.push(a); show(a);
    }
    if (d.response_type === 'live_chat_transfer' || d.response_type === 'live_chat_message') startLive();
    save();
  }

  // readStream shows a model's answer as it is written: Server-Sent Events
  // "delta" (a piece of text), then "done" (the answer, as stored) or
  // "error". The list is aria-busy meanwhile, so that screen readers read
  // the answer once, not every piece.
  function readStream(r) {
    var partial = null, buf = '', result = null;
    function handle(block) {
      var name = 'message', data = '';
      block.split('\n').forEach(function (line) {
        if (line.indexOf('event: ') === 0) name = line.slice(7);
        else if (line.indexOf('data: ') === 0) data += line.slice(6);
      });
      if (!data) return;
      var d = JSON.parse(data);
      if (name === 'delta') {
        if (!partial) { partial = el('div', 'm a pending', ''); list.appendChild(partial); }
        partial.textContent += d.text || '';
        list.scrollTop = list.scrollHeight;
      } else if (name === 'done') {
        result = d;
      } else if (name === 'error') {
        throw new Error(d.error || 'the assistant could not answer');
      }
    }
    function feed(text) {
      buf += text;
      for (var i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        var block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        handle(block);
      }
    }
    function end() {
      if (!result || !result.success) throw new Error('the answer was cut off; please ask again');
      finish(result, partial);
    }
    list.setAttribute('aria-busy', 'true');
    var done;
    if (r.body && r.body.getReader && typeof TextDecoder !== 'undefined') {
      var reader = r.body.getReader(), dec = new TextDecoder();
      var pump = function () {
        return reader.read().then(function (x) {
          if (x.done) { feed(dec.decode()); end(); return; }
          feed(dec.decode(x.value, { stream: true }));
          return pump();
        });
      };
      done = pump();
    } else {
      done = r.text().then(function (t) { feed(t); end(); });
    }
    return done.then(function () {
      list.removeAttribute('aria-busy');
    }, function (e) {
      list.removeAttribute('aria-busy');
      if (partial && partial.parentNode) partial.parentNode.removeChild(partial);
      throw e;
    });
  }

  function ask(text, handoff) {
    err.textContent = '';
    if (text) { var u = { who: 'user', text: text }; conv.log.push(u); show(u); save(); }
    send.disabled = human.disabled = true;
    fetch(base + '/api/chat?key=' + encodeURIComponent(key), {
      method: 'POST', credentials: 'omit',
      headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
      body: JSON.stringify({ message: text, conversation_id: conv.id, handoff: !!handoff })
    }).then(function (r) {
      if (r.ok && /^text\/event-stream/.test(r.headers.get('Content-Type') || '')) return readStream(r);
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (!r.ok || !d.success) {
          var wait = r.headers.get('Retry-After');
          throw new Error((d && d.error) || ('the assistant is unavailable (' + r.status + ')') + (wait ? '; wait ' + wait + ' s' : ''));
        }
        finish(d, null);
      });
    }).catch(function (e) {
      err.textContent = 'Sorry: ' + e.message;
    }).then(function () { send.disabled = human.disabled = false; });
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var t = input.value.trim();
    if (!t) return;
    input.value = '';
    ask(t, false);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit')); }
  });
  // "Talk to a human" sends what the visitor has typed, if anything, with
  // the handoff flag: the flag opens the session, and the agent reads the
  // visitor's own words (or the server's stock request when there are none).
  human.addEventListener('click', function () {
    var t = input.value.trim();
    input.value = '';
    ask(t, true);
  });

  // During a live chat the widget asks the server every few seconds for
  // what the agent wrote. The first poll only marks where to start for
  // notices (the transfer notice was already shown as the reply).
  var polling = null, firstPoll = true;
  function startLive() {
    if (!conv.live) { conv.live = true; firstPoll = !conv.after; }
    if (!polling) { polling = setInterval(poll, 4000); poll(); }
  }
  function stopLive() {
    conv.live = false;
    if (polling) { clearInterval(polling); polling = null; }
    save();
  }
  function poll() {
    if (!conv.id) return;
    fetch(base + '/api/chat/messages?key=' + encodeURIComponent(key) + '&conversation_id=' + encodeURIComponent(conv.id) + '&after=' + conv.after, { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) {
        (d.messages || []).forEach(function (m) {
          conv.after = Math.max(conv.after, m.id);
          if (firstPoll && m.sender_type !== 'agent') return;
          var e = { who: m.sender_type, text: (m.sender && m.sender_type === 'agent' ? m.sender + ': ' : '') + m.text };
          conv.log.push(e); show(e);
          if (m.sender_type === 'system' && /closed|ended/i.test(m.text)) stopLive();
        });
        firstPoll = false;
        save();
      })
      .catch(function (status) { if (status === 503 || status === 401 || status === 403) stopLive(); });
  }
  if (conv.live) startLive();

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
