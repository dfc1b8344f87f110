// The compliance console's only script (docs/console.md): a customer's own id typed into the search form is hashed
// here with SHA-256 and only the digest is submitted. The id field has no name, so a browser without this script
// never sends it either.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('subject-search');
  if (form === null) return;
  const raw = document.getElementById('raw-id');
  const digest = document.getElementById('digest');
  form.addEventListener('submit', async (event) => {
    if (raw.value === '' || digest.value !== '') return;
    event.preventDefault();
    const bytes = new TextEncoder().encode(raw.value);
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    digest.value = Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
    raw.value = '';
    form.submit();
  });
});
