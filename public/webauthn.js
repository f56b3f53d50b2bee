// The security key pages' ceremony: on the button, asks the browser to register a key or sign
// in with one (through @simplewebauthn/browser, served beside this file), puts the response in
// the form's hidden field and posts it; the server checks it. No WebAuthn in the browser, a
// cancel or a timeout is said in the page's alert region, and the button tries again.
// No inline script anywhere: the CSP allows only 'self'.
'use strict';

(function securityKeyCeremony() {
  const form = document.getElementById('webauthn-form');
  const button = document.getElementById('webauthn-start');
  const status = document.getElementById('webauthn-status');
  const problem = document.getElementById('webauthn-error');
  const response = document.getElementById('webauthn-response');
  if (!form || !button || !status || !problem || !response) return;
  const library = window.SimpleWebAuthnBrowser;

  /** Shows one of the messages the page carries (data-unsupported, data-cancelled, …). */
  const say = (message) => {
    status.textContent = '';
    problem.classList.add('alert');
    problem.textContent = problem.dataset[message];
  };

  if (!library || !library.browserSupportsWebAuthn()) {
    say('unsupported');
    return;
  }
  button.hidden = false;
  button.focus();

  button.addEventListener('click', async () => {
    button.disabled = true;
    problem.classList.remove('alert');
    problem.textContent = '';
    status.textContent = status.dataset.working;
    try {
      const optionsJSON = JSON.parse(form.dataset.options);
      const result = form.dataset.ceremony === 'registration'
        ? await library.startRegistration({ optionsJSON })
        : await library.startAuthentication({ optionsJSON });
      response.value = JSON.stringify(result);
      form.submit();
    } catch (error) {
      // NotAllowedError: the user cancelled, or the time ran out (W3C WebAuthn §5.1.3, §5.1.4);
      // AbortError: the ceremony was aborted; InvalidStateError at registration: the key is
      // one of the user's already (it is in excludeCredentials).
      const name = error && error.name;
      say(name === 'NotAllowedError' || name === 'AbortError' ? 'cancelled' : name === 'InvalidStateError' ? 'exists' : 'failed');
      button.disabled = false;
      button.focus();
    }
  });
})();
