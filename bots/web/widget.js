/*
 * Hỏi Luật — the embeddable chat widget of the Sở Tư pháp legal-question assistant.
 *
 * One line embeds it on any page whose origin the service allows (see bots/web/README.md):
 *   <script src="https://HOST/widget.js" data-title="Hỏi Luật" async></script>
 *
 * Plain JavaScript, no build step, no third-party code. Everything lives in a shadow root so the
 * host page's CSS cannot restyle it (and ours cannot leak out). The API is the service that served
 * this file: `POST v1/chat` streams the answer as Server-Sent Events, read here with fetch and a
 * ReadableStream (EventSource cannot POST). Finished messages are appended to a `role="log"`
 * region, so screen readers hear each answer once, whole, not token by token.
 *
 * `data-testid` attributes are stable hooks for tests/widget_browser.rs.
 */
(function () {
  'use strict';

  if (window.__hoiLuatWidgetLoaded) return; // the snippet pasted twice
  window.__hoiLuatWidgetLoaded = true;

  var script = document.currentScript || findOwnScript();
  if (!script) return;

  var settings = {
    title: script.getAttribute('data-title') || 'Hỏi Luật',
    subtitle: script.getAttribute('data-subtitle') || 'Trợ lý tra cứu pháp luật – Sở Tư pháp',
    position: script.getAttribute('data-position') === 'left' ? 'left' : 'right',
    // The API is where this file came from, unless `data-api` says otherwise.
    apiBase: new URL(script.getAttribute('data-api') || '.', script.src || location.href)
  };

  var MAX_MESSAGE_CHARS = 1000;
  var ANSWERS_BEFORE_SURVEY = 3;
  // How often an open page asks whether staff reviewed an answer of this conversation.
  var POLL_SECONDS = 15;
  // How long a retried question that the server already had is waited for.
  var RECOVER_TRIES = 30;
  var RECOVER_EVERY_MS = 3000;
  var STORE_CONVERSATION = 'hoiluat.conversation_id';
  var STORE_SURVEYED = 'hoiluat.surveyed';

  var TEXT = {
    open: 'Mở Hỏi Luật: hỏi đáp pháp luật',
    close: 'Đóng cửa sổ Hỏi Luật',
    inputLabel: 'Câu hỏi của bạn',
    placeholder: 'Nhập câu hỏi về pháp luật…',
    send: 'Gửi câu hỏi',
    greeting: 'Xin chào! Mình là trợ lý tra cứu pháp luật của Sở Tư pháp. ' +
      'Bạn hãy nhập câu hỏi, mình sẽ trả lời bằng trích dẫn điều luật cụ thể và cho biết văn bản còn hiệu lực hay không.',
    examples: ['Nam nữ bao nhiêu tuổi thì được kết hôn?', 'Đăng ký khai sinh cho con cần giấy tờ gì?'],
    disclaimer: 'Thông tin chỉ để tham khảo, không thay thế tư vấn pháp lý.',
    you: 'Bạn hỏi:',
    bot: 'Hỏi Luật trả lời:',
    thinking: 'Hỏi Luật đang trả lời…',
    retry: 'Thử lại',
    reviewedApproved: 'Cán bộ Sở Tư pháp đã xem lại và xác nhận câu trả lời cho câu hỏi',
    reviewedEdited: 'Cán bộ Sở Tư pháp đã xem lại và bổ sung câu trả lời cho câu hỏi',
    legalBasis: 'Căn cứ pháp lý (bấm để xem toàn văn):',
    up: 'Câu trả lời hữu ích',
    down: 'Câu trả lời chưa hữu ích',
    report: 'Báo lỗi câu trả lời này',
    reportPrompt: 'Bạn thấy câu trả lời sai ở đâu? (không bắt buộc)',
    reportSend: 'Gửi báo lỗi',
    cancel: 'Hủy',
    thanks: 'Cảm ơn bạn đã góp ý!',
    feedbackFailed: 'Chưa gửi được góp ý. Bạn vui lòng thử lại sau nhé.',
    network: 'Không kết nối được với máy chủ. Bạn kiểm tra kết nối mạng rồi thử lại nhé.',
    interrupted: 'Kết nối bị gián đoạn nên câu trả lời chưa đầy đủ. Bạn vui lòng hỏi lại nhé.',
    failed: 'Đã có lỗi xảy ra, bạn vui lòng thử lại sau.',
    tooLong: 'Câu hỏi dài quá, bạn vui lòng hỏi ngắn gọn hơn (dưới 1.000 ký tự) nhé.',
    survey: 'Bạn có hài lòng với Hỏi Luật không?',
    surveySkip: 'Bỏ qua',
    surveyThanks: 'Cảm ơn bạn đã đánh giá!',
    scores: ['Rất không hài lòng', 'Không hài lòng', 'Bình thường', 'Hài lòng', 'Rất hài lòng'],
    faces: ['😞', '🙁', '😐', '🙂', '😀'],
    back: 'Quay lại cuộc trò chuyện',
    quoted: 'Đoạn được trích dẫn',
    fullText: 'Toàn văn điều luật',
    loading: 'Đang tải toàn văn…',
    articleFailed: 'Chưa tải được toàn văn điều luật. Bạn vui lòng thử lại sau nhé.',
    effectiveFrom: 'hiệu lực từ '
  };

  var CSS = [
    // `all: initial` stops inherited host styles (font, colour, line height…) at the boundary.
    // Sizes are in px, not rem: a host page that sets `html { font-size: 10px }` must not shrink
    // the widget. 384 × 704 px is 24rem × 44rem at the default 16px.
    ':host { all: initial; }',
    '*, *::before, *::after { box-sizing: border-box; }',
    // And again on our own root: whatever the page sets on the host element is not inherited.
    '.root { all: initial; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif;',
    '  font-size: 16px; line-height: 1.5; color: #1f2328; }',
    'button, textarea { font: inherit; color: inherit; }',
    'button { cursor: pointer; }',
    ':focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }',
    '.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;',
    '  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }',
    '.launcher { position: fixed; bottom: 16px; z-index: 2147483000; display: flex; align-items: center; gap: 8px;',
    '  padding: 12px 18px; border: 0; border-radius: 999px; background: #9b1c1c; color: #fff; font-weight: 600;',
    '  box-shadow: 0 4px 16px rgba(0,0,0,.25); }',
    '.launcher:hover { background: #7f1616; }',
    '.launcher svg { width: 22px; height: 22px; fill: currentColor; }',
    '.right { right: 16px; } .left { left: 16px; }',
    '.panel { position: fixed; bottom: 88px; z-index: 2147483001; width: 384px; height: 704px;',
    '  max-width: calc(100vw - 32px); max-height: calc(100vh - 96px); display: flex; flex-direction: column;',
    '  background: #fff; border-radius: 12px; box-shadow: 0 8px 32px rgba(0,0,0,.3); overflow: hidden; }',
    '.panel[hidden], [hidden] { display: none !important; }',
    '@media (max-width: 480px) {',
    '  .panel { inset: 0; width: 100vw; height: 100vh; height: 100dvh; max-width: none; max-height: none;',
    '    border-radius: 0; }',
    '}',
    '.header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px; background: #9b1c1c; color: #fff; }',
    '.header h2 { margin: 0; font-size: 18px; line-height: 1.3; }',
    '.header p { margin: 0; font-size: 13px; opacity: .9; }',
    '.header .titles { flex: 1; min-width: 0; }',
    '.icon-button { border: 0; background: transparent; color: inherit; border-radius: 6px; padding: 6px 10px;',
    '  font-size: 20px; line-height: 1; }',
    '.icon-button:hover { background: rgba(255,255,255,.15); }',
    '.main { flex: 1; min-height: 0; display: flex; flex-direction: column; position: relative; }',
    '.scroll { flex: 1; overflow-y: auto; padding: 12px; background: #f6f7f9; }',
    '.msg { margin: 0 0 12px; display: flex; flex-direction: column; }',
    '.msg.user { align-items: flex-end; }',
    '.bubble { max-width: 92%; padding: 10px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }',
    '.user .bubble { background: #9b1c1c; color: #fff; border-bottom-right-radius: 4px; }',
    '.bot .bubble { background: #fff; border: 1px solid #d8dde3; border-bottom-left-radius: 4px; }',
    '.error .bubble { background: #fff4f4; border: 1px solid #d33; color: #8a1111; }',
    '.error .retry { align-self: flex-start; margin-top: 6px; }',
    '.reviewed .bubble { background: #eef6ee; border: 1px solid #2f7d32; }',
    '.reviewed-label { margin: 0 0 4px; font-size: 13px; color: #1e5b20; font-weight: 600; max-width: 92%; }',
    '.examples { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }',
    '.chip { border: 1px solid #9b1c1c; background: #fff; color: #9b1c1c; border-radius: 999px; padding: 4px 12px; font-size: 14px; }',
    '.citations { margin-top: 8px; max-width: 92%; }',
    '.citations p { margin: 0 0 4px; font-size: 13px; color: #555; }',
    '.citations ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }',
    '.citation { width: 100%; text-align: left; border: 1px solid #d9a441; background: #fff8e6; color: #4a3200;',
    '  border-radius: 8px; padding: 6px 10px; font-size: 14px; }',
    '.citation:hover { background: #fdefc8; }',
    '.tag { display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 4px; font-size: 12px;',
    '  background: #e3f4e8; color: #14532d; }',
    '.tag.warn { background: #fde8e8; color: #7f1d1d; }',
    '.feedback { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }',
    '.fb { border: 1px solid #c9ced6; background: #fff; border-radius: 6px; padding: 2px 10px; font-size: 14px; }',
    '.fb[aria-pressed="true"] { background: #e8f0fe; border-color: #1a56db; }',
    '.thumb { width: 18px; height: 18px; fill: #374151; vertical-align: -4px; }',
    '.thumb.down { transform: rotate(180deg); }',
    '.fb[aria-pressed="true"] .thumb { fill: #1a56db; }',
    '.confirm { margin: 4px 0 0; font-size: 13px; color: #14532d; }',
    '.confirm.bad { color: #8a1111; }',
    '.report { margin-top: 6px; width: 92%; display: flex; flex-direction: column; gap: 6px; font-size: 14px; }',
    '.report textarea { min-height: 60px; padding: 6px; border: 1px solid #c9ced6; border-radius: 6px; resize: vertical; }',
    '.row { display: flex; gap: 6px; }',
    '.primary { border: 0; background: #9b1c1c; color: #fff; border-radius: 6px; padding: 6px 12px; }',
    '.secondary { border: 1px solid #c9ced6; background: #fff; border-radius: 6px; padding: 6px 12px; }',
    '.draft .bubble { color: #333; }',
    '.dots::after { content: "…"; }',
    '.survey { background: #fff; border: 1px solid #d8dde3; border-radius: 12px; padding: 10px 12px; margin-bottom: 12px; }',
    '.survey p { margin: 0 0 6px; font-weight: 600; }',
    '.faces { display: flex; gap: 6px; flex-wrap: wrap; }',
    '.face { border: 1px solid #c9ced6; background: #fff; border-radius: 8px; font-size: 24px; padding: 2px 8px;',
    '  display: flex; flex-direction: column; align-items: center; line-height: 1.2; }',
    '.face:hover { background: #f3f4f6; }',
    '.score { font-size: 12px; color: #555; }',
    '.composer { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px; border-top: 1px solid #d8dde3; background: #fff; }',
    '.composer textarea { flex: 1; resize: none; min-height: 44px; max-height: 120px; padding: 10px; border: 1px solid #9aa3ad;',
    '  border-radius: 8px; }',
    '.send { border: 0; background: #9b1c1c; color: #fff; border-radius: 8px; padding: 10px 14px; font-weight: 600; }',
    '.send[aria-disabled="true"] { opacity: .6; cursor: progress; }',
    '.footnote { margin: 0; padding: 0 12px 8px; font-size: 12px; color: #555; background: #fff; }',
    '.article { position: absolute; inset: 0; background: #fff; display: flex; flex-direction: column; z-index: 1; }',
    '.article-head { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-bottom: 1px solid #d8dde3; }',
    '.article-body { flex: 1; overflow-y: auto; padding: 12px 16px; }',
    '.article-body h3 { margin: 0 0 4px; font-size: 17px; }',
    '.article-body h4 { margin: 12px 0 4px; font-size: 14px; color: #555; }',
    '.article-body blockquote { margin: 0; padding: 8px 10px; border-left: 4px solid #d9a441; background: #fff8e6; white-space: pre-wrap; }',
    '.article-text { white-space: pre-wrap; }',
    '.doc { margin: 0; color: #444; font-size: 14px; }',
    '@media (prefers-reduced-motion: reduce) { * { animation: none !important; transition: none !important; } }'
  ].join('\n');

  var state = {
    conversationId: load(STORE_CONVERSATION),
    surveyed: load(STORE_SURVEYED) === '1',
    answers: 0,
    busy: false,
    polling: false,
    // Answer ids whose staff review is on screen.
    shownReviews: {},
    openedArticleFrom: null
  };
  var ui = {};

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);

  // ------------------------------------------------------------------------------------------
  // Building the widget

  function start() {
    // A custom element name: page rules aimed at `div` or `section` do not match the host.
    var host = document.createElement('hoiluat-widget');
    host.id = 'hoiluat-widget';
    // Inline and important: a page rule such as `#main * { display: none }` must not hide us.
    host.style.setProperty('display', 'block', 'important');
    host.style.setProperty('position', 'static', 'important');
    var root = host.attachShadow({ mode: 'open' });
    var style = document.createElement('style');
    style.textContent = CSS;
    root.appendChild(style);

    var wrapper = el('div', { class: 'root', lang: 'vi' });
    ui.root = root;
    ui.launcher = el('button', {
      type: 'button', class: 'launcher ' + settings.position, 'aria-label': TEXT.open,
      'aria-expanded': 'false', 'aria-controls': 'hoiluat-panel', 'data-testid': 'launcher'
    });
    ui.launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
      '<path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
    ui.launcher.appendChild(el('span', {}, [settings.title]));
    ui.launcher.addEventListener('click', function () { setOpen(!isOpen()); });

    ui.panel = el('div', {
      id: 'hoiluat-panel', class: 'panel ' + settings.position, role: 'dialog', 'aria-modal': 'false',
      'aria-labelledby': 'hoiluat-title', 'data-testid': 'panel', hidden: ''
    });
    ui.panel.addEventListener('keydown', onPanelKeydown);

    ui.close = el('button', {
      type: 'button', class: 'icon-button', 'aria-label': TEXT.close, 'data-testid': 'close'
    }, ['✕']);
    ui.close.addEventListener('click', requestClose);
    var header = el('div', { class: 'header' }, [
      el('div', { class: 'titles' }, [
        el('h2', { id: 'hoiluat-title' }, [settings.title]),
        el('p', {}, [settings.subtitle])
      ]),
      ui.close
    ]);

    ui.main = el('div', { class: 'main' });
    ui.chat = el('div', { class: 'chat', style: 'display:flex;flex-direction:column;flex:1;min-height:0' });
    ui.scroll = el('div', { class: 'scroll', 'data-testid': 'scroll' });
    ui.log = el('div', {
      role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Cuộc trò chuyện',
      'data-testid': 'log'
    });
    // The streaming draft lives outside the log and is hidden from screen readers: only the
    // finished answer is announced.
    ui.draft = el('div', { class: 'msg bot draft', 'aria-hidden': 'true', 'data-testid': 'draft', hidden: '' });
    ui.scroll.appendChild(ui.log);
    ui.scroll.appendChild(ui.draft);
    ui.status = el('p', { class: 'sr-only', role: 'status' });

    ui.input = el('textarea', {
      id: 'hoiluat-input', rows: '1', maxlength: String(MAX_MESSAGE_CHARS), placeholder: TEXT.placeholder,
      'data-testid': 'input', enterkeyhint: 'send'
    });
    ui.input.addEventListener('keydown', onInputKeydown);
    ui.send = el('button', {
      type: 'button', class: 'send', 'aria-label': TEXT.send, 'data-testid': 'send'
    }, ['Gửi']);
    ui.send.addEventListener('click', function () { sendQuestion(ui.input.value); });
    var composer = el('div', { class: 'composer' }, [
      el('label', { class: 'sr-only', for: 'hoiluat-input' }, [TEXT.inputLabel]),
      ui.input,
      ui.send
    ]);

    ui.chat.appendChild(ui.scroll);
    ui.chat.appendChild(composer);
    ui.chat.appendChild(el('p', { class: 'footnote' }, [TEXT.disclaimer]));
    ui.main.appendChild(ui.chat);
    ui.panel.appendChild(header);
    ui.panel.appendChild(ui.main);
    ui.panel.appendChild(ui.status);

    wrapper.appendChild(ui.launcher);
    wrapper.appendChild(ui.panel);
    root.appendChild(wrapper);
    document.body.appendChild(host);
    addGreeting();
    restoreTranscript();
    setInterval(pollReviews, POLL_SECONDS * 1000);
    document.addEventListener('visibilitychange', pollReviews);
  }

  function addGreeting() {
    var examples = el('div', { class: 'examples' });
    TEXT.examples.forEach(function (question) {
      var chip = el('button', { type: 'button', class: 'chip', 'aria-label': 'Hỏi: ' + question }, [question]);
      chip.addEventListener('click', function () { sendQuestion(question); });
      examples.appendChild(chip);
    });
    ui.log.appendChild(el('div', { class: 'msg bot' }, [
      el('div', { class: 'bubble' }, [TEXT.greeting]),
      examples
    ]));
  }

  // ------------------------------------------------------------------------------------------
  // Opening, closing, keyboard

  function isOpen() { return !ui.panel.hasAttribute('hidden'); }

  function setOpen(open) {
    if (open) {
      ui.panel.removeAttribute('hidden');
      ui.launcher.setAttribute('aria-expanded', 'true');
      ui.input.focus();
      scrollToEnd(true);
    } else {
      closeArticle();
      ui.panel.setAttribute('hidden', '');
      ui.launcher.setAttribute('aria-expanded', 'false');
      ui.launcher.focus();
    }
  }

  // The first close after an answer asks the satisfaction question instead; closing again closes.
  function requestClose() {
    if (state.answers > 0 && !state.surveyed && !ui.survey) {
      showSurvey();
      return;
    }
    setOpen(false);
  }

  function onPanelKeydown(event) {
    if (event.key !== 'Escape') return;
    event.stopPropagation();
    if (ui.article) closeArticle();
    else requestClose();
  }

  function onInputKeydown(event) {
    // Enter sends, Shift+Enter is a new line; never while an input method is composing a syllable.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendQuestion(ui.input.value);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Asking

  async function sendQuestion(raw) {
    var question = (raw || '').trim();
    if (!question || state.busy) return;
    if (question.length > MAX_MESSAGE_CHARS) {
      addError(TEXT.tooLong);
      return;
    }
    ui.input.value = '';
    addUserMessage(question);
    await ask(question, newUuid());
  }

  // Sends one question and shows its answer. A retry sends the same `clientId`: the server
  // recognises a question it already has (409) and the answer is then read from the history.
  async function ask(question, clientId) {
    if (state.busy) return;
    state.busy = true;
    ui.send.setAttribute('aria-disabled', 'true');
    showDraft();
    announce(TEXT.thinking);
    var retry = function () { ask(question, clientId); };
    try {
      var body = { message: question, client_message_id: clientId };
      if (state.conversationId) body.conversation_id = state.conversationId;
      var response;
      try {
        response = await fetch(endpoint('v1/chat'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
          body: JSON.stringify(body),
          credentials: 'omit'
        });
      } catch (networkError) {
        addError(TEXT.network, retry);
        return;
      }
      if (response.status === 409) {
        if (!(await recoverAnswer(clientId))) addError(TEXT.network, retry);
        return;
      }
      if (!response.ok || !response.body) {
        // Busy or failing servers are worth another try; a refused question is not.
        addError(await errorMessage(response), response.status >= 500 ? retry : null);
        return;
      }
      if (!(await readAnswer(response))) addError(TEXT.interrupted, retry);
    } finally {
      hideDraft();
      announce('');
      state.busy = false;
      ui.send.removeAttribute('aria-disabled');
    }
  }

  // Reads the SSE stream: `delta` events grow the draft, `done` turns it into a finished message.
  async function readAnswer(response) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder('utf-8');
    var buffer = '';
    var text = '';
    var finished = false;
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, '\n');
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          var event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!event) continue; // a keep-alive comment
          if (event.type === 'delta') {
            text += event.text || '';
            ui.draftText.textContent = text;
            scrollToEnd(false);
          } else if (event.type === 'done') {
            finished = true;
            finishAnswer(text, event);
          } else if (event.type === 'error') {
            finished = true;
            addError(event.message || TEXT.failed);
          }
        }
      }
    } catch (streamError) {
      // The connection dropped mid-answer: the caller offers a retry.
    }
    return finished;
  }

  // The answer to a question the server already had (its stream was lost): read from the
  // conversation's history, waiting while it is still being prepared.
  async function recoverAnswer(clientId) {
    for (var attempt = 0; attempt < RECOVER_TRIES; attempt++) {
      var exchanges = await fetchHistory();
      var found = (exchanges || []).filter(function (e) { return e.client_message_id === clientId && e.answer; })[0];
      if (found) {
        hideDraft();
        showExchangeAnswer(found, true);
        return true;
      }
      if (exchanges === null) return false;
      await new Promise(function (resolve) { setTimeout(resolve, RECOVER_EVERY_MS); });
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------
  // The conversation after a reload, and answers staff reviewed meanwhile

  // The stored conversation (null when it cannot be read: offline, no conversation yet).
  async function fetchHistory() {
    if (!state.conversationId) return null;
    try {
      var response = await fetch(endpoint('v1/chat/history?conversation_id=' + encodeURIComponent(state.conversationId)), {
        headers: { Accept: 'application/json' }, credentials: 'omit'
      });
      if (!response.ok) return null;
      return (await response.json()).exchanges || [];
    } catch (networkError) {
      return null;
    }
  }

  // A reload in the same tab shows the conversation again (its id is in sessionStorage).
  async function restoreTranscript() {
    if (!state.conversationId) return;
    state.busy = true;
    try {
      var exchanges = await fetchHistory();
      (exchanges || []).forEach(function (exchange) {
        addUserMessage(exchange.question);
        if (exchange.answer) showExchangeAnswer(exchange, false);
        if (exchange.reviewed) showReviewed(exchange);
      });
    } finally {
      state.busy = false;
    }
  }

  function showExchangeAnswer(exchange, live) {
    var answer = exchange.answer;
    var done = { answer_id: answer.answer_id, status: answer.status, citations: answer.citations };
    if (live) finishAnswer(answer.text, done);
    else {
      addAnswer(answer.text, done);
      if (answer.status === 'answered' || answer.status === 'declined') state.answers += 1;
    }
  }

  async function pollReviews() {
    if (!state.conversationId || state.polling || document.visibilityState === 'hidden') return;
    state.polling = true;
    try {
      var exchanges = await fetchHistory();
      (exchanges || []).forEach(function (exchange) { if (exchange.reviewed) showReviewed(exchange); });
    } finally {
      state.polling = false;
    }
  }

  function showReviewed(exchange) {
    var reviewed = exchange.reviewed;
    if (state.shownReviews[reviewed.answer_id]) return;
    state.shownReviews[reviewed.answer_id] = true;
    var label = reviewed.status === 'edited' ? TEXT.reviewedEdited : TEXT.reviewedApproved;
    var question = exchange.question.length > 80 ? exchange.question.slice(0, 79) + '…' : exchange.question;
    var message = el('article', { class: 'msg bot reviewed', 'data-testid': 'reviewed', 'data-answer-id': reviewed.answer_id }, [
      el('p', { class: 'reviewed-label' }, [label + ' “' + question + '”:']),
      el('div', { class: 'bubble', 'data-testid': 'reviewed-text' }, [reviewed.text])
    ]);
    appendCitations(message, reviewed.citations || []);
    appendToLog(message);
  }

  function parseEvent(block) {
    var data = [];
    block.split('\n').forEach(function (line) {
      if (line.indexOf('data:') === 0) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
    });
    if (!data.length) return null;
    try {
      return JSON.parse(data.join('\n'));
    } catch (parseError) {
      return null;
    }
  }

  function finishAnswer(text, done) {
    if (done.conversation_id) {
      state.conversationId = done.conversation_id;
      save(STORE_CONVERSATION, done.conversation_id);
    }
    hideDraft();
    addAnswer(text, done);
    if (done.status === 'answered' || done.status === 'declined') {
      state.answers += 1;
      if (state.answers >= ANSWERS_BEFORE_SURVEY && !state.surveyed && !ui.survey) showSurvey();
    }
  }

  async function errorMessage(response) {
    try {
      var body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (ignored) { /* not JSON: a proxy's page */ }
    return TEXT.failed;
  }

  // ------------------------------------------------------------------------------------------
  // Messages

  function addUserMessage(text) {
    appendToLog(el('div', { class: 'msg user', 'data-testid': 'user-message' }, [
      el('span', { class: 'sr-only' }, [TEXT.you]),
      el('div', { class: 'bubble' }, [text])
    ]));
  }

  // An error message; with `retry`, a button that removes it and tries again.
  function addError(text, retry) {
    var node = el('div', { class: 'msg bot error', 'data-testid': 'error' }, [el('div', { class: 'bubble' }, [text])]);
    if (retry) {
      var button = el('button', { type: 'button', class: 'secondary retry', 'data-testid': 'retry' }, [TEXT.retry]);
      button.addEventListener('click', function () {
        if (state.busy) return;
        node.remove();
        retry();
      });
      node.appendChild(button);
    }
    appendToLog(node);
  }

  function showDraft() {
    ui.draftText = el('div', { class: 'bubble' }, [el('span', { class: 'dots' }, [TEXT.thinking.replace('…', '')])]);
    ui.draft.textContent = '';
    ui.draft.appendChild(ui.draftText);
    ui.draft.removeAttribute('hidden');
    scrollToEnd(true);
  }

  function hideDraft() {
    ui.draft.setAttribute('hidden', '');
    ui.draft.textContent = '';
  }

  function addAnswer(text, done) {
    var message = el('article', {
      class: 'msg bot', 'data-testid': 'answer', 'data-status': done.status || '',
      'data-answer-id': done.answer_id || ''
    }, [
      el('span', { class: 'sr-only' }, [TEXT.bot]),
      el('div', { class: 'bubble', 'data-testid': 'answer-text' }, [text])
    ]);
    appendCitations(message, done.citations || []);
    if (done.answer_id) message.appendChild(feedbackRow(done.answer_id, message));
    appendToLog(message);
  }

  function appendCitations(message, citations) {
    if (!citations.length) return;
    var list = el('ul');
    citations.forEach(function (citation) { list.appendChild(el('li', {}, [citationButton(citation)])); });
    message.appendChild(el('div', { class: 'citations' }, [el('p', {}, [TEXT.legalBasis]), list]));
  }

  // Live answers carry the status slug; the stored history carries its label only.
  function isInForce(citation) {
    return citation.validity ? citation.validity === 'con_hieu_luc' : citation.validity_label === 'Còn hiệu lực';
  }

  function citationButton(citation) {
    var inForce = isInForce(citation);
    var button = el('button', {
      type: 'button', class: 'citation', 'data-testid': 'citation', 'data-article-id': citation.article_id,
      'aria-label': 'Xem toàn văn ' + citation.reference + ' (' + citation.validity_label + ')'
    }, [
      citation.reference,
      el('span', { class: 'tag' + (inForce ? '' : ' warn') }, [citation.validity_label])
    ]);
    button.addEventListener('click', function () { openArticle(citation, button); });
    return button;
  }

  function feedbackRow(answerId, message) {
    var container = el('div', {});
    var row = el('div', { class: 'feedback', role: 'group', 'aria-label': 'Đánh giá câu trả lời' });
    var up = el('button', { type: 'button', class: 'fb', 'aria-label': TEXT.up, 'aria-pressed': 'false', 'data-testid': 'feedback-up' }, [thumb(false)]);
    var down = el('button', { type: 'button', class: 'fb', 'aria-label': TEXT.down, 'aria-pressed': 'false', 'data-testid': 'feedback-down' }, [thumb(true)]);
    var report = el('button', { type: 'button', class: 'fb', 'aria-label': TEXT.report, 'aria-expanded': 'false', 'data-testid': 'feedback-report' }, ['Báo lỗi']);
    up.addEventListener('click', function () { rate(answerId, 'up', null, up, [up, down], container); });
    down.addEventListener('click', function () { rate(answerId, 'down', null, down, [up, down], container); });
    report.addEventListener('click', function () { toggleReportForm(answerId, report, container); });
    row.appendChild(up);
    row.appendChild(down);
    row.appendChild(report);
    container.appendChild(row);
    return container;
  }

  // 👍 / 👎 drawn as SVG: office computers without an emoji font would show empty boxes.
  function thumb(down) {
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'thumb' + (down ? ' down' : ''));
    var path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', 'M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6' +
      'C6.2 7.9 6 8.4 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z');
    svg.appendChild(path);
    return svg;
  }

  function toggleReportForm(answerId, reportButton, container) {
    var existing = container.querySelector('.report');
    if (existing) {
      existing.remove();
      reportButton.setAttribute('aria-expanded', 'false');
      return;
    }
    var id = 'hoiluat-report-' + answerId;
    var comment = el('textarea', { id: id, maxlength: '500', 'data-testid': 'report-comment' });
    var submit = el('button', { type: 'button', class: 'primary', 'data-testid': 'report-send', 'aria-label': TEXT.reportSend }, [TEXT.reportSend]);
    var cancel = el('button', { type: 'button', class: 'secondary', 'aria-label': TEXT.cancel }, [TEXT.cancel]);
    var form = el('div', { class: 'report' }, [
      el('label', { for: id }, [TEXT.reportPrompt]), comment, el('div', { class: 'row' }, [submit, cancel])
    ]);
    submit.addEventListener('click', async function () {
      var ok = await rate(answerId, 'report', comment.value.trim() || null, reportButton, [reportButton], container);
      if (ok) {
        form.remove();
        reportButton.setAttribute('aria-expanded', 'false');
        reportButton.focus();
      }
    });
    cancel.addEventListener('click', function () {
      form.remove();
      reportButton.setAttribute('aria-expanded', 'false');
      reportButton.focus();
    });
    container.appendChild(form);
    reportButton.setAttribute('aria-expanded', 'true');
    comment.focus();
  }

  // Sends one rating; the buttons of the group stop responding once one is recorded.
  async function rate(answerId, rating, comment, pressed, group, container) {
    if (pressed.getAttribute('aria-disabled') === 'true') return false;
    var payload = { answer_id: answerId, rating: rating };
    if (comment) payload.comment = comment;
    var message;
    var ok = false;
    try {
      var response = await postJson('v1/feedback', payload);
      ok = response.ok;
      message = ok ? ((await response.json()).message || TEXT.thanks) : await errorMessage(response);
    } catch (networkError) {
      message = TEXT.feedbackFailed;
    }
    if (ok) {
      pressed.setAttribute('aria-pressed', 'true');
      group.forEach(function (button) { button.setAttribute('aria-disabled', 'true'); });
    }
    var old = container.querySelector('.confirm');
    if (old) old.remove();
    // A new node inside the log: screen readers announce it.
    container.appendChild(el('p', { class: 'confirm' + (ok ? '' : ' bad'), 'data-testid': 'feedback-status' }, [message]));
    return ok;
  }

  function appendToLog(node) {
    ui.log.appendChild(node);
    scrollToEnd(true);
  }

  function scrollToEnd(force) {
    var s = ui.scroll;
    // Follow the stream only when the reader is already at the bottom.
    if (force || s.scrollHeight - s.scrollTop - s.clientHeight < 80) s.scrollTop = s.scrollHeight;
  }

  function announce(text) { ui.status.textContent = text; }

  // ------------------------------------------------------------------------------------------
  // The cited article

  async function openArticle(citation, fromButton) {
    closeArticle();
    state.openedArticleFrom = fromButton;
    var back = el('button', { type: 'button', class: 'secondary', 'aria-label': TEXT.back, 'data-testid': 'article-close' }, ['← Quay lại']);
    back.addEventListener('click', closeArticle);
    var validity = citation.validity_label +
      (citation.effective_date ? ' · ' + TEXT.effectiveFrom + formatDate(citation.effective_date) : '');
    var fullText = el('div', { class: 'article-text', 'data-testid': 'article-text', 'aria-busy': 'true' }, [TEXT.loading]);
    var headingId = 'hoiluat-article-heading';
    ui.article = el('div', {
      class: 'article', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': headingId, 'data-testid': 'article-view'
    }, [
      el('div', { class: 'article-head' }, [back]),
      el('div', { class: 'article-body' }, [
        el('h3', { id: headingId, 'data-testid': 'article-heading' }, [citation.heading || citation.reference]),
        el('p', { class: 'doc' }, [citation.document_title || '']),
        el('p', { class: 'doc' }, [
          el('span', { class: 'tag' + (isInForce(citation) ? '' : ' warn'), 'data-testid': 'article-validity' }, [validity])
        ])
      ].concat(citation.text ? [
        el('h4', {}, [TEXT.quoted + (citation.unit ? ' (' + citation.unit + ')' : '')]),
        el('blockquote', {}, [citation.text])
      ] : []).concat([
        el('h4', {}, [TEXT.fullText]),
        fullText
      ]))
    ]);
    // The conversation behind is out of reach (keyboard and screen reader) while the article is open.
    ui.chat.setAttribute('inert', '');
    ui.chat.setAttribute('aria-hidden', 'true');
    ui.main.appendChild(ui.article);
    back.focus();
    try {
      var response = await fetch(endpoint('v1/articles/' + encodeURIComponent(citation.article_id)), {
        headers: { Accept: 'application/json' }, credentials: 'omit'
      });
      if (!response.ok) throw new Error('status ' + response.status);
      var article = await response.json();
      fullText.textContent = (article.heading ? article.heading + '\n' : '') + article.text;
    } catch (failure) {
      fullText.textContent = TEXT.articleFailed;
    }
    fullText.removeAttribute('aria-busy');
  }

  function closeArticle() {
    if (!ui.article) return;
    ui.article.remove();
    ui.article = null;
    ui.chat.removeAttribute('inert');
    ui.chat.removeAttribute('aria-hidden');
    if (state.openedArticleFrom && state.openedArticleFrom.isConnected) state.openedArticleFrom.focus();
    state.openedArticleFrom = null;
  }

  // ------------------------------------------------------------------------------------------
  // Satisfaction

  function showSurvey() {
    state.surveyed = true;
    save(STORE_SURVEYED, '1');
    var faces = el('div', { class: 'faces', role: 'group', 'aria-label': TEXT.survey });
    ui.survey = el('div', { class: 'survey', 'data-testid': 'satisfaction' }, [el('p', {}, [TEXT.survey]), faces]);
    TEXT.faces.forEach(function (face, index) {
      var score = index + 1;
      var button = el('button', {
        type: 'button', class: 'face', 'aria-label': score + ' trên 5: ' + TEXT.scores[index],
        title: TEXT.scores[index], 'data-testid': 'satisfaction-' + score
      }, [face, el('span', { class: 'score' }, [String(score)])]);
      button.addEventListener('click', function () { sendSatisfaction(score); });
      faces.appendChild(button);
    });
    var skip = el('button', { type: 'button', class: 'secondary', 'aria-label': TEXT.surveySkip, 'data-testid': 'satisfaction-skip' }, [TEXT.surveySkip]);
    skip.addEventListener('click', function () { finishSurvey(null); });
    faces.appendChild(skip);
    appendToLog(ui.survey);
    faces.querySelector('button').focus();
  }

  async function sendSatisfaction(score) {
    var message = TEXT.surveyThanks;
    try {
      var response = await postJson('v1/satisfaction', { conversation_id: state.conversationId, score: score });
      if (!response.ok) message = await errorMessage(response);
    } catch (networkError) {
      message = TEXT.feedbackFailed;
    }
    finishSurvey(message);
  }

  function finishSurvey(message) {
    if (!ui.survey) return;
    var survey = ui.survey;
    if (message) {
      var thanks = el('p', { class: 'confirm', 'data-testid': 'satisfaction-status', tabindex: '-1' }, [message]);
      survey.replaceWith(el('div', { class: 'survey' }, [thanks]));
      thanks.focus();
    } else {
      survey.remove();
      ui.input.focus();
    }
    ui.survey = null;
  }

  // ------------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    (children || []).forEach(function (child) {
      // Text goes in as text, never as HTML: answers quote user-visible law, not markup.
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function endpoint(path) { return new URL(path, settings.apiBase).toString(); }

  function postJson(path, body) {
    return fetch(endpoint(path), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit'
    });
  }

  function formatDate(iso) {
    var parts = String(iso).split('-');
    return parts.length === 3 ? parts[2] + '/' + parts[1] + '/' + parts[0] : iso;
  }

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Pages served over plain http have no randomUUID; build a version-4 UUID by hand.
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  // sessionStorage can be missing or throw (privacy modes, sandboxed frames): the widget works without it.
  function load(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }

  function save(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* not kept; fine */ }
  }

  function findOwnScript() {
    var scripts = document.querySelectorAll('script[src]');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }
})();
