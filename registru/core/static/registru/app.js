// Small behaviours that the pages use. Loaded as a file: the CSP allows no inline script.
"use strict";

document.addEventListener("click", (event) => {
  // "Add another" for repeated inputs (emails, phones): copy the last row, emptied.
  const button = event.target.closest("[data-add-row]");
  if (button) {
    event.preventDefault();
    const list = document.getElementById(button.dataset.addRow);
    const rows = list.querySelectorAll(".contact-row");
    const copy = rows[rows.length - 1].cloneNode(true);
    const input = copy.querySelector("input[type=email], input[type=tel], input[type=text]");
    input.value = "";
    const radio = copy.querySelector("input[type=radio]");
    if (radio) {
      radio.value = String(rows.length);
      radio.checked = false;
    }
    list.appendChild(copy);
    input.focus();
    return;
  }
  // A button that leaves a filtering (htmx) form for another page, taking the filters along:
  // the form is copied and submitted as a plain POST, so htmx does not swap the answer in.
  const leaving = event.target.closest("[data-submit-natively]");
  if (leaving && leaving.form) {
    event.preventDefault();
    const copy = document.createElement("form");
    copy.method = "post";
    copy.action = leaving.getAttribute("formaction");
    for (const [name, value] of new FormData(leaving.form)) {
      if (name === "cursor") continue;
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      copy.appendChild(input);
    }
    document.body.appendChild(copy);
    copy.submit();
    return;
  }
  // Confirmation for destructive buttons, without inline handlers.
  const confirmButton = event.target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.dataset.confirm)) {
    event.preventDefault();
  }
});

document.addEventListener("change", (event) => {
  // Filters other than the search box apply at once; the search box uses htmx's own trigger.
  const field = event.target.closest("[data-autosubmit] select, [data-autosubmit] input[type=checkbox]");
  if (field && window.htmx) {
    window.htmx.trigger(field.form, "submit");
  }
});

document.addEventListener("change", (event) => {
  // Plain GET filters (no htmx) submit themselves when a choice changes.
  const field = event.target.closest("[data-submit-on-change]");
  if (field && field.form) {
    field.form.requestSubmit();
  }
});
