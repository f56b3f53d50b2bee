// Posts the SAML Response to the service provider's ACS at once (SAML Bindings §3.5.4: the
// HTTP-POST binding's form is submitted by script, or by the user where script is off).
// No inline script anywhere: the CSP allows only 'self'.
'use strict';

(function postToServiceProvider() {
  const form = document.getElementById('saml-post-form');
  if (form) form.submit();
})();
