// optgate console. Every value from the API goes into the page as text
// (textContent or a text node), never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'optgate.console.token';
  const PREVIEW_DELAY_MS = 250;
  const BINDS_REFRESH_MS = 5000;

  const session = { operator: false, account: '', accounts: [], numbers: [] };
  let bindsTimer = null;
  let playerURL = null;

  const $ = (id) => document.getElementById(id);

  // el builds an element. Strings among children become text nodes.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  class APIError extends Error {
    constructor(status, body) {
      const code = body && body.code ? body.code : 'http_' + status;
      const message = body && body.message ? body.message : 'the request failed with HTTP status ' + status;
      super(code + ': ' + message);
      this.status = status;
      this.code = code;
    }
  }

  // api calls the JSON API with the session's token. withAccount adds
  // ?account= for the operator, which reads one account at a time.
  async function api(method, path, opts = {}) {
    const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) };
    let body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = opts.contentType;
      body = opts.body;
    }
    const url = new URL(path, location.origin);
    if (opts.withAccount && session.operator && session.account) {
      url.searchParams.set('account', session.account);
    }
    const resp = await fetch(url, {
      method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
    if (!resp.ok) {
      let detail = null;
      try {
        detail = (await resp.json()).error;
      } catch (_) {
        // Not the API's JSON error body, so the status code is the message.
      }
      const err = new APIError(resp.status, detail);
      if (resp.status === 401 && !opts.login) logout('Your token is no longer accepted. Log in again.');
      throw err;
    }
    if (opts.blob) return resp.blob();
    if (resp.status === 204) return null;
    return resp.json();
  }

  function notify(message, kind) {
    const n = $('notice');
    n.textContent = message;
    n.className = 'notice' + (kind ? ' ' + kind : '');
    n.hidden = !message;
  }

  function fail(err) {
    notify(err instanceof Error ? err.message : String(err));
  }

  function formatTime(value) {
    if (!value) return '';
    const d = new Date(value);
    return isNaN(d) ? String(value) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function badge(text, kind) {
    return el('span', { class: 'badge ' + (kind || text), text });
  }

  function yesNo(value) {
    return badge(value ? 'yes' : 'no');
  }

  function fillRows(table, rows, emptyNote) {
    const body = $(table).tBodies[0];
    body.replaceChildren(...rows);
    if (emptyNote) $(emptyNote).hidden = rows.length > 0;
  }

  // Login and session.

  async function login(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      const numbers = await api('GET', '/v1/numbers', { login: true });
      session.numbers = numbers.numbers;
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      throw err.status === 401 ? new Error('This token is not valid.') : err;
    }
    try {
      await api('GET', '/v1/binds', { login: true });
      session.operator = true;
    } catch (err) {
      if (err.status !== 403) throw err;
      session.operator = false;
    }
    session.accounts = [...new Set(session.numbers.map((n) => n.account))];
    session.account = session.accounts[0] || '';
    showApp();
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    Object.assign(session, { operator: false, account: '', accounts: [], numbers: [] });
    stopBindsRefresh();
    releasePlayer();
    $('nav').hidden = true;
    $('logout').hidden = true;
    $('account-picker').hidden = true;
    $('who').textContent = '';
    $('token').value = '';
    $('lookup-result').hidden = true;
    showPage('login');
    notify(message || '', message ? 'info' : '');
  }

  function showApp() {
    $('nav').hidden = false;
    $('logout').hidden = false;
    for (const link of document.querySelectorAll('#nav a[data-operator]')) link.hidden = !session.operator;
    $('who').textContent = session.operator ? 'operator' : 'account ' + session.account;
    const picker = $('account-select');
    picker.replaceChildren(...session.accounts.map((id) => el('option', { value: id, text: id })));
    picker.value = session.account;
    $('account-picker').hidden = !session.operator;
    notify('');
    route();
  }

  // Pages.

  const pages = ['login', 'consent', 'numbers', 'voicemail', 'binds', 'blocks'];

  function showPage(name) {
    for (const p of pages) $('page-' + p).hidden = p !== name;
    for (const link of document.querySelectorAll('#nav a')) {
      link.classList.toggle('active', link.dataset.page === name);
    }
    document.body.dataset.page = name;
  }

  function route() {
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      showPage('login');
      return;
    }
    let page = location.hash.slice(1) || 'consent';
    if (!pages.includes(page) || page === 'login') page = 'consent';
    if ((page === 'binds' || page === 'blocks') && !session.operator) page = 'consent';
    stopBindsRefresh();
    // An error belongs to the page it happened on.
    notify('');
    showPage(page);
    const load = { numbers: loadNumbers, voicemail: loadVoicemails, binds: startBindsRefresh, blocks: loadBlocks };
    if (load[page]) load[page]().catch(fail);
  }

  // Consent lookup.

  let lookedUp = '';

  // count returns a count from the API, or 0 when the field is missing,
  // so that arithmetic on it never shows NaN.
  function count(value) {
    return Number.isFinite(value) ? value : 0;
  }

  // clearLookup hides the last number looked up, so that a failed lookup
  // never leaves another number's state and history on screen.
  function clearLookup() {
    lookedUp = '';
    $('lookup-result').hidden = true;
    for (const id of ['c-number', 'c-state', 'c-requests', 'c-updated', 'c-prior']) $(id).textContent = '';
    $('c-state').className = 'badge';
    fillRows('history', [], null);
  }

  async function lookUp(number) {
    clearLookup();
    const ev = await api('GET', '/v1/consent/' + encodeURIComponent(number) + '/evidence', { withAccount: true });
    lookedUp = ev.number;
    $('c-number').textContent = ev.number;
    $('c-state').textContent = ev.state;
    $('c-state').className = 'badge ' + ev.state;
    $('c-requests').textContent = count(ev.requests) + ' of 2';
    $('c-updated').textContent = formatTime(ev.updated) || 'never';
    $('c-prior').textContent = ev.prior_state || '-';
    $('open-optin').disabled = session.operator;
    $('open-optin').title = session.operator ? 'Opt-in requests are sent with an account token.' : '';
    const rows = ev.entries.map((e) => el('tr', {},
      el('td', { text: formatTime(e.time) }),
      el('td', { text: e.event + (e.outcome ? ' (' + e.outcome + ')' : '') }),
      el('td', { text: (e.state_before || '') + ' \u2192 ' + (e.state_after || '') }),
      el('td', { text: e.source || '' }),
      el('td', { text: e.toll_free || '' }),
      el('td', { class: 'text', text: e.text || '' })));
    fillRows('history', rows, 'history-empty');
    $('lookup-result').hidden = false;
    notify('');
  }

  async function downloadEvidence() {
    const blob = await api('GET', '/v1/consent/' + encodeURIComponent(lookedUp) + '/evidence',
      { withAccount: true, blob: true });
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: 'evidence-' + lookedUp.replace(/[^0-9]/g, '') + '.json' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // Opt-in request dialog.

  let previewTimer = null;
  let previewSeq = 0;
  let configured = null;
  let allowed = false;

  function templateFields() {
    return {
      business_name: $('o-business').value,
      website: $('o-website').value,
      details: $('o-details').value,
    };
  }

  async function openOptIn() {
    $('o-to').textContent = lookedUp;
    $('o-result').hidden = true;
    $('o-problem').hidden = true;
    const ready = session.numbers.filter((n) => n.account === session.account && n.ready);
    $('o-from').replaceChildren(...ready.map((n) => el('option', { value: n.number, text: n.number })));
    configured = null;
    $('optin-dialog').showModal();
    await preview(true);
  }

  async function preview(reset) {
    const seq = ++previewSeq;
    const body = { to: lookedUp, from: $('o-from').value };
    if (!reset) Object.assign(body, templateFields());

    let p;
    try {
      p = await api('POST', '/v1/optin-requests/preview', { json: body });
    } catch (err) {
      if (seq !== previewSeq) return;
      showProblem(err.message);
      allowed = false;
      $('o-send').disabled = true;
      return;
    }
    if (seq !== previewSeq) return;

    if (reset) {
      configured = { business_name: p.business_name, website: p.website, details: p.details };
      $('o-business').value = p.business_name;
      $('o-website').value = p.website;
      $('o-details').value = p.details;
    }

    $('o-preview').textContent = p.text;
    const segments = p.segments === 1 ? '1 segment' : p.segments + ' segments';
    $('o-count').textContent = p.characters + ' characters, ' + segments + ', ' +
      (p.encoding === 'ucs2' ? 'UCS-2' : 'GSM 7-bit');

    allowed = p.allowed !== false;
    if (p.allowed) $('o-count').textContent += '; this is request ' + (count(p.requests) + 1) + ' of 2';
    if (!allowed) {
      let problem = 'Not allowed: ' + p.reason + ': ' + p.message;
      if (p.quiet_hours && p.reason !== 'quiet_hours') {
        problem += ' It is also quiet hours at this number now.';
      }
      showProblem(problem);
    } else if (!p.configured) {
      showProblem('Requests are sent with the configured business name, website and details. ' +
        'Change them in the configuration to send this wording.');
    } else {
      $('o-problem').hidden = true;
    }
    $('o-send').disabled = !allowed || !p.configured;
  }

  function showProblem(message) {
    $('o-problem').textContent = message;
    $('o-problem').hidden = false;
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => preview(false), PREVIEW_DELAY_MS);
  }

  async function sendOptIn() {
    $('o-send').disabled = true;
    try {
      const res = await api('POST', '/v1/optin-requests', { json: { to: lookedUp, from: $('o-from').value } });
      $('o-result').textContent = 'Sent request ' + res.request + ' of 2, message id ' + res.message_id + '.';
      $('o-result').hidden = false;
      $('o-problem').hidden = true;
      await lookUp(lookedUp);
    } catch (err) {
      showProblem(err.message);
    }
  }

  // Numbers.

  async function loadNumbers() {
    const data = await api('GET', '/v1/numbers');
    session.numbers = data.numbers;
    fillRows('numbers', data.numbers.map(numberRow));
  }

  function numberRow(n) {
    const file = el('input', { type: 'file', accept: 'audio/wav,audio/x-wav,.wav', 'aria-label': 'Greeting for ' + n.number });
    const status = el('span', { class: 'hint' });
    const upload = el('button', { type: 'button', class: 'secondary', text: 'Upload' });
    upload.addEventListener('click', () => uploadGreeting(n.number, file, status).catch(fail));
    return el('tr', { 'data-number': n.number },
      el('td', { text: n.number }),
      el('td', { text: n.account }),
      el('td', {}, yesNo(n.ready)),
      el('td', {}, yesNo(n.greeting)),
      el('td', {}, yesNo(n.voicemail)),
      el('td', {}, el('ul', {}, ...n.problems.map((p) => el('li', { text: p })))),
      el('td', {}, el('div', { class: 'upload' }, file, upload, status)));
  }

  async function uploadGreeting(number, input, status) {
    const file = input.files[0];
    if (!file) {
      status.textContent = 'Choose a WAV file first.';
      status.className = 'problem';
      return;
    }
    status.textContent = 'Uploading\u2026';
    status.className = 'hint';
    try {
      await api('PUT', '/v1/numbers/' + encodeURIComponent(number) + '/greeting', {
        body: file, contentType: file.type === 'audio/x-wav' ? 'audio/x-wav' : 'audio/wav',
      });
      status.textContent = 'Greeting uploaded.';
      status.className = 'ok';
    } catch (err) {
      status.textContent = err.message;
      status.className = 'problem';
    }
  }

  // Voicemail.

  async function loadVoicemails() {
    const data = await api('GET', '/v1/voicemails');
    fillRows('voicemails', data.voicemails.map((v) => {
      const play = el('button', { type: 'button', class: 'secondary', text: 'Play' });
      play.addEventListener('click', () => playVoicemail(v.id).catch(fail));
      return el('tr', { 'data-id': v.id },
        el('td', { text: formatTime(v.received) }),
        el('td', { text: v.from }),
        el('td', { text: v.to }),
        el('td', { text: Number(v.duration_seconds).toFixed(1) + ' s' }),
        el('td', {}, play));
    }), 'voicemail-empty');
  }

  async function playVoicemail(id) {
    const blob = await api('GET', '/v1/voicemails/' + encodeURIComponent(id), { blob: true });
    releasePlayer();
    playerURL = URL.createObjectURL(blob);
    const player = $('player');
    player.src = playerURL;
    player.hidden = false;
    player.dataset.id = id;
    await player.play().catch(() => {
      // Autoplay may be refused; the controls still play it.
    });
  }

  function releasePlayer() {
    const player = $('player');
    player.pause();
    player.removeAttribute('src');
    player.hidden = true;
    if (playerURL) URL.revokeObjectURL(playerURL);
    playerURL = null;
  }

  // Binds and blocks (operator).

  function startBindsRefresh() {
    bindsTimer = setInterval(() => loadBinds().catch(fail), BINDS_REFRESH_MS);
    return loadBinds();
  }

  function stopBindsRefresh() {
    clearInterval(bindsTimer);
    bindsTimer = null;
  }

  async function loadBinds() {
    const data = await api('GET', '/v1/binds');
    const t = data.traffic;
    $('traffic').textContent = t
      ? 'Over the last ' + Math.round(t.seconds) + ' s, all carriers: ' + t.sent_per_second.toFixed(2) +
        ' messages sent and ' + t.received_per_second.toFixed(2) + ' received per second.'
      : 'Message rates appear once the daemon has counted for a few seconds.';
    fillRows('carriers', data.carriers.map((c) => el('tr', { 'data-carrier': c.name },
      el('td', { text: c.name }),
      el('td', { text: c.address }),
      el('td', { text: c.binds.join(', ') }),
      el('td', { text: c.bound + ' of ' + c.binds.length }),
      el('td', { text: c.window_in_use + ' / ' + c.window_size }),
      el('td', { text: c.traffic
        ? c.traffic.submitted_per_second.toFixed(2) + ' submitted, ' +
          c.traffic.received_per_second.toFixed(2) + ' received'
        : 'not yet measured' }))));
    fillRows('business', data.business.map((b) => el('tr', {},
      el('td', { text: b.account }),
      el('td', { text: b.system_id }),
      el('td', { text: b.bind_type }),
      el('td', { text: b.remote_addr }),
      el('td', { text: b.state }),
      el('td', { text: b.window_in_use + ' / ' + b.window_size }))),
    'business-empty');
  }

  async function loadBlocks() {
    const data = await api('GET', '/v1/blocks/recent');
    fillRows('block-reasons', data.by_reason.map((r) => el('tr', {},
      el('td', { text: r.reason }), el('td', { text: r.direction }), el('td', { text: String(r.count) }))));
    fillRows('blocks', data.blocks.map((b) => el('tr', {},
      el('td', { text: formatTime(b.time) }),
      el('td', { text: b.account }),
      el('td', { text: b.number }),
      el('td', { text: b.direction }),
      el('td', { text: b.reason }))), 'blocks-empty');
    $('blocks-empty').textContent = data.recorded ? 'No blocks recorded.'
      : 'This optgate does not record single blocks, only the counts above.';
  }

  // Wiring.

  function on(id, event, handler) {
    $(id).addEventListener(event, (ev) => {
      if (event === 'submit') ev.preventDefault();
      Promise.resolve(handler(ev)).catch(fail);
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    on('login-form', 'submit', () => login($('token').value.trim()));
    on('logout', 'click', () => logout('You are logged out.'));
    on('lookup-form', 'submit', () => lookUp($('lookup-number').value.trim()));
    on('download-evidence', 'click', downloadEvidence);
    on('open-optin', 'click', openOptIn);
    on('o-send', 'click', sendOptIn);
    on('o-reset', 'click', () => preview(true));
    on('o-cancel', 'click', () => $('optin-dialog').close());
    on('o-from', 'change', () => preview(false));
    for (const id of ['o-business', 'o-website', 'o-details']) on(id, 'input', schedulePreview);
    on('account-select', 'change', (ev) => {
      session.account = ev.target.value;
      $('lookup-result').hidden = true;
      route();
    });
    window.addEventListener('hashchange', route);

    if (sessionStorage.getItem(TOKEN_KEY)) {
      login(sessionStorage.getItem(TOKEN_KEY)).catch((err) => logout(err.message));
    } else {
      route();
    }
  });
})();
