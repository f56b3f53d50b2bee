// The waiting page without reloading: listens for the device's answer on the page's event
// stream and then posts the continue form, which finishes the login or explains a rejection or
// expiry. Without this script (or without EventSource) the continue button does the same.
// No inline script anywhere: the CSP allows only 'self'.
'use strict';

(function waitForDevice() {
  const form = document.getElementById('challenge-form');
  const status = document.getElementById('challenge-status');
  if (!form || !status || !form.dataset.events || typeof EventSource !== 'function') return;

  let submitted = false;
  form.addEventListener('submit', () => {
    submitted = true;
  });

  // The browser reconnects by itself after a dropped connection (the stream's `retry`); the
  // server checks the challenge first on every connection, so no answer is missed meanwhile.
  const source = new EventSource(form.dataset.events);
  source.addEventListener('settled', (event) => {
    source.close();
    const { status: outcome } = JSON.parse(event.data);
    // Said in the live region, where a screen reader hears it; focus stays where it was.
    status.textContent = outcome === 'approved' ? status.dataset.approved : status.dataset.answered;
    if (!submitted) {
      submitted = true;
      form.submit();
    }
  });
})();
