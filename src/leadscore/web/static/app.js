// leadscore dashboard: progressive enhancement only. Every page works without
// this file; it adds "go to line" for model problems.
"use strict";

function selectLine(textarea, line) {
  // Put the caret on the given 1-based line and scroll it into view.
  const lines = textarea.value.split("\n");
  const index = Math.max(0, Math.min(lines.length, line) - 1);
  let start = 0;
  for (let i = 0; i < index; i += 1) start += lines[i].length + 1;
  const end = start + (lines[index] || "").length;
  textarea.focus();
  textarea.setSelectionRange(start, end);
  const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
  textarea.scrollTop = Math.max(0, (index - 5) * lineHeight);
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  const button = target.closest("[data-goto-line]");
  if (!button) return;
  const textarea = document.getElementById(button.getAttribute("aria-controls") || "");
  if (textarea instanceof HTMLTextAreaElement) {
    event.preventDefault();
    selectLine(textarea, Number(button.getAttribute("data-goto-line")));
  }
});
