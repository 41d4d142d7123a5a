// The invitation page tells Registru, once, that a person is using it: on the first tap, click,
// key or scroll wheel, not on loading. Mail filters fetch (and some render) the links in a
// message before the person sees it; only a person interacts. The report goes to the page's own
// address with the form's CSRF token, so no other page can make it. Loaded as a file: the CSP
// allows no inline script.
"use strict";

(() => {
  const form = document.querySelector("form[data-opened-url]");
  if (!form) {
    return;
  }
  const signs = ["pointerdown", "touchstart", "keydown", "wheel"];
  const report = () => {
    for (const sign of signs) {
      document.removeEventListener(sign, report, true);
    }
    const body = new FormData();
    body.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    // keepalive: the report still leaves if the first tap is the one that submits the form.
    fetch(form.dataset.openedUrl, { method: "POST", body, credentials: "same-origin", keepalive: true })
      .catch(() => {}); // counting is not worth an error the person would see
  };
  for (const sign of signs) {
    document.addEventListener(sign, report, { capture: true, passive: true });
  }
})();
