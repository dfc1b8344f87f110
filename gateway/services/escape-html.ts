// Text for an HTML page: the five characters that could open a tag or end an attribute, escaped. The reports quote
// values that came from requests (actors, reasons, labels), so every value goes through here.
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
