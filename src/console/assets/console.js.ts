/**
 * The console's one script, served as /assets/console.js (a module, so the build ships it in dist/). Plain browser
 * JavaScript, not compiled: it is sent as written.
 */
export const CONSOLE_JS = String.raw`// Social capture console: progressive enhancement only; every action also works without this file.
// Text from the server is only ever put into the page with textContent, never as markup.
'use strict';
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : null;

  // Rules editor: validate the draft as it is typed, and show each problem at its rule and field.
  var yaml = document.getElementById('yaml');
  var box = document.getElementById('problems');
  if (yaml && box && csrf) {
    var timer = null;
    var seq = 0;
    var show = function (answer) {
      box.replaceChildren();
      var p = document.createElement('p');
      if (answer.valid) {
        p.className = 'ok';
        p.textContent = 'The draft is valid: version ' + answer.version + ', ' + answer.rules + ' rules.';
        box.append(p);
        return;
      }
      p.textContent = answer.problems ? 'The draft does not validate:' : 'Cannot validate: ' + (answer.error || 'unknown error');
      box.append(p);
      if (!answer.problems) return;
      var ul = document.createElement('ul');
      ul.className = 'problems';
      answer.problems.forEach(function (pr) {
        var li = document.createElement('li');
        var where = document.createElement('span');
        where.className = 'where';
        where.textContent = [pr.rule, pr.field ? 'field "' + pr.field + '"' : null].filter(Boolean).join(' · ') || 'document';
        li.append(where, ': ' + pr.message);
        ul.append(li);
      });
      box.append(ul);
    };
    yaml.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch('/rules/validate', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify({ yaml: yaml.value }),
        })
          .then(function (r) { return r.json(); })
          .then(function (answer) { if (mine === seq) show(answer); })
          .catch(function () { if (mine === seq) show({ error: 'the server did not answer' }); });
      }, 300);
    });
  }

  // Activity: decisions as they happen.
  var live = document.getElementById('live');
  var state = document.getElementById('live-state');
  if (live && window.EventSource) {
    var es = new EventSource('/activity/stream');
    es.addEventListener('open', function () { state.textContent = 'Live: new decisions appear at the top.'; });
    es.addEventListener('error', function () { state.textContent = 'Reconnecting…'; });
    es.addEventListener('decision', function (e) {
      var d = JSON.parse(e.data);
      var li = document.createElement('li');
      var head = document.createElement('strong');
      head.textContent = d.label + (d.leadId ? ' (lead ' + d.leadId + ')' : d.caseId ? ' (case ' + d.caseId + ')' : '');
      var text = document.createElement('bdi');
      text.className = 'post-text';
      text.textContent = d.text;
      li.append(head, ' · ' + d.platform + ' · ' + d.processedAt.slice(11, 19) + ' UTC · ' + (d.rulesetVersion || '') + ': ', text);
      li.id = 'decision-' + d.id;
      live.prepend(li);
      while (live.children.length > 200) live.lastElementChild.remove();
    });
  }
})();
`;
