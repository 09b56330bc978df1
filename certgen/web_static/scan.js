// The /scan page: the camera's frames go to zxing-wasm (served by certgen from
// /static/vendor, never a CDN) until a certificate's QR code is read, then the page opens it.
// A typed code is checked as it is typed, with the same rules as certgen/codes.py.
"use strict";

const certgenCodes = (() => {
  const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford: no I, L, O, U
  const LENGTH = 17; // 16 data symbols and a Damm check symbol over GF(32)
  const POLY = 0b100101; // x^5 + x^2 + 1

  const timesTwo = (x) => ((x <<= 1) & 0b100000 ? x ^ POLY : x);

  // What a person typed or scanned, in canonical form: case, spaces and dashes ignored,
  // I and L read as 1, O as 0; a full certificate URL gives its last path segment.
  function normalize(text) {
    const last = text.trim().replace(/\/+$/, "").split("/").pop();
    return last
      .toUpperCase()
      .replace(/[\s\-_.]/g, "")
      .replace(/[IL]/g, "1")
      .replace(/O/g, "0");
  }

  // Whether `code` (canonical) is a code certgen could have issued; why not, in words.
  function check(code) {
    const bad = [...code].find((c) => !ALPHABET.includes(c));
    if (bad) return { ok: false, why: `“${bad}” is never in a code.` };
    if (code.length < LENGTH) {
      const left = LENGTH - code.length;
      return { ok: false, partial: true, why: `${left} more symbol${left === 1 ? "" : "s"}.` };
    }
    if (code.length > LENGTH) return { ok: false, why: `That is ${code.length - LENGTH} too many symbols.` };
    let interim = 0;
    for (const c of code) interim = timesTwo(interim) ^ ALPHABET.indexOf(c);
    if (interim !== 0) {
      return { ok: false, why: "The check symbol does not match: one symbol is mistyped." };
    }
    return { ok: true, why: "The code checks out." };
  }

  return { normalize, check, LENGTH };
})();
window.certgenCodes = certgenCodes; // the browser tests compare it with certgen/codes.py

function watchTypedCode() {
  const input = document.getElementById("code");
  const hint = document.getElementById("code-check");
  const form = document.getElementById("typed");
  const show = () => {
    const code = certgenCodes.normalize(input.value);
    const result = code ? certgenCodes.check(code) : { ok: false, partial: true, why: hint.dataset.idle };
    hint.textContent = result.why;
    hint.className = result.ok ? "hint ok" : result.partial ? "hint" : "hint refused-text";
    input.setCustomValidity(result.ok || result.partial ? "" : result.why);
    input.setAttribute("aria-invalid", String(!result.ok && !result.partial));
    return result;
  };
  hint.dataset.idle = hint.textContent;
  input.addEventListener("input", show);
  form.addEventListener("submit", (event) => {
    if (!show().ok) {
      event.preventDefault();
      input.reportValidity();
    }
  });
}

function startScanner() {
  const box = document.getElementById("scanner");
  const video = document.getElementById("camera");
  const status = document.getElementById("scan-status");
  const start = document.getElementById("start");
  const photo = document.getElementById("photo");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
  const wasm = box.dataset.wasm;
  let done = false;
  let stream = null;

  ZXingWASM.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
  });

  // A read QR code: a certificate of this shop opens here; anything else says so.
  function found(text) {
    const code = certgenCodes.normalize(text);
    if (!certgenCodes.check(code).ok) {
      status.textContent = "That QR code is not a gift certificate. Try the one on the certificate.";
      return false;
    }
    done = true;
    status.textContent = "Found it. Opening the certificate…";
    if (stream) stream.getTracks().forEach((track) => track.stop());
    window.location.assign(box.dataset.lookup + encodeURIComponent(code));
    return true;
  }

  async function read(source, width, height) {
    const scale = Math.min(1, 1280 / Math.max(width, height)); // big frames cost, not help
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const results = await ZXingWASM.readBarcodes(image, options);
    return results.find((result) => result.isValid)?.text ?? null;
  }

  async function tick() {
    if (done) return;
    try {
      if (video.readyState >= 2 && video.videoWidth) {
        const text = await read(video, video.videoWidth, video.videoHeight);
        if (text && found(text)) return;
      }
    } catch (error) {
      status.textContent = `The decoder failed (${error}). Type the code instead.`;
      return;
    }
    setTimeout(tick, 150);
  }

  async function camera() {
    start.hidden = true;
    if (!navigator.mediaDevices?.getUserMedia) {
      status.textContent = window.isSecureContext
        ? "This browser cannot use the camera here. Take a photo or type the code."
        : "The camera needs this page over https. Take a photo or type the code.";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (error) {
      status.textContent =
        error.name === "NotAllowedError"
          ? "The camera was not allowed. Allow it in the browser's settings, or type the code."
          : "No camera could be opened. Take a photo or type the code.";
      start.hidden = false;
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    status.textContent = "Point the camera at the certificate's QR code.";
    tick();
  }

  photo.addEventListener("change", async () => {
    const file = photo.files[0];
    if (!file) return;
    status.textContent = "Reading the photo…";
    try {
      const bitmap = await createImageBitmap(file);
      const text = await read(bitmap, bitmap.width, bitmap.height);
      if (!text) status.textContent = "No QR code in that photo. Try again closer, or type the code.";
      else found(text);
    } catch (error) {
      status.textContent = `That photo could not be read (${error}). Type the code instead.`;
    }
  });
  start.addEventListener("click", camera);
  camera();
}

watchTypedCode();
startScanner();
