// ModelTrail: checks a ledger proof in this browser, trusting nothing the server says about it.
// RFC 9162 (Merkle leaf and node hashes, inclusion paths) and C2SP signed-note / tlog-checkpoint
// (Ed25519 signatures), with WebCrypto. The log key is the one the reader pinned, not the server's.

const encoder = new TextEncoder();
export const pinnedKeyName = "modeltrail.log-key";

export function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function same(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function leafHash(data) { return sha256(concat(new Uint8Array([0]), data)); }
async function nodeHash(left, right) { return sha256(concat(new Uint8Array([1]), left, right)); }

// RFC 9162 §2.1.3.2: the root an inclusion path leads to, or null when the path cannot be one.
export async function rootFromInclusion(index, size, leaf, path) {
  if (!(index >= 0 && index < size)) return null;
  let fn = index, sn = size - 1, r = leaf;
  const half = (n) => Math.floor(n / 2);
  for (const p of path) {
    if (p.length !== 32 || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = half(fn); sn = half(sn); } }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 ? r : null;
}

// A C2SP verifier key: name+hex(key id)+base64(0x01 || Ed25519 public key); the id must recompute.
export async function parseVerifierKey(text) {
  // name + hex key id + base64 key; the base64 may itself hold "+", the name may not.
  const value = (text || "").trim();
  const first = value.indexOf("+"), second = value.indexOf("+", first + 1);
  if (first <= 0 || second < 0) throw new Error("a verifier key reads name+keyid+base64key");
  const name = value.slice(0, first), id = value.slice(first + 1, second), encoded = value.slice(second + 1);
  if (!/^[0-9a-fA-F]{8}$/.test(id)) throw new Error("a verifier key's id is 8 hex digits");
  const raw = fromBase64(encoded);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("not an Ed25519 note key");
  const publicKey = raw.slice(1);
  const keyID = (await sha256(concat(encoder.encode(name), new Uint8Array([0x0a, 0x01]), publicKey))).slice(0, 4);
  if (hex(keyID) !== id.toLowerCase()) throw new Error("the key id does not match the key");
  return { name, keyID, publicKey };
}

// A signed note: its text (through the line before the blank line) and its signature lines.
export function splitNote(note) {
  if (!note.endsWith("\n")) throw new Error("a note ends with a newline");
  const at = note.lastIndexOf("\n\n");
  if (at < 0) throw new Error("the note has no signature block");
  const text = note.slice(0, at + 1);
  const signatures = note.slice(at + 2).split("\n").slice(0, -1).map((line) => {
    if (!line.startsWith("\u2014 ")) throw new Error("a signature line starts with an em dash");
    const fields = line.slice(2).split(" ");
    if (fields.length !== 2) throw new Error("malformed signature line");
    const blob = fromBase64(fields[1]);
    if (blob.length < 5) throw new Error("malformed signature line");
    return { name: fields[0], keyID: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { text, signatures };
}

// Verifies the note's signature by `key`: true, false, or null where this browser cannot check Ed25519.
export async function verifyNote(note, key) {
  const { text, signatures } = splitNote(note);
  const mine = signatures.filter((s) => s.name === key.name && same(s.keyID, key.keyID));
  if (mine.length === 0) return { ok: false, detail: `no signature by ${key.name} on the checkpoint` };
  let publicKey;
  try {
    publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    return { ok: null, detail: "not checked: this browser has no Ed25519 in WebCrypto" };
  }
  for (const s of mine) {
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, publicKey, s.signature, encoder.encode(text)))) {
      return { ok: false, detail: `the signature by ${key.name} does not verify` };
    }
  }
  return { ok: true, detail: `signed by ${key.name} (key id ${hex(key.keyID)})` };
}

export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "") throw new Error("a checkpoint has at least three lines");
  const size = Number(lines[1]);
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || !Number.isSafeInteger(size)) throw new Error("bad checkpoint size");
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error("bad checkpoint root");
  return { origin: lines[0], size, root };
}

