"""How the page looks: the theme, the CSS of `qa.ui.render`'s classes, and the few lines of
script the page runs (markers that lead to sources, scrolling to an answer's start, labels
for screen readers, folding long questions)."""

from __future__ import annotations

import gradio as gr

# System fonts: nothing to fetch, and plainer than the theme's display font for reading.
THEME = gr.themes.Default(
    primary_hue="indigo",
    font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
).set(
    # Every text at least 4.5:1 against its background (WCAG AA): the theme's greys are fainter.
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
    button_primary_background_fill_dark="*primary_600",
    button_primary_background_fill_hover_dark="*primary_700",
    input_border_color_focus="*primary_600",
    input_border_color_focus_dark="*primary_400",
)
CSS = """
:root { --qa-accent-text: #4338ca; }
.dark { --qa-accent-text: #c7d2fe; }
#intro h1 { font-size: 1.5rem; margin-bottom: 4px; }
#intro p { color: var(--body-text-color-subdued); margin-top: -4px; }
#question textarea:focus-visible, #question textarea:focus { outline: 3px solid
  var(--qa-accent-text) !important; outline-offset: 1px; }
:is(button, a, input, summary):focus-visible { outline: 3px solid var(--qa-accent-text);
  outline-offset: 2px; }
#ask { transition: none; }  /* ready to send the moment the answer is done, not 0.2 s later */
#chat .prose.chatbot.md { opacity: 1; }  /* gradio fades every message to 0.8 */
.qa-reply { line-height: 1.55; }
#chat .qa-question { max-height: 7.6em; overflow-y: auto; overflow-wrap: anywhere; }
#chat .qa-question.qa-folded { position: relative; overflow: hidden; cursor: pointer; }
#chat .qa-question.qa-open { max-height: none; padding-bottom: 1.6em; }
#chat .qa-question.qa-folded::after { content: "Show the whole question ▾"; position: absolute;
  left: 0; right: 0; bottom: 0; padding: 1.2em 4px 0; text-align: right; font-weight: 600;
  color: var(--qa-accent-text); background: linear-gradient(rgba(255, 255, 255, 0),
  var(--color-accent-soft) 55%); }
#chat .qa-question.qa-open::after { content: "Fold the question ▴"; }
.qa-answer { font-size: 1.02rem; }
.qa-short { font-size: 1.25rem; margin-bottom: 0.35rem; }
.qa-refusal { font-style: italic; }
.qa-marker { font-weight: 600; text-decoration: none !important; padding: 0 3px; border-radius: 4px;
  background: var(--color-accent-soft); color: var(--qa-accent-text) !important;
  cursor: pointer; }
.qa-note { margin-top: 8px; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qa-fold > summary { cursor: pointer; }
.qa-fold[open] > summary { margin-bottom: 8px; }
.qa-fold .qa-source + .qa-source { margin-top: 8px; }
.qa-removed ul { margin: 4px 0 0; padding-left: 1.2em; }
.qa-removed li { margin-top: 4px; }
.qa-rejected { color: var(--body-text-color-subdued); }
.qa-sources { margin-top: 12px; display: flex; flex-direction: column; gap: 8px; }
.qa-heading { font-size: 0.75rem; font-weight: 600; text-transform: uppercase;
  letter-spacing: .05em; color: var(--body-text-color-subdued); }
.qa-source { border: 1px solid var(--border-color-primary); border-left: 3px solid
  var(--color-accent); border-radius: 6px; padding: 6px 10px;
  background: var(--background-fill-secondary); scroll-margin: 12px; }
.qa-head { font-size: 0.85rem; margin-bottom: 4px; display: flex; gap: 6px; flex-wrap: wrap;
  align-items: baseline; }
.qa-n { font-weight: 700; color: var(--qa-accent-text); }
.qa-goto { position: relative; display: inline-block; border: 1px solid var(--qa-accent-text);
  border-radius: 4px; padding: 0 4px;
  text-decoration: none !important; color: var(--qa-accent-text) !important;
  margin-right: 4px; background: var(--color-accent-soft); cursor: pointer; font-size: 0.85rem; }
.qa-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.qa-heading .qa-doc { text-transform: none; letter-spacing: normal; }
/* The document viewer: a dialog over the page (above even the chat's scroll button, at
   z-index 2147480000); the whole screen on a phone. */
#viewer-open { display: none !important; }
.qa-viewer-layer[hidden] { display: none; }
.qa-viewer-backdrop { position: fixed; inset: 0; z-index: 2147483000;
  background: rgba(0, 0, 0, .45); }
.qa-viewer { position: fixed; z-index: 2147483001; top: 4vh; left: 50%; transform: translateX(-50%);
  width: min(860px, 94vw); height: 90vh; display: flex; flex-direction: column;
  background: var(--background-fill-primary); color: var(--body-text-color);
  border: 1px solid var(--border-color-primary); border-radius: 10px;
  box-shadow: 0 12px 40px rgba(0, 0, 0, .35); }
.qa-viewer-bar { display: flex; align-items: baseline; gap: 10px; padding: 10px 14px;
  border-bottom: 1px solid var(--border-color-primary); }
.qa-viewer-title { font-size: 1.05rem; font-weight: 600; margin: 0; overflow-wrap: anywhere; }
.qa-viewer-where { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.qa-viewer-close { margin-left: auto; border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: 4px 10px; background: var(--background-fill-secondary);
  color: var(--body-text-color); cursor: pointer; white-space: nowrap; }
.qa-viewer-text { position: relative; flex: 1; overflow-y: auto; padding: 14px 20px;
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6; font-size: 0.95rem; }
.qa-viewer-mark { background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; }
.qa-viewer-cut { color: var(--body-text-color-subdued); font-style: italic; }
.qa-doc { font-weight: 600; overflow-wrap: anywhere; }
.qa-loc { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.qa-passage { font-size: 0.9rem; color: var(--body-text-color-subdued); }
.qa-passage mark { background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; }
#chat mark .qa-short-answer { color: inherit; }  /* dark text on the yellow mark, in any theme */
.qa-error { color: var(--error-text-color); }
.qa-notice { font-size: 0.9rem; padding: 4px 2px; }
.qa-docs { padding: 10px 12px; }
.qa-docs ul { list-style: none; margin: 6px 0 0; padding: 0; }
.qa-docs li { padding: 5px 0; border-bottom: 1px solid var(--border-color-primary);
  display: flex; justify-content: space-between; gap: 8px; }
.qa-docs li:last-child { border-bottom: none; }
#chat .example { border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-secondary); }
#chat .example:hover { border-color: var(--color-accent); }
#docs-toggle, .qa-narrow { display: none !important; }
@media (max-width: 640px) {  /* a phone: the chat, the box and Ask fit on the screen */
  .qa-wide { display: none !important; }
  .qa-narrow { display: inline !important; }
  /* The documents come first, folded into a section the toggle opens. */
  #docs-toggle { display: flex !important; justify-content: space-between; width: 100%; }
  #docs-toggle::after { content: "▾"; }
  #docs-toggle[aria-expanded="true"]::after { content: "▴"; }
  #side { order: -1; }
  #side:not([data-open]) { display: none !important; }
  .qa-viewer { top: 0; left: 0; transform: none; width: 100vw; height: 100svh;
    border-radius: 0; border: none; }
  #intro h1 { font-size: 1.3rem; }
  #intro p { font-size: 0.85rem; line-height: 1.4; }
  .qa-short { font-size: 1.1rem; }
  #chat { height: max(300px, calc(100svh - 345px)) !important; }
  #ask-row { flex-wrap: nowrap; }
  #ask-row > * { min-width: 0 !important; }
  #ask { flex: 0 0 auto; min-width: 76px !important; width: auto; }
}
#chat .placeholder { padding: 0 32px; text-align: center; color: var(--body-text-color-subdued); }
"""

