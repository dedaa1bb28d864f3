// ModelTrail's pages: local times, copyable ids, run selection, the pinned log key and the
// proofs checked in this browser. No framework; every page works without it except the proofs.
import { checkAll, checkBundle, pinnedKey, pinnedKeyName, render } from "/ui/static/proof.js";

function localTimes() {
  for (const t of document.querySelectorAll("time[datetime]")) {
    const date = new Date(t.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    t.title = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    t.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }
}

function copyButtons() {
  for (const b of document.querySelectorAll("button.copy[data-copy]")) {
    b.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(b.dataset.copy); b.textContent = "copied"; }
      catch (e) { b.textContent = "select it"; }
      setTimeout(() => { b.textContent = "copy"; }, 1500);
    });
  }
}

function runSelection() {
  const form = document.getElementById("compare-form");
  if (!form) return;
  const button = form.querySelector("button[type=submit]");
  const boxes = () => Array.from(document.querySelectorAll("input[name=run][type=checkbox]"));
  const update = () => {
    const n = boxes().filter((b) => b.checked).length;
    button.disabled = n < 1;
    button.textContent = n > 0 ? `Compare ${n} run${n === 1 ? "" : "s"}` : "Compare selected runs";
  };
  for (const b of boxes()) b.addEventListener("change", update);
  update();
}

function keyForm() {
  const form = document.getElementById("pin-key");
  if (!form) return;
  const input = form.querySelector("input[name=key]");
  const shown = document.getElementById("pinned-key");
  input.value = pinnedKey();
  if (shown) shown.textContent = pinnedKey() || "none";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try { localStorage.setItem(pinnedKeyName, input.value.trim()); } catch (e) { /* private mode */ }
    if (shown) shown.textContent = pinnedKey() || "none";
    checkAll();
  });
}

function pastedProof() {
  const form = document.getElementById("paste-proof");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = document.getElementById("pasted-steps");
    const verdict = document.getElementById("pasted-verdict");
    let result;
    try { result = await checkBundle(JSON.parse(form.querySelector("textarea").value), pinnedKey()); }
    catch (error) { result = { steps: [{ step: "read the pasted JSON", ok: false, detail: String(error.message || error) }], verdict: false }; }
    render(list, result);
    verdict.textContent = result.verdict === true ? "✓ checked in this browser" : result.verdict === false ? "✗ not proven" : "– not checked";
    verdict.className = "proof-verdict " + (result.verdict === true ? "ok" : result.verdict === false ? "bad" : "unchecked");
  });
}

localTimes();
copyButtons();
runSelection();
keyForm();
pastedProof();
checkAll();

// Forms with a datetime-local field send the reader's zone offset with it.
for (const form of document.querySelectorAll("form")) {
  const tz = form.querySelector("input[name=tz]");
  if (!tz) continue;
  tz.value = String(new Date().getTimezoneOffset());
  form.addEventListener("submit", () => {
    const field = form.querySelector("input[type=datetime-local]");
    const when = field && field.value ? new Date(field.value) : new Date();
    tz.value = String(when.getTimezoneOffset());
  });
}
