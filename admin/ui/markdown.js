// Answers as Markdown, rendered safely for the admin panel. The widget
// (widget.js) carries a copy of the code between the begin and end marker
// lines below; admin/browser's TestMarkdownCopiesMatch keeps the two
// identical.
'use strict';

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