# A marker [n], or a source card's button, opens the document viewer at the cited span: it asks
# the server (through the hidden #viewer-open button) for the document; the viewer comes back
# into #viewer, is scrolled to the mark and focused; Escape, Close or the backdrop close it,
# and the keyboard returns to what opened it.
# After each question the chat shows the question and the start of its answer, not the end of
# the sources (the chat's own autoscroll is off): on a phone the answer stays in view.
# Each message gets a readable label for screen readers (gradio's is the message's HTML).
HEAD = """<script>
(() => {
  let opener = null;
  // render.py's title: "Open <source> at characters <start>–<end>"; the card is its href.
  const request = (el) => {
    const m = (el.getAttribute("title") || "").match(/^Open (.+) at characters (\\d+)–(\\d+)$/);
    const n = (el.getAttribute("href") || "").match(/-(\\d+)$/);
    if (!m) return null;
    return {source: m[1], start: +m[2], end: +m[3], n: n ? +n[1] : 0, nonce: String(Date.now())};
  };
  const open = (el) => {
    const data = request(el);
    if (!data) return;
    opener = el;
    window.qaViewerRequest = JSON.stringify(data);
    const button = document.getElementById("viewer-open");
    if (button) (button.tagName === "BUTTON" ? button : button.querySelector("button")).click();
  };
  const layer = () => document.querySelector("#viewer .qa-viewer-layer:not([hidden])");
  const close = () => {
    const shown = layer();
    if (!shown) return false;
    shown.hidden = true;
    if (opener && document.contains(opener)) opener.focus();
    return true;
  };
  document.addEventListener("click", (event) => {
    const t = event.target.closest && event.target.closest("a.qa-marker, a.qa-goto");
    if (t && request(t)) {
      event.preventDefault();
      event.stopPropagation();
      open(t);
    } else if (event.target.closest && (event.target.closest(".qa-viewer-close")
               || event.target.classList.contains("qa-viewer-backdrop"))) {
      close();
    }
  }, true);
  document.addEventListener("keydown", (event) => {
    const shown = layer();
    if (!shown) return;
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {  // the keyboard stays in the dialog while it is open
      const stops = [...shown.querySelectorAll(".qa-viewer-close, .qa-viewer-text")];
      const at = stops.indexOf(document.activeElement);
      event.preventDefault();
      stops[(at + (event.shiftKey ? stops.length - 1 : 1)) % stops.length].focus();
    }
  }, true);
  // The phone's "Documents and settings" section: folded until its button opens it.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest && event.target.closest("#docs-toggle");
    if (!toggle) return;
    const side = document.getElementById("side");
    if (!side) return;
    const open = side.toggleAttribute("data-open");  // not a class: gradio owns the classes
    toggle.setAttribute("aria-expanded", String(open));
  });
  // Folding sections say whether they are open: gradio's accordions and the chat's <details>
  // (its sanitizer drops aria-* in messages, so they are set here).
  const syncFolds = () => {
    document.querySelectorAll(".gr-accordion button.label-wrap").forEach((b) => {
      const content = b.nextElementSibling;
      const open = String(!!content && getComputedStyle(content).display !== "none");
      if (b.getAttribute("aria-expanded") !== open) b.setAttribute("aria-expanded", open);
    });
    document.querySelectorAll("#chat details > summary").forEach((s) => {
      const open = String(s.parentElement.open);
      if (s.getAttribute("aria-expanded") !== open) s.setAttribute("aria-expanded", open);
    });
  };
  window.qaSyncFolds = syncFolds;
  document.addEventListener("click", () => setTimeout(syncFolds, 50));
  document.addEventListener("keyup", () => setTimeout(syncFolds, 50));
  document.addEventListener("toggle", syncFolds, true);
  let shownNonce = "";
  window.qaShowViewer = () => {
    const fresh = document.querySelector("#viewer .qa-viewer-layer");
    if (!fresh || fresh.dataset.nonce === shownNonce) return;
    shownNonce = fresh.dataset.nonce;
    fresh.hidden = false;
    const text = fresh.querySelector(".qa-viewer-text");
    const mark = fresh.querySelector(".qa-viewer-mark");
    if (text && mark) text.scrollTop = Math.max(0, mark.offsetTop - text.clientHeight / 3);
    fresh.querySelector(".qa-viewer-close").focus();
  };
})();
(() => {
  let seen = "", queued = false;
  const scroller = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const y = getComputedStyle(e).overflowY;
      if ((y === "auto" || y === "scroll") && e.scrollHeight > e.clientHeight) return e;
    }
    return null;
  };
  const label = (el) => {
    const which = el.querySelector(".qa-question") ? "Question" : "Answer";
    const text = el.textContent.replace(/\\s+/g, " ").trim();
    const wanted = `${which}: ${text.length > 200 ? text.slice(0, 200) + "…" : text}`;
    if (el.getAttribute("aria-label") !== wanted) el.setAttribute("aria-label", wanted);
  };
  // A long question shows its first lines; a click or Enter shows all of it, and folds it back.
  const fold = (q) => {
    if (q.scrollHeight <= q.clientHeight + 2) return;
    q.classList.add("qa-folded");
    q.setAttribute("role", "button");
    q.setAttribute("tabindex", "0");
    q.setAttribute("aria-expanded", "false");
    const toggle = (event) => {
      if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      event.stopPropagation();
      q.setAttribute("aria-expanded", String(q.classList.toggle("qa-open")));
    };
    q.addEventListener("click", toggle);
    q.addEventListener("keydown", toggle);
  };
  const update = () => {
    queued = false;
    window.qaShowViewer();
    window.qaSyncFolds();
    const toggle = document.getElementById("docs-toggle");
    if (toggle && !toggle.hasAttribute("aria-expanded")) {
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", "side");
    }
    const chat = document.getElementById("chat");
    if (!chat) return;
    chat.querySelectorAll("[aria-label]").forEach((el) => {
      if (el.querySelector(".qa-question, .qa-reply")) label(el);
    });
    chat.querySelectorAll(".qa-question:not(.qa-folded)").forEach(fold);
    const questions = chat.querySelectorAll(".qa-question");
    const replies = chat.querySelectorAll(".qa-reply");
    const reply = replies[replies.length - 1];
    const sig = `${questions.length}/${replies.length}/${reply ? reply.textContent.length : 0}`;
    if (sig === seen || !questions.length) return;
    seen = sig;
    const question = questions[questions.length - 1];
    const box = scroller(question);
    if (!box) return;
    const bottom = box.scrollHeight - box.clientHeight;
    const top = question.getBoundingClientRect().top - box.getBoundingClientRect().top
      + box.scrollTop - 12;
    box.scrollTop = Math.min(bottom, Math.max(0, top));
  };
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(update); }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
})();
</script>"""