// Checks a proof bundle {index, body_b64, tree_size, path, checkpoint[, prediction]} against the
// pinned key text. Returns the steps, each {step, ok (true/false/null), detail}, and the verdict.
export async function checkBundle(bundle, keyText) {
  const steps = [];
  const add = (step, ok, detail) => { steps.push({ step, ok, detail }); return ok; };
  try {
    const body = fromBase64(bundle.body_b64);
    const leaf = await leafHash(body);
    add("event bytes → leaf hash", true, `SHA-256(0x00 ‖ ${body.length} bytes) = ${hex(leaf).slice(0, 16)}…`);
    if (bundle.prediction) {
      const p = bundle.prediction;
      let facts = null;
      try { facts = JSON.parse(new TextDecoder().decode(body)).facts; } catch (e) { facts = null; }
      const recorded = facts && typeof facts.merkle_root === "string" ? facts.merkle_root : "";
      const root = await rootFromInclusion(p.position, p.batch_size, await leafHash(fromBase64(p.leaf_b64)), p.path.map(fromBase64));
      add("prediction record → the commit's Merkle root in the event", root !== null && hex(root) === recorded,
        root === null ? "the path does not fit the batch" : `computed ${hex(root).slice(0, 16)}…, event says ${recorded.slice(0, 16)}…`);
    }
    const checkpoint = parseCheckpoint(splitNote(bundle.checkpoint).text);
    const root = await rootFromInclusion(bundle.index, bundle.tree_size, leaf, (bundle.path || []).map(fromBase64));
    add(`inclusion path → root of ${bundle.tree_size} events`, root !== null && same(root, checkpoint.root),
      root === null ? "the path does not fit the tree" : `computed ${hex(root).slice(0, 16)}…, checkpoint ${hex(checkpoint.root).slice(0, 16)}…`);
    add("checkpoint size", checkpoint.size === bundle.tree_size, `checkpoint covers ${checkpoint.size} events`);
    if (!keyText) {
      add("checkpoint signature", null, "not checked: no log key pinned (pin the log's verifier key on the Ledger page)");
    } else {
      const key = await parseVerifierKey(keyText);
      add("checkpoint origin", checkpoint.origin === key.name, `origin ${checkpoint.origin}`);
      const signed = await verifyNote(bundle.checkpoint, key);
      add("checkpoint signature (pinned key)", signed.ok, signed.detail);
    }
  } catch (error) {
    add("proof is well-formed", false, String(error && error.message ? error.message : error));
  }
  const verdict = steps.some((s) => s.ok === false) ? false : steps.some((s) => s.ok === null) ? null : true;
  return { steps, verdict };
}

export function pinnedKey() {
  try { return localStorage.getItem(pinnedKeyName) || ""; } catch (e) { return ""; }
}

function mark(ok) { return ok === true ? "✓" : ok === false ? "✗" : "–"; }

// Renders a check's result into `target` (a list), with a verdict element.
export function render(target, result) {
  target.replaceChildren();
  for (const s of result.steps) {
    const li = document.createElement("li");
    li.className = s.ok === true ? "ok" : s.ok === false ? "bad" : "unchecked";
    li.textContent = `${mark(s.ok)} ${s.step}: ${s.detail}`;
    target.append(li);
  }
}

export async function fetchBundle(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

// Every element with data-proof-url gets its proof checked here; its .proof-verdict and
// .proof-steps children show the outcome.
export async function checkAll(root = document) {
  const key = pinnedKey();
  for (const holder of root.querySelectorAll("[data-proof-url]")) {
    const verdict = holder.querySelector(".proof-verdict");
    const list = holder.querySelector(".proof-steps");
    let result;
    try {
      result = await checkBundle(await fetchBundle(holder.dataset.proofUrl), key);
    } catch (error) {
      result = { steps: [{ step: "fetch the proof", ok: false, detail: String(error.message || error) }], verdict: false };
    }
    if (list) render(list, result);
    if (verdict) {
      verdict.textContent = result.verdict === true ? "✓ checked in this browser" : result.verdict === false ? "✗ not proven" : "– not checked";
      verdict.className = "proof-verdict " + (result.verdict === true ? "ok" : result.verdict === false ? "bad" : "unchecked");
    }
    holder.dataset.proofVerdict = result.verdict === true ? "ok" : result.verdict === false ? "bad" : "unchecked";
  }
}
